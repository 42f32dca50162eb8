package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// check and validate say what they checked (issue 11: the shipped example printed only
// "No findings"); the JSON format keeps its contract shape.
func TestCheckSaysWhatItChecked(t *testing.T) {
	const example = "../../examples/basic/access.yaml"
	run1 := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run1("check", "-f", example)
	if code != exitOK || !regexp.MustCompile(`^\d+ users, \d+ key pairs, \d+ host groups, \d+ hosts, \d+ rules: no findings\n$`).MatchString(out) {
		t.Errorf("check: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run1("validate", "-f", example)
	if code != exitOK || !regexp.MustCompile(`^\.\./\.\./examples/basic/access\.yaml: \d+ users, \d+ key pairs, \d+ host groups, \d+ hosts: valid\n$`).MatchString(out) {
		t.Errorf("validate: exit %d\n%s", code, out)
	}
	code, out, _ = run1("check", "-f", example, "--format", "json")
	var doc struct {
		Findings []any          `json:"findings"`
		Summary  map[string]any `json:"summary"`
	}
	err := json.Unmarshal([]byte(out), &doc)
	if code != exitOK || err != nil || len(doc.Summary) != 2 || doc.Summary["deny"] != 0.0 || doc.Summary["warn"] != 0.0 {
		t.Errorf("check --format json: exit %d\n%s", code, out)
	}
}
