package hoststate

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestWindowsScriptsGolden pins the two PowerShell scripts sent to Windows hosts: a change to
// them is a reviewed diff of testdata/windows_*.golden.
func TestWindowsScriptsGolden(t *testing.T) {
	golden(t, "windows_read.ps1.golden", []byte(ReadWindowsScript()))
}

// TestWindowsScriptsLint checks, without PowerShell, what the read script promises (the APPLY
// script's test, in reconcile/windows, uses the same LintPowerShell).
func TestWindowsScriptsLint(t *testing.T) {
	for _, p := range LintPowerShell(ReadWindowsScript()) {
		t.Errorf("read: %s", p)
	}
	if !strings.Contains(ReadWindowsScript(), "Get-CimAssociatedInstance") {
		t.Error("read: no WMI fallback for orphaned SIDs")
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
}
