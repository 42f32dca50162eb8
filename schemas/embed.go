// Package schemas holds the manifest JSON Schema (SPEC §1), embedded so that validation,
// `accessctl schema` and editors all see the same document.
//
// The schema states shape only: field names, types, enums and safe name patterns. Checks that
// need the whole manifest (unique names, references between sections, key parsing, private key
// material) belong to internal/manifest and the policies, which report them with positions and
// without echoing secrets. For that reason the fields that may hold key material or hashes
// (keypairs[].publicKey, password.hash) carry no pattern: a pattern error would quote the value.
package schemas

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ID is the schema's $id; Compile registers Manifest under it, so no network access happens.
const ID = "https://accessctl.dev/schemas/manifest-v1.json"

// Manifest is the manifest JSON Schema (draft 2020-12), as printed by `accessctl schema`.
// Treat it as read-only.
//
//go:embed manifest.schema.json
var Manifest []byte

// Compile compiles Manifest. Compilation costs a few milliseconds, so callers compile once and
// reuse the result; a *jsonschema.Schema is safe for concurrent use.
//
// Formats are asserted (draft 2020-12 treats them as annotations by default) so that an
// `expires` date such as 2027-02-30 is rejected, not only a malformed one.
// Instances are JSON-shaped values: map[string]any, []any, string, bool, numbers. yaml.v3
// decodes an unquoted date (expires: 2027-01-31) into time.Time; convert such values to
// "YYYY-MM-DD" strings before validating.
func Compile() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Manifest))
	if err != nil {
		return nil, fmt.Errorf("parse manifest schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(ID, doc); err != nil {
		return nil, fmt.Errorf("load manifest schema: %w", err)
	}
	sch, err := c.Compile(ID)
	if err != nil {
		return nil, fmt.Errorf("compile manifest schema: %w", err)
	}
	return sch, nil
}
