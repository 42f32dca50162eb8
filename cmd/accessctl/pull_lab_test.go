package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/snapshot"
)

// TestApplyPullModeLab proves `apply` with `keys: pull` on a real sshd (issue 5, items 3 and 4):
// apply installs the plug-in, the signed snapshot and the sshd lines; a user with no
// authorized_keys file logs in with a key that is only in the snapshot; the admin still logs in
// through its own file; a second plan is empty; an expired snapshot refuses the login.
func TestApplyPullModeLab(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "pull", Variant: lab.Debian})
	host := l.Hosts[0]
	dir := t.TempDir()

	// The plug-in, built as users are told to build it.
	bin := filepath.Join(dir, "accessctl-keys")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "../accessctl-keys")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build accessctl-keys: %v\n%s", err, out)
	}
	// /usr is shared with this machine: a root-owned tmpfs over /usr/local/sbin, in this host's
	// mount namespace only, is where apply installs the binary.
	host.MustExec(t, "mount -t tmpfs -o mode=0755 accessctl-test /usr/local/sbin")

	erinKey := filepath.Join(dir, "erin")
	signKey := filepath.Join(dir, "signer")
	for _, k := range []string{erinKey, signKey} {
		if _, err := lab.GenerateKey(k, filepath.Base(k)+"@test"); err != nil {
			t.Fatal(err)
		}
	}
	erinPub := strings.TrimSpace(readString(t, erinKey+".pub"))
	manifestPath := filepath.Join(dir, "access.yaml")
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: accessctl/v1\nkeypairs:\n  - name: erin-laptop\n    publicKey: %s\n", erinPub)
	b.WriteString("users:\n  - name: erin\n    keypairs: [erin-laptop]\n")
	b.WriteString("hostGroups:\n  - name: fleet\n    keys: pull\n    users: [erin]\n    sshd:\n      permitRootLogin: \"no\"\n")
	b.WriteString("hosts:\n")
	for _, h := range l.ManifestHosts("fleet") {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [fleet]\n", h.Name, h.Address, h.Port, h.User)
	}
	if err := os.WriteFile(manifestPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		full := append([]string{"--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile, "--ssh-config", "none",
			"-f", manifestPath, "--keys-binary", bin, "--sign-key", signKey}, args[1:]...)
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := commands[args[0]].run(c, full)
		return code, stdout.String(), stderr.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	login := func(user, key string) lab.Result {
		t.Helper()
		r, err := lab.SSH(ctx, host, user, key, "id -un; test -e ~/.ssh/authorized_keys && echo HAS-FILE; true")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("first plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"+ authorized_keys /usr/local/sbin/accessctl-keys",
		"+ authorized_keys /etc/accessctl/snapshot.pub",
		"+ authorized_keys /etc/accessctl/snapshot.json",
		"~ sshd authorizedkeyscommand",
		"~ sshd authorizedkeyscommanduser",
		"+ user erin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "authorized_keys erin") {
		t.Errorf("pull mode planned an authorized_keys file for erin:\n%s", out)
	}

	code, out, errOut = run("apply", "--yes")
	if code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s\nsshd log:\n%s", code, out, errOut, host.Log())
	}
	files := host.MustExec(t, "stat -c '%U:%G %a %n' /usr/local/sbin/accessctl-keys /etc/accessctl /etc/accessctl/snapshot.json /etc/accessctl/snapshot.pub; "+
		"sshd -T | grep '^authorizedkeyscommand'; test -e /home/erin/.ssh/authorized_keys && echo ERIN-HAS-FILE; true")
	for _, want := range []string{
		"root:root 755 /usr/local/sbin/accessctl-keys\n", "root:root 755 /etc/accessctl\n",
		"root:root 644 /etc/accessctl/snapshot.json\n", "root:root 644 /etc/accessctl/snapshot.pub\n",
		"authorizedkeyscommand /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub %u\n",
		"authorizedkeyscommanduser nobody\n",
	} {
		if !strings.Contains(files, want) {
			t.Errorf("host lacks %q:\n%s", want, files)
		}
	}
	if strings.Contains(files, "ERIN-HAS-FILE") {
		t.Error("erin got an authorized_keys file in pull mode")
	}

	// erin, who has no authorized_keys file, logs in with the key that is only in the snapshot.
	if r := login("erin", erinKey); r.Code != 0 || r.Stdout != "erin\n" {
		t.Errorf("erin through the snapshot: %+v\nsshd log:\n%s", r, host.Log())
	}
	// The admin logs in through its own authorized_keys, untouched.
	if r := login(l.AdminUser, l.IdentityFile); r.Code != 0 || r.Stdout != l.AdminUser+"\nHAS-FILE\n" {
		t.Errorf("admin: %+v", r)
	}
	// Nobody else gets in with erin's key.
	if r := login(l.AdminUser, erinKey); r.Code != 255 {
		t.Errorf("erin's key let in %s: %+v", l.AdminUser, r)
	}

	// A second plan with the same manifest and flags is empty (the snapshot's content is
	// compared, not its generatedAt).
	if code, out, errOut := run("plan", "--detailed-exitcode"); code != exitOK {
		t.Errorf("second plan: exit %d\n%s\n%s", code, out, errOut)
	}

	// A short-lived snapshot: applied (it would outlive --snapshot-max-age), works, then expires
	// and refuses erin, while the admin is unaffected.
	code, out, errOut = run("apply", "--yes", "--snapshot-max-age", "15s")
	if code != exitOK || !strings.Contains(out, "longer than --snapshot-max-age 15s") {
		t.Fatalf("short-lived apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if r := login("erin", erinKey); r.Code != 0 {
		t.Errorf("erin before expiry: %+v", r)
	}
	head, err := snapshot.ParseHead([]byte(host.MustExec(t, "head -n 4 /etc/accessctl/snapshot.json")))
	if err != nil || head.NotAfter.IsZero() {
		t.Fatalf("snapshot head: %+v %v", head, err)
	}
	time.Sleep(time.Until(head.NotAfter.Add(1500 * time.Millisecond)))
	if r := login("erin", erinKey); r.Code != 255 {
		t.Errorf("erin logged in with an expired snapshot: %+v", r)
	}
	if out := host.MustExec(t, "setpriv --reuid=nobody --regid=nogroup --clear-groups env -i /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub erin 2>&1; echo rc=$?"); !strings.Contains(out, "expired at") || !strings.HasSuffix(out, "rc=1\n") {
		t.Errorf("plug-in on an expired snapshot: %q", out)
	}
	if r := login(l.AdminUser, l.IdentityFile); r.Code != 0 {
		t.Errorf("admin after expiry: %+v", r)
	}
	// plan says so, and a normal apply brings erin back.
	if code, out, _ := run("plan", "--detailed-exitcode", "--snapshot-max-age", "15s"); code != exitChanges || !strings.Contains(out, "expired at") {
		t.Errorf("plan after expiry: exit %d\n%s", code, out)
	}
	if code, out, errOut := run("apply", "--yes"); code != exitOK {
		t.Fatalf("re-apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if r := login("erin", erinKey); r.Code != 0 {
		t.Errorf("erin after re-apply: %+v", r)
	}
	if code, out, errOut := run("plan", "--detailed-exitcode"); code != exitOK {
		t.Errorf("plan after re-apply: exit %d\n%s\n%s", code, out, errOut)
	}
}
