package main

import (
	"github.com/accessctl/accessctl/internal/lab"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runNoManifest runs a command like labFleet.run, without -f: apply --plan needs no manifest.
func (f *labFleet) runNoManifest(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(nil, []string{"--known-hosts", f.lab.KnownHostsFile, "--identity", f.lab.IdentityFile, "--ssh-config", "none"}, args...)
}

// TestSavedPlanIsWhatRuns: a reviewed plan file is exactly what apply makes, against real
// hosts. A manifest changed after the plan (a key, a sudo right, an sshd setting) is refused
// when given, naming what changed, and ignored when not: the reviewed key is installed, never
// the new one. A host that drifted after the plan is refused; nothing unreviewed is applied.
func TestSavedPlanIsWhatRuns(t *testing.T) {
	f := newLabFleet(t)
	const users = `  - name: alice
    sudo: nopasswd
    keypairs: [alice-laptop]
`
	f.manifest(t, users, "alice")
	planPath := filepath.Join(f.dir, "plan.json")
	if code, out, errOut := f.run(t, "plan", "--out", planPath); code != exitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if fi, err := os.Stat(planPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode: %v %v", fi.Mode(), err)
	}
	if b := readString(t, planPath); !strings.Contains(b, `"ops"`) || !strings.Contains(b, `"manifestDigest"`) || strings.Contains(b, "Qx7!") {
		t.Errorf("plan file lacks ops/source or holds a secret")
	}

	// After review, the key pair alice-laptop is changed to hold another key; so are sudo and sshd.
	otherKey := filepath.Join(f.dir, "other")
	if _, err := lab.GenerateKey(otherKey, "other@test"); err != nil {
		t.Fatal(err)
	}
	otherPub := strings.TrimSpace(readString(t, otherKey+".pub"))
	changed := strings.Replace(users, "sudo: nopasswd", "sudo: true", 1)
	f.manifest(t, changed, "alice")
	m := readString(t, filepath.Join(f.dir, "access.yaml"))
	m = strings.Replace(m, "publicKey: "+f.alicePub, "publicKey: "+otherPub, 1)
	m = strings.Replace(m, "passwordAuthentication: false", "passwordAuthentication: true", 1)
	os.WriteFile(filepath.Join(f.dir, "access.yaml"), []byte(m), 0o644)
	code, _, errOut := f.run(t, "apply", "--plan", planPath)
	if code != exitInvalid || !strings.Contains(errOut, "stale plan: the manifest differs") ||
		!strings.Contains(errOut, "keypairs/alice-laptop (changed)") || !strings.Contains(errOut, "users/alice (changed)") ||
		!strings.Contains(errOut, "hostGroups/web (changed)") {
		t.Fatalf("changed manifest given: exit %d\n%s", code, errOut)
	}
	if out := f.lab.Host("deb").MustExec(t, "getent passwd alice || echo none"); out != "none\n" {
		t.Fatalf("something was applied from a refused plan: %q", out)
	}

	// Without -f, the plan file is all apply reads: the reviewed key, sudo and sshd.
	code, out, errOut := f.runNoManifest(t, "apply", "--plan", planPath)
	if code != exitOK {
		t.Fatalf("apply --plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, h := range f.lab.Hosts {
		if c := f.login(t, h, "alice", f.aliceKey); c != 0 {
			t.Errorf("%s: alice cannot log in with the reviewed key (exit %d)", h.Name, c)
		}
		if c := f.login(t, h, "alice", otherKey); c != 255 {
			t.Errorf("%s: the unreviewed key logs in as alice (exit %d)", h.Name, c)
		}
		if out := h.MustExec(t, "sudo -l -U alice | grep -c NOPASSWD || true"); strings.TrimSpace(out) == "0" {
			t.Errorf("%s: alice's reviewed NOPASSWD sudo is not what runs:\n%s", h.Name, h.MustExec(t, "sudo -l -U alice"))
		}
		if out := h.MustExec(t, "/usr/sbin/sshd -T | grep '^passwordauthentication '"); out != "passwordauthentication no\n" {
			t.Errorf("%s: sshd: %q", h.Name, out)
		}
	}

	// A host that drifts after the plan is refused; the others are applied.
	f.manifest(t, users+`  - name: bob
    keypairs: [bob-desk]
`, "alice, bob")
	if code, out, errOut := f.run(t, "plan", "--out", planPath); code != exitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	f.lab.Host("deb").MustExec(t, "echo '"+f.bobPub+"' >>/home/alice/.ssh/authorized_keys")
	code, out, errOut = f.runNoManifest(t, "apply", "--plan", planPath, "--format", "json")
	if code != exitHost || !strings.Contains(errOut, "deb: failed: stale plan: the host changed since the plan was made") {
		t.Fatalf("drifted host: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, `"hostsFailed": 1`) {
		t.Errorf("summary does not count the refused host:\n%s", out)
	}
	if got := f.lab.Host("deb").MustExec(t, "getent passwd bob || echo none"); got != "none\n" {
		t.Errorf("the stale host was changed: %q", got)
	}
	if got := f.lab.Host("cloud").MustExec(t, "getent passwd bob >/dev/null && echo yes"); got != "yes\n" {
		t.Errorf("the other hosts were not applied: %q", got)
	}

	// A plan file of another version is refused clearly.
	b := strings.Replace(readString(t, planPath), `"planFileVersion": "2"`, `"planFileVersion": "1"`, 1)
	os.WriteFile(planPath, []byte(b), 0o600)
	if code, _, errOut := f.runNoManifest(t, "apply", "--plan", planPath); code != exitUsage || !strings.Contains(errOut, `plan file version "1", this accessctl reads version "2"`) {
		t.Errorf("old plan file: exit %d %s", code, errOut)
	}
}
