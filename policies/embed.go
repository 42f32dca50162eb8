// Package policies holds accessctl's built-in Rego rules (SPEC §4), one file per rule area with its
// Rego unit tests beside it. They are embedded so the binary needs no policy files on disk.
package policies

import "embed"

// FS holds every *.rego file of this directory, rules and their *_test.rego unit tests.
//
//go:embed *.rego
var FS embed.FS
