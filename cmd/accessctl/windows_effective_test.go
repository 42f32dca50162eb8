package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/winsim"
)

// TestWindowsEffectiveRDPCLI runs plan, apply and access against a SIMULATED Windows host
// (internal/winsim over real HTTPS) whose user rights deny bob Remote Desktop, while alice, an
// administrator with rdp: false, can still log on through it. The plan warns login-blocked for
// bob and foreign-access for alice, apply makes the memberships and changes no right, and access
// shows bob's rdp path refused with the right that refuses it. Windows semantics are only as good
// as the simulator (docs/windows.md).
func TestWindowsEffectiveRDPCLI(t *testing.T) {
	const winUser, winPass = "acctl-admin", "Wi-nrm-Pa55word!"
	win := winsim.NewHost("WIN-E1", winUser, winPass)
	win.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight, `WIN-E1\bob`)
	srv := winsim.StartTLS(win, winUser, winPass)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	ca := filepath.Join(dir, "winrm-ca.pem")
	if err := os.WriteFile(ca, srv.CACert(), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := fmt.Sprintf(`apiVersion: accessctl/v1
users:
  - name: alice
    sudo: true
    rdp: false
  - name: bob
    rdp: true
hostGroups:
  - name: win
    users: [alice, bob]
hosts:
  - {name: win-e1, address: %s, port: %s, os: windows, groups: [win]}
`, u.Hostname(), u.Port())
	mpath := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACCESSCTL_WINRM_USER": winUser, "ACCESSCTL_WINRM_PASSWORD": winPass}
	run := func(args ...string) (int, string, string) {
		return runCLI(env, []string{"-f", mpath, "--winrm-ca", ca, "--winrm-auth", "basic"}, args...)
	}

	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"login-blocked", `bob cannot log on through Remote Desktop: SeDenyRemoteInteractiveLogonRight names WIN-E1\bob`,
		"foreign-access", "alice has rdp: false but can log on through Remote Desktop: member of Administrators (S-1-5-32-544)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("plan's warnings lack %q:\n%s", want, errOut)
		}
	}

	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if !win.IsMember(hoststate.SIDRemoteDesktopUsers, "bob") || !win.IsMember(hoststate.SIDAdministrators, "alice") {
		t.Error("memberships not made")
	}

	code, out, errOut = run("access", "--format", "json")
	if code != exitOK {
		t.Fatalf("access: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Hosts []struct {
			Accounts []struct {
				User      string   `json:"user"`
				BlockedBy []string `json:"blockedBy"`
				Paths     []struct {
					Kind    string `json:"kind"`
					Allowed bool   `json:"allowed"`
				} `json:"paths"`
			} `json:"accounts"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Hosts) != 1 {
		t.Fatalf("access json: %v\n%s", err, out)
	}
	rdp := map[string]string{}
	for _, a := range rep.Hosts[0].Accounts {
		for _, p := range a.Paths {
			if p.Kind == "rdp" {
				rdp[a.User] = fmt.Sprint(p.Allowed) + " " + strings.Join(a.BlockedBy, "; ")
			}
		}
	}
	if !strings.HasPrefix(rdp["bob"], "false rdp: SeDenyRemoteInteractiveLogonRight names WIN-E1\\bob") || rdp["alice"] != "true " {
		t.Errorf("rdp paths: %q", rdp)
	}
	if !strings.Contains(errOut, "alice on win-e1 can log on through Remote Desktop") {
		t.Errorf("access warnings:\n%s", errOut)
	}

	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("second plan: exit %d\n%s\n%s", code, out, errOut)
	}
}
