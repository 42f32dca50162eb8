package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/winsim"
)

// TestMixedFleetCLI runs `accessctl plan` and `apply` from one manifest across a REAL Linux lab
// host (sshd, useradd, sudo) and a SIMULATED Windows host (WinRM over real HTTPS with a CA
// file, Basic auth). It proves the CLI dispatches on host OS; Windows semantics are only as
// good as the simulator (docs/windows.md).
func TestMixedFleetCLI(t *testing.T) {
	const winUser, winPass = "acctl-admin", "Wi-nrm-Pa55word!"
	l := lab.New(t, lab.HostSpec{Name: "lin-1"})
	win := winsim.NewHost("WIN-1", winUser, winPass)
	srv := winsim.StartTLS(win, winUser, winPass)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	ca := filepath.Join(dir, "winrm-ca.pem")
	if err := os.WriteFile(ca, srv.CACert(), 0o644); err != nil {
		t.Fatal(err)
	}
	aliceKey := filepath.Join(dir, "alice")
	if _, err := lab.GenerateKey(aliceKey, "alice@test"); err != nil {
		t.Fatal(err)
	}
	lin := l.ManifestHosts("mixed")[0]
	manifest := fmt.Sprintf(`apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: %s
users:
  - name: alice
    sudo: true
    rdp: true
    keypairs: [alice-laptop]
  - name: bob
    rdp: true
hostGroups:
  - name: mixed
    users: [alice, bob]
    sshd: {permitRootLogin: "no"}
hosts:
  - {name: %s, address: %s, port: %d, user: %s, groups: [mixed]}
  - {name: win-1, address: %s, port: %s, os: windows, groups: [mixed]}
`, strings.TrimSpace(readString(t, aliceKey+".pub")), lin.Name, lin.Address, lin.Port, lin.User, u.Hostname(), u.Port())
	mpath := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACCESSCTL_WINRM_USER": winUser, "ACCESSCTL_WINRM_PASSWORD": winPass}
	run := func(args ...string) (int, string, string) {
		return runCLI(env, []string{"-f", mpath, "--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile,
			"--ssh-config", "none", "--winrm-ca", ca, "--winrm-auth", "basic"}, args...)
	}

	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("first plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"lin-1", "win-1", "alice", "bob"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan does not mention %s:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, winPass) {
		t.Fatal("the WinRM password appears in the output")
	}

	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	// Linux: a real login with the bound key, sudo works.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := lab.SSH(ctx, l.Hosts[0], "alice", aliceKey, "id -un")
	if err != nil || r.Code != 0 || strings.TrimSpace(r.Stdout) != "alice" {
		t.Errorf("alice's login on the Linux host: %v %+v", err, r)
	}
	// Windows (simulated): accounts, groups by SID, the administrators' key file.
	for _, name := range []string{"alice", "bob"} {
		if win.User(name) == nil {
			t.Errorf("windows: user %s not created", name)
		}
		if !win.IsMember("S-1-5-32-555", name) {
			t.Errorf("windows: %s is not in Remote Desktop Users", name)
		}
	}
	if !win.IsMember("S-1-5-32-544", "alice") || win.IsMember("S-1-5-32-544", "bob") {
		t.Errorf("windows: Administrators membership wrong (alice must be in, bob not)")
	}
	if f := win.File(`C:\ProgramData\ssh\administrators_authorized_keys`); f == nil || !strings.Contains(f.Content, "alice@test") {
		t.Errorf("windows: alice's key is not in administrators_authorized_keys: %+v", f)
	}

	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("second plan should have no changes: exit %d\n%s\n%s", code, out, errOut)
	}
}
