package hoststate

import (
	"context"
	"testing"

	"github.com/accessctl/accessctl/internal/psparse"
	"github.com/accessctl/accessctl/internal/transport/winrm"
)

// TestWindowsScriptsParse parses, with a real PowerShell grammar (internal/psparse), the READ
// script and the no-op check, and what ReadWindows actually sends to a host for a
// representative request: the bootstrap on the command line and the script it takes from stdin.
// The request (user names) travels as JSON after the script, so the sent script must be READ
// itself, unchanged.
func TestWindowsScriptsParse(t *testing.T) {
	rec := &psparse.Recorder{}
	// The recorder prints no READ document, so ReadWindows fails after sending; only what it
	// sent matters here.
	users := []string{"alice", "svc_backup-1", "x"}
	for _, u := range users {
		if !ValidWinUserName(u) {
			t.Fatalf("%q is not a valid name: pick another", u)
		}
	}
	_, _ = ReadWindows(context.Background(), winrm.PowerShell(rec), users)
	sent, err := rec.Scripts("ReadWindows")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[1].Text != ReadWindowsScript() {
		t.Fatalf("ReadWindows sent %d programs; the script is READ unchanged: %v", len(sent), len(sent) == 2 && sent[1].Text == ReadWindowsScript())
	}
	psparse.Check(t, append([]psparse.Script{
		{Name: "windows/read.ps1", Text: ReadWindowsScript()},
		{Name: "WinNoOpScript", Text: WinNoOpScript},
	}, sent...)...)
}
