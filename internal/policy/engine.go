package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/policies"
)

// rulesRoot is where every rule package lives: data.accessctl.rules.<name>.
var rulesRoot = ast.MustParseRef("data.accessctl.rules")

// findingsQuery collects every rule package's deny and warn sets with the package they came from.
const findingsQuery = `deny := [[p, f] | f := data.accessctl.rules[p].deny[_]]
warn := [[p, f] | f := data.accessctl.rules[p].warn[_]]`

// Engine holds the compiled policies, built-in and the user's. It is safe for concurrent use.
type Engine struct {
	query rego.PreparedEvalQuery
	rules []string
	// Digest identifies the policies (built-in and the user's): "sha256:" + hex over every
	// module's file name and text, in file order. A plan file records it.
	Digest string
}

// RuleIDs are the rule ids the compiled policies can report, sorted: the string values of every
// literal "rule" key in them (what `check` says it ran). An id built at evaluation time is not
// counted.
func (e *Engine) RuleIDs() []string { return e.rules }

func ruleIDs(modules []*ast.Module) []string {
	seen := map[string]bool{}
	for _, mod := range modules {
		ast.WalkTerms(mod, func(t *ast.Term) bool {
			if obj, ok := t.Value.(ast.Object); ok {
				if v := obj.Get(ast.StringTerm("rule")); v != nil {
					if s, ok := v.Value.(ast.String); ok && s != "" {
						seen[string(s)] = true
					}
				}
			}
			return false
		})
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// New compiles the embedded policies and the *.rego files under extraDirs (recursively,
// *_test.rego excluded) once, in strict mode. Errors name the file and line of the bad Rego.
// A user file must declare a package accessctl.rules.<name>.
func New(ctx context.Context, extraDirs []string) (*Engine, error) {
	modules, err := embeddedModules(false)
	if err != nil {
		return nil, err
	}
	for _, dir := range extraDirs {
		mods, err := dirModules(dir, false)
		if err != nil {
			return nil, err
		}
		if len(mods) == 0 {
			return nil, fmt.Errorf("policy directory %s: no .rego files", dir)
		}
		for _, mod := range mods {
			if err := checkRuleModule(mod); err != nil {
				return nil, err
			}
			modules = append(modules, mod)
		}
	}
	// Compiled here rather than by rego, so errors read "file:line: rego_compile_error: ...".
	byFile := make(map[string]*ast.Module, len(modules))
	for _, mod := range modules {
		byFile[mod.Package.Location.File] = mod
	}
	compiler := ast.NewCompiler().WithStrict(true).WithDefaultRegoVersion(ast.RegoV1)
	if compiler.Compile(byFile); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	q, err := rego.New(
		rego.Compiler(compiler),
		rego.Query(findingsQuery),
		rego.Strict(true),
		rego.SetRegoVersion(ast.RegoV1),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00", f, byFile[f].String())
	}
	return &Engine{query: q, rules: ruleIDs(modules), Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

// Eval runs every rule on input (from BuildInput) and returns the findings located in m,
// without those an unexpired exception waives, sorted by file, line, column and rule.
func (e *Engine) Eval(ctx context.Context, input map[string]any, m *manifest.Manifest) ([]Finding, error) {
	v, err := toValue(input, 2)
	if err != nil {
		return nil, fmt.Errorf("policy input: %w", err)
	}
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(v))
	if err != nil {
		return nil, fmt.Errorf("evaluate policies: %w", err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("evaluate policies: %d results, want 1", len(rs))
	}
	today, _ := input["today"].(string)
	if today == "" {
		today = time.Now().UTC().Format(time.DateOnly)
	}
	var out []Finding
	for _, sev := range []string{SeverityDeny, SeverityWarn} {
		list, _ := rs[0].Bindings[sev].([]any)
		for _, pair := range list {
			pf, _ := pair.([]any)
			if len(pf) != 2 {
				continue
			}
			pkg, _ := pf[0].(string)
			f := toFinding(sev, pkg, pf[1])
			pos := locate(m, f.Path)
			f.File, f.Line, f.Column = pos.File, pos.Line, pos.Column
			if waived(m, f, today) {
				continue
			}
			out = append(out, f)
		}
	}
	return sortFindings(out), nil
}

// toFinding reads one element of a deny/warn set. The contract is an object with rule, msg and
// path; a bare string (conftest style) is accepted as the message of a rule named after its package.
func toFinding(sev, pkg string, v any) Finding {
	f := Finding{Rule: pkg, Severity: sev}
	switch x := v.(type) {
	case string:
		f.Message = x
	case map[string]any:
		if s, ok := x["rule"].(string); ok && s != "" {
			f.Rule = s
		}
		f.Message, _ = x["msg"].(string)
		f.Path, _ = x["path"].(string)
		f.Host, _ = x["host"].(string)
	default:
		f.Message = fmt.Sprint(x)
	}
	return f
}

// embeddedModules parses the built-in policies; tests says whether *_test.rego are included.
func embeddedModules(tests bool) ([]*ast.Module, error) {
	names, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var mods []*ast.Module
	for _, name := range names {
		if !tests && isTestFile(name) {
			continue
		}
		src, err := policies.FS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		mod, err := parseModule("policies/"+name, src)
		if err != nil {
			return nil, err
		}
		mods = append(mods, mod)
	}
	return mods, nil
}

// dirModules parses the .rego files under dir (or dir itself when it is a file).
func dirModules(dir string, tests bool) ([]*ast.Module, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") || (!tests && isTestFile(path)) {
			return nil
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policy directory: %w", err)
	}
	sort.Strings(paths)
	mods := make([]*ast.Module, 0, len(paths))
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read policy: %w", err)
		}
		mod, err := parseModule(path, src)
		if err != nil {
			return nil, err
		}
		mods = append(mods, mod)
	}
	return mods, nil
}

func parseModule(name string, src []byte) (*ast.Module, error) {
	mod, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return mod, nil
}

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// checkRuleModule enforces the output contract on a user's rule file: the package is
// accessctl.rules.<name>, and deny and warn are sets (a boolean deny would be silently ignored).
func checkRuleModule(mod *ast.Module) error {
	path := mod.Package.Path
	if len(path) != len(rulesRoot)+1 || !path.HasPrefix(rulesRoot) {
		return fmt.Errorf("%s: package %s: a policy package must be accessctl.rules.<name>",
			mod.Package.Location, strings.TrimPrefix(path.String(), "data."))
	}
	for _, r := range mod.Rules {
		name := r.Head.Name.String()
		if len(r.Head.Reference) > 0 {
			name = r.Head.Reference[0].Value.String()
			if len(r.Head.Reference) > 1 {
				name = ""
			}
		}
		if (name == "deny" || name == "warn") && r.Head.RuleKind() != ast.MultiValue {
			return fmt.Errorf("%s: %s must be a set: write `%s contains {\"rule\": ..., \"msg\": ..., \"path\": ...} if { ... }`",
				r.Location, name, name)
		}
	}
	return nil
}

// toValue converts the input to an OPA value like ast.InterfaceToValue, but converts the long
// lists (users, key pairs: tens of thousands in a large fleet) in parallel. depth is how many
// object levels to descend looking for such lists.
func toValue(x any, depth int) (ast.Value, error) {
	switch x := x.(type) {
	case map[string]any:
		if depth == 0 {
			return ast.InterfaceToValue(x)
		}
		kvs := make([][2]*ast.Term, 0, len(x))
		for k, v := range x {
			vv, err := toValue(v, depth-1)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(vv)})
		}
		return ast.NewObject(kvs...), nil
	case []any:
		if len(x) < 1024 {
			return ast.InterfaceToValue(x)
		}
		terms := make([]*ast.Term, len(x))
		errs := make([]error, len(x))
		parallel(len(x), func(i int) {
			v, err := ast.InterfaceToValue(x[i])
			terms[i], errs[i] = ast.NewTerm(v), err
		})
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		return ast.NewArray(terms...), nil
	default:
		return ast.InterfaceToValue(x)
	}
}
