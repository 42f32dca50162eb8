package windows

import (
	"bytes"
	"context"
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/psparse"
	"github.com/accessctl/accessctl/internal/transport/winrm"
)

// TestApplyScriptParses parses, with a real PowerShell grammar (internal/psparse), the APPLY
// script, the no-op check, and what Apply actually sends to a host for a change set holding every
// op and text full of PowerShell's special characters: the bootstrap on the command line and the
// script it takes from stdin. The change set travels as JSON after the script, so the sent
// script must be APPLY itself, unchanged, and the hostile text only in the data.
func TestApplyScriptParses(t *testing.T) {
	hostile := "O'Brien \"Bob\" `$(Remove-Item C:\\) ${env:X} @' '@ \"@\r\n; exit 1 # <# ü"
	set := &ChangeSet{Changes: []Change{
		{ID: 1, Op: OpCreateUser, User: "alice", FullName: hostile, Description: hostile, Password: "p'w\"$(x)`n", Disabled: true},
		{ID: 2, Op: OpSetUser, User: "alice", FullName: hostile, Description: ""},
		{ID: 3, Op: OpSetPassword, User: "alice", Password: "'; Remove-Item -Recurse C:\\ #"},
		{ID: 4, Op: OpEnableUser, User: "alice"},
		{ID: 5, Op: OpDisableUser, User: "bob"},
		{ID: 6, Op: OpAddMember, User: "alice", Group: hoststate.SIDRemoteDesktopUsers},
		{ID: 7, Op: OpRemoveMember, User: "", Group: hoststate.SIDAdministrators, SID: "S-1-5-21-1-2-3-1001"},
		{ID: 8, Op: OpWriteKeys, User: "alice", File: "user", Content: "ssh-ed25519 AAAA " + hostile + "\n", FixACL: true},
		{ID: 9, Op: OpWriteKeys, File: "admin", Content: ""},
		{ID: 10, Op: OpWriteState, Content: `{"managed":["alice"],"note":"` + "`$x'\"" + `"}`},
		{ID: 11, Op: OpRemoveUser, User: "bob"},
	}}
	rec := &psparse.Recorder{}
	// The recorder prints no APPLY report, so Apply fails after sending; only what it sent
	// matters here.
	_, _ = Apply(context.Background(), winrm.PowerShell(rec), set)
	sent, err := rec.Scripts("Apply")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[1].Text != ApplyScript() {
		t.Fatalf("Apply sent %d programs; the script is APPLY unchanged: %v", len(sent), len(sent) == 2 && sent[1].Text == ApplyScript())
	}
	if _, data, _ := winrm.SplitStdin(rec.Runs[0].Stdin); !bytes.Contains(data, []byte(`"O'Brien \"Bob\"`)) {
		t.Errorf("the change set is not the data after the script: %q", data)
	}
	psparse.Check(t, append([]psparse.Script{
		{Name: "windows/apply.ps1", Text: ApplyScript()},
		{Name: "NoOpScript", Text: NoOpScript},
	}, sent...)...)
}
