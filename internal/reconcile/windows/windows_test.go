package windows

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/golden"
	"github.com/accessctl/accessctl/internal/hoststate"
)

// TestApplyScriptGolden pins the APPLY script: a change to it is a reviewed diff of
// testdata/windows_apply.ps1.golden.
func TestApplyScriptGolden(t *testing.T) {
	golden.Check(t, "windows_apply.ps1.golden", []byte(ApplyScript()))
}

// TestApplyScriptLint: PowerShell 5.1 only, groups by SID, no password on a command line, and
// the OpenSSH ACLs and atomic replace it promises.
func TestApplyScriptLint(t *testing.T) {
	for _, p := range hoststate.LintPowerShell(ApplyScript()) {
		t.Errorf("apply: %s", p)
	}
	for _, want := range []string{"*' + $adminsSid", "*' + $systemSid", "/inheritance:r", "[IO.File]::Replace"} {
		if !strings.Contains(ApplyScript(), want) {
			t.Errorf("apply lacks %q", want)
		}
	}
}

func TestParseApplyReportRefusesNoFrame(t *testing.T) {
	if _, err := ParseApplyReport([]byte("x")); err == nil {
		t.Error("apply report without frame accepted")
	}
}

// FuzzParseApplyReport: whatever a host prints, parsing it never panics.
func FuzzParseApplyReport(f *testing.F) {
	f.Add(hoststate.Frame(hoststate.WinApplyMarker, []byte(`{"formatVersion":"1","ok":false,"results":[{"id":1,"status":"failed"}]}`)))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseApplyReport(b)
	})
}

func TestChangeSetRedacted(t *testing.T) {
	s := &ChangeSet{Changes: []Change{{Op: OpCreateUser, User: "a", Password: "s3cret!"}, {Op: OpAddMember}}}
	r := s.Redacted()
	if b, _ := json.Marshal(r); strings.Contains(string(b), "s3cret") || s.Changes[0].Password != "s3cret!" {
		t.Errorf("redacted %s", b)
	}
}

// TestNotUndoableAgreesWithScript: the APPLY script records, for exactly the changes of
// NotUndoable, the same reason.
func TestNotUndoableAgreesWithScript(t *testing.T) {
	script := ApplyScript()
	heads := regexp.MustCompile(`(?m)^\s+'(\w+)' \{`).FindAllStringSubmatchIndex(script, -1)
	none := regexp.MustCompile(`kind = 'none'; why = '([^']*)'`)
	got := map[string]string{}
	for i, h := range heads {
		end := len(script)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		if m := none.FindStringSubmatch(script[h[0]:end]); m != nil {
			got[script[h[2]:h[3]]] = m[1]
		}
	}
	if len(got) != len(NotUndoable) {
		t.Fatalf("script: %v, list: %v", got, NotUndoable)
	}
	for op, why := range NotUndoable {
		if got[op] != why {
			t.Errorf("%s: script says %q, list %q", op, got[op], why)
		}
	}
}
