package schemas_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/schemas"
)

// semanticOnly lists the bad manifests whose only problems a JSON Schema cannot express; the
// loader rejects them, the schema accepts them. Every entry says why.
var semanticOnly = map[string]string{
	"dangling_exception.yaml":     "reference from an exception to an undefined entity",
	"dangling_group_user.yaml":    "reference from a host group to an undefined user",
	"dangling_host_group.yaml":    "reference from a host to an undefined host group",
	"dangling_user_keypair.yaml":  "reference from a user to an undefined key pair",
	"windows_undefined_user.yaml": "reference from a host group to an undefined user (on a Windows host)",
	"dup_host.yaml":               "name defined twice (uniqueness of a field across list items)",
	"dup_hostgroup.yaml":          "name defined twice (uniqueness of a field across list items)",
	"dup_keypair.yaml":            "name defined twice (uniqueness of a field across list items)",
	"dup_user.yaml":               "name defined twice (uniqueness of a field across list items)",
	"dup_uid.yaml":                "uid used twice (uniqueness of a field across list items)",
	"sshd_conflict.yaml":          "sshd settings conflict only on a host that joins both groups",
	"windows_long_name.yaml":      "the 20-character limit depends on which hosts the user reaches",
	"key_comment_quotes.yaml":     "key lines are parsed by the loader (the schema has no pattern on keys, so errors never quote them)",
	"key_garbage.yaml":            "key lines are parsed by the loader",
	"key_options.yaml":            "key lines are parsed by the loader",
	"key_two_keys.yaml":           "key lines are parsed by the loader",
	"key_block_scalar.yaml":       "key lines are parsed by the loader",
	"key_newline.yaml":            "key lines are parsed by the loader",
	"key_nul.yaml":                "key lines are parsed by the loader",
	"yaml_deep_block.yaml":        "resource bound: nesting depth inside free-form policy.settings data",
	"cloud_references.yaml":       "references between clouds, key pairs and hosts, names defined twice",
	"cloud_registry_rules.yaml":   "a registry's own name and key rules depend on which registries a key pair lists",
}

// toJSONShape converts a YAML-decoded value to what a JSON decoder would give (string keys,
// dates as YYYY-MM-DD strings), as an editor's YAML language server does.
func toJSONShape(x any) any {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = toJSONShape(e)
		}
		return v
	case map[any]any:
		out := map[string]any{}
		for k, e := range v {
			if ks, ok := k.(string); ok {
				out[ks] = toJSONShape(e)
			} else {
				out["<non-string key>"] = toJSONShape(e)
			}
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = toJSONShape(e)
		}
		return v
	case time.Time:
		return v.Format("2006-01-02")
	}
	return x
}

// schemaValid decodes data as exactly one YAML document and validates it against the schema.
// Anything that is not one YAML document is invalid.
func schemaValid(t *testing.T, data []byte) (bool, string) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false, "yaml: " + err.Error()
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return false, "more than one document"
	}
	sch, err := schemas.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(toJSONShape(doc)); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func TestSchemaLoaderAgreement(t *testing.T) {
	used := map[string]bool{}
	for _, kind := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "manifests", kind, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no corpus under testdata/manifests/%s: %v", kind, err)
		}
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(kind+"/"+name, func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				_, diags := manifest.LoadSources([]manifest.Source{{Name: name, Data: data}})
				loaderValid := len(diags) == 0
				sv, why := schemaValid(t, data)
				if kind == "good" && !loaderValid {
					t.Errorf("good manifest rejected by the loader: %v", diags[0])
				}
				if reason, ok := semanticOnly[name]; ok {
					used[name] = true
					if loaderValid || !sv {
						t.Errorf("allow-listed (%s): want loader invalid and schema valid, got loader valid=%v schema valid=%v (%s)", reason, loaderValid, sv, why)
					}
					return
				}
				if loaderValid != sv {
					first := ""
					if len(diags) > 0 {
						first = diags[0].String()
					}
					t.Errorf("loader valid=%v (%s), schema valid=%v (%s)", loaderValid, first, sv, strings.TrimSpace(why))
				}
			})
		}
	}
	for name := range semanticOnly {
		if !used[name] {
			t.Errorf("allow-list names %s, which is not in the corpus", name)
		}
	}
}
