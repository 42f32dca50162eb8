package main

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/winsim"
)

// TestSecretHygiene (issue 6 item 5, SPEC §1 "Plaintext passwords never appear in a plan file, a
// report, a log, an error or a policy input"): every command and format runs with known
// passwords (from the environment and from a file) and WinRM credentials, against a REAL Linux
// lab host and a SIMULATED Windows host; then all output, the saved plan, the snapshot, the
// hosts' state files and sshd's log are searched for the plaintexts (and their base64): none.
func TestSecretHygiene(t *testing.T) {
	const (
		alicePW  = "Qx7!vR2#mLp9$wZt-Alpha"
		alicePW2 = "Jd4&hS8*pLx2@Vn5-Charlie"
		bobPW    = "Fz8@kN3%tQw6^yHs-Bravo"
		weakPW   = "carl1234"
		winUser  = "acctl-admin"
		winPass  = "Wi-nrm-Pa55word!Secret"
		wrongWin = "Wrong-Wi-nrm-Pa55!Guess"
	)
	secrets := []string{alicePW, alicePW2, bobPW, weakPW, winPass, wrongWin}

	r := newRig(t, lab.HostSpec{Name: "lin-1"})
	win := winsim.NewHost("WIN-1", winUser, winPass)
	srv := winsim.StartTLS(win, winUser, winPass)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	ca := filepath.Join(r.dir, "winrm-ca.pem")
	if err := os.WriteFile(ca, srv.CACert(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.write(t, "secrets/bob.pw", bobPW+"\n")
	r.write(t, "secrets/carl.pw", weakPW+"\n")
	r.env = map[string]string{"ALICE_PW": alicePW, "ACCESSCTL_WINRM_USER": winUser, "ACCESSCTL_WINRM_PASSWORD": winPass}

	lin := r.lab.ManifestHosts("mixed")[0]
	manifest := func(withWeak bool) string {
		carl := ""
		if withWeak {
			carl = "  - name: carl\n    password: {file: secrets/carl.pw}\n"
		}
		return r.write(t, "access.yaml", fmt.Sprintf(`apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: %s
users:
  - name: alice
    sudo: true
    rdp: true
    keypairs: [alice-laptop]
    password: {env: ALICE_PW}
  - name: bob
    rdp: true
    password: {file: secrets/bob.pw}
%shostGroups:
  - name: mixed
    users: [alice, bob]
    sshd: {permitRootLogin: "no", passwordAuthentication: true}
hosts:
  - {name: %s, address: %s, port: %d, user: %s, groups: [mixed]}
  - {name: win-1, address: %s, port: %s, os: windows, groups: [mixed]}
`, r.pub["alice-laptop"], carl, lin.Name, lin.Address, lin.Port, lin.User, u.Hostname(), u.Port()))
	}
	mpath := manifest(false)
	fleet := []string{"--known-hosts", r.lab.KnownHostsFile, "--identity", r.lab.IdentityFile, "--ssh-config", "none",
		"--winrm-ca", ca, "--winrm-auth", "basic", "--connect-timeout", "2s", "--timeout", "20s"}
	planFile := filepath.Join(r.dir, "plan.json")
	snapFile := filepath.Join(r.dir, "snapshot.json")
	signKey := filepath.Join(r.dir, "snapshot-signing")
	if _, err := lab.GenerateKey(signKey, "signing"); err != nil {
		t.Fatal(err)
	}

	var transcript strings.Builder
	run := func(want int, args ...string) {
		t.Helper()
		code, out, errOut := r.cli(t, args...)
		fmt.Fprintf(&transcript, "$ accessctl %s\n%s\n%s\n", strings.Join(args, " "), out, errOut)
		if code != want {
			t.Errorf("accessctl %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
		}
	}
	withFleet := func(cmd string, rest ...string) []string {
		return append(append([]string{cmd, "-f", mpath}, fleet...), rest...)
	}

	run(exitOK, "validate", "-f", mpath)
	for _, f := range []string{"text", "json", "sarif", "junit", "github"} {
		run(exitOK, "check", "-f", mpath, "--format", f)
	}
	run(exitChanges, withFleet("plan", "--detailed-exitcode")...)
	run(exitOK, withFleet("plan", "--format", "json", "--out", planFile)...)
	run(exitOK, withFleet("apply", "--plan", planFile)...)
	run(exitOK, withFleet("plan", "--format", "json", "--detailed-exitcode")...)
	// A new password: planned and applied as JSON.
	r.env["ALICE_PW"] = alicePW2
	run(exitChanges, withFleet("plan", "--detailed-exitcode")...)
	run(exitOK, withFleet("apply", "--yes", "--format", "json")...)
	run(exitOK, "snapshot", "-f", mpath, "--host", "lin-1", "--out", snapFile, "--sign-key", signKey)
	// Failures must not echo secrets either: a wrong WinRM password, a weak password.
	r.env["ACCESSCTL_WINRM_PASSWORD"] = wrongWin
	run(exitHost, withFleet("plan")...)
	run(exitHost, withFleet("apply", "--yes", "--format", "json")...)
	r.env["ACCESSCTL_WINRM_PASSWORD"] = winPass
	mpath = manifest(true)
	for _, f := range []string{"text", "json", "sarif", "junit", "github"} {
		run(exitInvalid, "check", "-f", mpath, "--format", f)
	}
	run(exitInvalid, withFleet("plan", "--format", "json")...)
	run(exitInvalid, "snapshot", "-f", mpath, "--host", "lin-1", "--out", filepath.Join(r.dir, "s2.json"))

	places := map[string]string{"command output": transcript.String()}
	for name, p := range map[string]string{"saved plan": planFile, "snapshot": snapFile} {
		places[name] = readString(t, p)
	}
	h := r.lab.Hosts[0]
	places["lin-1 /var/lib/accessctl"] = h.MustExec(t, "find /var/lib/accessctl -type f -exec cat {} +")
	places["lin-1 sshd log"] = h.Log()
	places["lin-1 /etc/shadow"] = h.MustExec(t, "cat /etc/shadow")
	if f := win.File(`C:\ProgramData\accessctl\state.json`); f != nil {
		places["win-1 state.json"] = f.Content
	} else {
		t.Error("win-1 has no state file: the Windows apply did not run")
	}
	if !strings.Contains(places["lin-1 /etc/shadow"], "alice:$") {
		t.Error("alice has no password hash on lin-1: the password was never applied")
	}
	for where, text := range places {
		for _, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s + "\n"))} {
				if strings.Contains(text, form) {
					t.Errorf("the secret %q appears (as %q) in the %s", s, form, where)
				}
			}
		}
	}
	if !strings.Contains(transcript.String(), "weak-password") {
		t.Errorf("the weak password was not reported:\n%s", transcript.String())
	}
}
