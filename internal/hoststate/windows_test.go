package hoststate

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestWindowsScriptsGolden pins the two PowerShell scripts sent to Windows hosts: a change to
// them is a reviewed diff of testdata/windows_*.golden.
func TestWindowsScriptsGolden(t *testing.T) {
	golden(t, "windows_read.ps1.golden", []byte(ReadWindowsScript()))
	golden(t, "windows_apply.ps1.golden", []byte(ApplyWindowsScript()))
}

// TestWindowsScriptsLint checks, without PowerShell, what the scripts promise: Windows
// PowerShell 5.1 syntax only, groups by SID only, no password on a command line.
func TestWindowsScriptsLint(t *testing.T) {
	ps7only := []*regexp.Regexp{
		regexp.MustCompile(`\?\?`),                                // null-coalescing (PS 7)
		regexp.MustCompile(`\?\.`),                                // null-conditional member access (PS 7)
		regexp.MustCompile(`(?m)\s(&&|\|\|)\s`),                   // pipeline chain operators (PS 7)
		regexp.MustCompile(`-Parallel\b`),                         // ForEach-Object -Parallel (PS 7)
		regexp.MustCompile(`(?i)ConvertFrom-Json\s+-AsHashtable`), // PS 6+
		regexp.MustCompile(`(?i)\bclean\s*\{`),                    // clean block (PS 7.3)
	}
	localised := regexp.MustCompile(`(?i)-(Name|Group)\s+['"]?(Administrators|Remote Desktop Users|Administratoren)`)
	for name, s := range map[string]string{"read": ReadWindowsScript(), "apply": ApplyWindowsScript()} {
		for _, re := range ps7only {
			if loc := re.FindStringIndex(s); loc != nil {
				t.Errorf("%s: PowerShell 7 only syntax %q", name, s[loc[0]:loc[1]])
			}
		}
		if localised.MatchString(s) {
			t.Errorf("%s addresses a group by its localised name", name)
		}
		if strings.Contains(s, "ConvertTo-SecureString") || strings.Contains(s, "-AsPlainText") {
			t.Errorf("%s: build SecureStrings from stdin data with AppendChar", name)
		}
		if !strings.Contains(s, "Set-StrictMode -Version 2") {
			t.Errorf("%s: no strict mode", name)
		}
	}
	if !strings.Contains(ReadWindowsScript(), "Get-CimAssociatedInstance") {
		t.Error("read: no WMI fallback for orphaned SIDs")
	}
	for _, want := range []string{"*' + $adminsSid", "*' + $systemSid", "/inheritance:r", "[IO.File]::Replace"} {
		if !strings.Contains(ApplyWindowsScript(), want) {
			t.Errorf("apply lacks %q", want)
		}
	}
}

func TestParseWindowsGolden(t *testing.T) {
	out, err := os.ReadFile("testdata/windows_read.out")
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWindows(out)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(map[string]any{"state": w, "record": w.Record, "recordError": w.RecordError, "fingerprint": w.Fingerprint}, "", "  ")
	golden(t, "windows_read.golden.json", append(b, '\n'))
	if !w.User("Alice").Human() || w.User("administrator").Human() {
		t.Error("Human()")
	}
	if !w.Group(SIDRemoteDesktopUsers).HasMember(w.User("alice").SID) {
		t.Error("alice not in RDU")
	}
}

func TestParseWindowsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no frame":      "hello",
		"no end":        WinReadMarker + "\ne30=\n",
		"not base64":    WinReadMarker + "\n!!!\n@@end\n",
		"wrong version": string(Frame(WinReadMarker, []byte(`{"formatVersion":"2"}`))),
		"no groups":     string(Frame(WinReadMarker, []byte(`{"formatVersion":"1","login":{"sid":"S-1-5-21-1-500"}}`))),
	} {
		if _, err := ParseWindows([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseWinApplyReport([]byte("x")); err == nil {
		t.Error("apply report without frame accepted")
	}
}

func TestWinChangeSetRedacted(t *testing.T) {
	s := &WinChangeSet{Changes: []WinChange{{Op: WinOpCreateUser, User: "a", Password: "s3cret!"}, {Op: WinOpAddMember}}}
	r := s.Redacted()
	if b, _ := json.Marshal(r); strings.Contains(string(b), "s3cret") || s.Changes[0].Password != "s3cret!" {
		t.Errorf("redacted %s", b)
	}
}

// TestNotUndoableAgreesWithScript: the APPLY script records, for exactly the changes of
// WinNotUndoable, the same reason.
func TestNotUndoableAgreesWithScript(t *testing.T) {
	script := ApplyWindowsScript()
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
	if len(got) != len(WinNotUndoable) {
		t.Fatalf("script: %v, list: %v", got, WinNotUndoable)
	}
	for op, why := range WinNotUndoable {
		if got[op] != why {
			t.Errorf("%s: script says %q, list %q", op, got[op], why)
		}
	}
}
