package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
)

// labFleet is a lab of real OpenSSH hosts, one of each variant, and the files a manifest needs.
type labFleet struct {
	lab              *lab.Lab
	dir              string
	aliceKey, bobKey string
	alicePub, bobPub string
}

func newLabFleet(t *testing.T) *labFleet {
	t.Helper()
	l := lab.New(t,
		lab.HostSpec{Name: "deb", Variant: lab.Debian},
		lab.HostSpec{Name: "cloud", Variant: lab.CloudInit},
		lab.HostSpec{Name: "noinc", Variant: lab.NoInclude},
		lab.HostSpec{Name: "human", Variant: lab.HumanUser},
	)
	f := &labFleet{lab: l, dir: t.TempDir()}
	f.aliceKey = filepath.Join(f.dir, "alice")
	f.bobKey = filepath.Join(f.dir, "bob")
	for _, k := range []string{f.aliceKey, f.bobKey} {
		if _, err := lab.GenerateKey(k, filepath.Base(k)+"@test"); err != nil {
			t.Fatal(err)
		}
	}
	f.alicePub = strings.TrimSpace(readString(t, f.aliceKey+".pub"))
	f.bobPub = strings.TrimSpace(readString(t, f.bobKey+".pub"))
	return f
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// manifest writes access.yaml: users is the users: section, groupUsers the web group's users.
func (f *labFleet) manifest(t *testing.T, users, groupUsers string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: accessctl/v1\nkeypairs:\n  - name: alice-laptop\n    publicKey: %s\n  - name: bob-desk\n    publicKey: %s\n", f.alicePub, f.bobPub)
	b.WriteString("users:\n" + users)
	fmt.Fprintf(&b, "hostGroups:\n  - name: web\n    users: [%s]\n    sshd:\n      passwordAuthentication: false\n      pubkeyAuthentication: true\n      kbdInteractiveAuthentication: false\n      permitRootLogin: \"no\"\n", groupUsers)
	b.WriteString("hosts:\n")
	for _, h := range f.lab.ManifestHosts("web") {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [web]\n", h.Name, h.Address, h.Port, h.User)
	}
	p := filepath.Join(f.dir, "access.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *labFleet) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(map[string]string{"BOB_PW": "Qx7!vR2#mLp9$wZt"},
		[]string{"--known-hosts", f.lab.KnownHostsFile, "--identity", f.lab.IdentityFile, "--ssh-config", "none", "-f", filepath.Join(f.dir, "access.yaml")}, args...)
}

func (f *labFleet) login(t *testing.T, h *lab.Host, user, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := lab.SSH(ctx, h, user, key, "sudo -n true 2>/dev/null; id -un")
	if err != nil {
		t.Fatal(err)
	}
	return r.Code
}

// alice's uid is one no other lab user has: lab hosts share the machine's pid namespace, and
// userdel refuses while any process of that uid runs (another test's login as uid 1001 would do).
const usersAliceBob = `  - name: alice
    uid: 31001
    sudo: nopasswd
    groups: [developers]
    keypairs:
      - alice-laptop
  - name: bob
    keypairs:
      - keypair: bob-desk
        from: [127.0.0.0/8]
        expires: 2099-01-31
    password:
      env: BOB_PW
`

func TestApplyLab(t *testing.T) {
	f := newLabFleet(t)
	f.manifest(t, usersAliceBob, "alice, bob")

	code, out, errOut := f.run(t, "plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("first plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "+ user alice") || !strings.Contains(out, "~ sshd passwordauthentication") {
		t.Errorf("first plan:\n%s", out)
	}

	// No terminal and no --yes: refused, nothing changed.
	if code, _, errOut := f.run(t, "apply"); code != exitUsage || !strings.Contains(errOut, "--yes") {
		t.Errorf("apply without --yes: exit %d %s", code, errOut)
	}

	code, out, errOut = f.run(t, "apply", "--yes")
	if code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("first apply:\n%s\n%s", out, errOut)
	for _, h := range f.lab.Hosts {
		if c := f.login(t, h, "alice", f.aliceKey); c != 0 {
			t.Errorf("%s: alice cannot log in with her key (exit %d)", h.Name, c)
		}
		if c := f.login(t, h, "alice", f.bobKey); c != 255 {
			t.Errorf("%s: alice logged in with bob's key", h.Name)
		}
		if c := f.login(t, h, "root", f.lab.IdentityFile); c != 255 {
			t.Errorf("%s: root logged in", h.Name)
		}
		eff := h.MustExec(t, "mkdir -p /run/sshd; sshd -T | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) '")
		for _, want := range []string{"passwordauthentication no", "permitrootlogin no", "kbdinteractiveauthentication no"} {
			if !strings.Contains(eff, want) {
				t.Errorf("%s: effective sshd lacks %q:\n%s", h.Name, want, eff)
			}
		}
		ak := h.MustExec(t, "stat -c '%a %U' /home/alice/.ssh /home/alice/.ssh/authorized_keys; head -1 /home/alice/.ssh/authorized_keys; stat -c '%a' /etc/sudoers.d/accessctl")
		if ak != "700 alice\n600 alice\n# managed by accessctl\n440\n" {
			t.Errorf("%s: files:\n%s", h.Name, ak)
		}
		bk := h.MustExec(t, "cat /home/bob/.ssh/authorized_keys")
		if !strings.Contains(bk, `from="127.0.0.0/8",expiry-time="20990131" ssh-ed25519`) {
			t.Errorf("%s: bob's keys: %s", h.Name, bk)
		}
	}
	if cfg := h(f, "noinc").MustExec(t, "head -1 /etc/ssh/sshd_config; ls /etc/ssh/sshd_config.d"); !strings.HasPrefix(cfg, "# BEGIN accessctl\n") || strings.Contains(cfg, "00-accessctl") {
		t.Errorf("noinc: %s", cfg)
	}
	if cfg := h(f, "cloud").MustExec(t, "ls /etc/ssh/sshd_config.d"); cfg != "00-accessctl.conf\n50-cloud-init.conf\n" {
		t.Errorf("cloud: %s", cfg)
	}

	// Second plan: nothing to do.
	if code, out, errOut := f.run(t, "plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("second plan: exit %d\n%s\n%s", code, out, errOut)
	}

	// Drift: a key slipped in, repaired.
	h(f, "deb").MustExec(t, "echo '"+f.bobPub+"' >> /home/alice/.ssh/authorized_keys")
	code, out, _ = f.run(t, "plan", "--detailed-exitcode", "--format", "json", "--out", filepath.Join(f.dir, "plan.json"))
	if code != exitChanges || !strings.Contains(out, "authorized_keys for alice: 1 key not in the manifest") {
		t.Errorf("drift plan: exit %d\n%s", code, out)
	}
	// The host changes again after the plan was saved: the saved plan is stale.
	h(f, "deb").MustExec(t, "echo '# x' >> /home/alice/.ssh/authorized_keys")
	if code, _, errOut := f.run(t, "apply", "--plan", filepath.Join(f.dir, "plan.json")); code != exitHost || !strings.Contains(errOut, "deb: failed: stale plan: the host changed since the plan was made") {
		t.Errorf("stale plan: exit %d %s", code, errOut)
	}
	f.run(t, "plan", "--out", filepath.Join(f.dir, "plan.json"))
	if code, out, errOut := f.run(t, "apply", "--plan", filepath.Join(f.dir, "plan.json")); code != exitOK {
		t.Errorf("apply saved plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if c := f.login(t, h(f, "deb"), "alice", f.bobKey); c != 255 {
		t.Error("drifted key still works after repair")
	}

	// A lockout is refused and nothing changes: the manifest would empty labadmin's keys.
	f.manifest(t, usersAliceBob+"  - name: labadmin\n    sudo: nopasswd\n", "alice, bob, labadmin")
	if code, _, errOut := f.run(t, "apply", "--yes"); code != exitInvalid || !strings.Contains(errOut, "lockout") {
		t.Errorf("lockout: exit %d\n%s", code, errOut)
	}
	if c := f.login(t, h(f, "deb"), "labadmin", f.lab.IdentityFile); c != 0 {
		t.Error("labadmin locked out")
	}

	// Locked bob, alice no longer desired (accessctl created her: removed, home kept).
	f.manifest(t, strings.Replace(usersAliceBob, "  - name: bob\n", "  - name: bob\n    state: locked\n", 1), "bob")
	code, out, errOut = f.run(t, "apply", "--yes")
	if code != exitOK || !strings.Contains(out, "- user alice") {
		t.Fatalf("lock/remove: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, hh := range f.lab.Hosts {
		if c := f.login(t, hh, "bob", f.bobKey); c != 255 {
			t.Errorf("%s: locked bob logged in", hh.Name)
		}
		st := hh.MustExec(t, "getent passwd alice || echo gone; test -d /home/alice && echo home-kept; getent shadow bob | cut -d: -f2,8 | cut -c1")
		if !strings.HasPrefix(st, "gone\nhome-kept\n!") {
			t.Errorf("%s: %s", hh.Name, st)
		}
	}
	if code, out, errOut := f.run(t, "plan", "--detailed-exitcode"); code != exitOK {
		t.Errorf("plan after lock: exit %d\n%s\n%s", code, out, errOut)
	}

	// Forced failure: a drop-in sorting before accessctl's sets PasswordAuthentication yes. The
	// run rolls back: the new user is not there and the files are as before.
	deb := h(f, "deb")
	deb.MustExec(t, "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/00-aaa.conf")
	before := deb.MustExec(t, "cat /etc/passwd /etc/shadow /etc/ssh/sshd_config.d/* /var/lib/accessctl/state.json | md5sum")
	f.manifest(t, strings.Replace(usersAliceBob, "  - name: bob\n", "  - name: bob\n    state: locked\n", 1)+"  - name: dave\n    keypairs: [bob-desk]\n", "bob, dave")
	code, out, errOut = f.run(t, "apply", "--yes", "--limit", "deb")
	t.Logf("forced failure:\n%s\n%s", out, errOut)
	if code != exitHost || !strings.Contains(errOut, "/etc/ssh/sshd_config.d/00-aaa.conf:1 wins") {
		t.Errorf("forced failure: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := deb.MustExec(t, "cat /etc/passwd /etc/shadow /etc/ssh/sshd_config.d/* /var/lib/accessctl/state.json | md5sum"); after != before {
		t.Error("files changed by a rolled-back apply")
	}
	if st := deb.MustExec(t, "getent passwd dave || echo none; ls /var/lib/accessctl/backup 2>/dev/null | wc -l"); st != "none\n0\n" {
		t.Errorf("after rollback: %s", st)
	}

	// A host down: the others are planned, exit 3.
	if err := h(f, "human").Stop(); err != nil {
		t.Fatal(err)
	}
	code, out, _ = f.run(t, "plan", "--connect-timeout", "3s")
	if code != exitHost || !strings.Contains(out, "host human: error") || !strings.Contains(out, "host deb:") {
		t.Errorf("host down: exit %d\n%s", code, out)
	}
}

func h(f *labFleet, name string) *lab.Host { return f.lab.Host(name) }
