package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
)

// TestEffectiveAccessCLI runs plan and apply through the CLI on three zoo hosts: a foreign key
// in authorized_keys2 (foreign-access, removed), a user sshd's AllowUsers refuses
// (login-blocked, named file:line), and a missing home (blocked: apply does not start that host,
// exit 3 with the reason, the others apply).
func TestEffectiveAccessCLI(t *testing.T) {
	l := lab.New(t,
		lab.HostSpec{Name: "keys2", Variant: lab.KeysFile2},
		lab.HostSpec{Name: "allow", Variant: lab.AllowUsers},
		lab.HostSpec{Name: "nohome", Variant: lab.MissingHome},
	)
	f := &labFleet{lab: l, dir: t.TempDir()}
	foreign := filepath.Join(f.dir, "foreign")
	f.aliceKey = filepath.Join(f.dir, "alice")
	for _, k := range []string{foreign, f.aliceKey} {
		if _, err := lab.GenerateKey(k, filepath.Base(k)+"@test"); err != nil {
			t.Fatal(err)
		}
	}
	f.alicePub = strings.TrimSpace(readString(t, f.aliceKey+".pub"))
	carolPub := strings.TrimSpace(readString(t, l.HumanIdentityFile+".pub"))
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: accessctl/v1\nkeypairs:\n  - name: alice-laptop\n    publicKey: %s\n  - name: carol-lab\n    publicKey: %s\n", f.alicePub, carolPub)
	b.WriteString("users:\n  - name: alice\n    keypairs: [alice-laptop]\n  - name: carol\n    keypairs: [carol-lab]\n")
	b.WriteString("hostGroups:\n  - name: web\n    users: [alice, carol]\n")
	b.WriteString("hosts:\n")
	for _, h := range l.ManifestHosts("web") {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [web]\n", h.Name, h.Address, h.Port, h.User)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "access.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	keys2 := l.Host("keys2")
	keys2.MustExec(t, "cat '"+foreign+".pub' >>/home/carol/.ssh/authorized_keys2")

	code, out, errOut := f.run(t, "plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	all := out + errOut
	for _, want := range []string{
		"foreign-access", "/home/carol/.ssh/authorized_keys2", // the foreign key, by file
		"login-blocked", "not listed in AllowUsers (/etc/ssh/sshd_config:", // alice on allow
		"the home of carol does not exist", // nohome: a blocked change
	} {
		if !strings.Contains(all, want) {
			t.Errorf("plan output lacks %q:\n%s\n%s", want, out, errOut)
		}
	}

	code, out, errOut = f.run(t, "apply", "--yes")
	if code != exitHost || !strings.Contains(out+errOut, "the home of carol does not exist") {
		t.Errorf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r, _ := lab.SSH(ctx, keys2, "carol", foreign, "true"); r.Code == 0 {
		t.Error("the foreign key in authorized_keys2 still logs in after apply")
	}
	if r, _ := lab.SSH(ctx, keys2, "carol", l.HumanIdentityFile, "true"); r.Code != 0 {
		t.Errorf("carol's own key does not log in: %+v", r)
	}
	if r, _ := lab.SSH(ctx, keys2, "alice", f.aliceKey, "true"); r.Code != 0 {
		t.Errorf("alice does not log in on keys2: %+v", r)
	}
	if out := l.Host("nohome").MustExec(t, "getent passwd alice || echo none"); out != "none\n" {
		t.Errorf("the blocked host was changed: %q", out)
	}
}

// TestAccessMatchUserCLI: `access` reports what sshd decides per user. The host's global
// PasswordAuthentication is no, and a `Match User carol` block at the end of sshd_config turns it
// on for carol: her password path is allowed (a real password login proves it), and nobody
// else's is.
func TestAccessMatchUserCLI(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "muser", Variant: lab.MatchUser})
	h := l.Host("muser")
	f := &labFleet{lab: l, dir: t.TempDir()}
	// Passwords off for everyone in an early drop-in (as cloud images ship); the Match block at
	// the end of sshd_config still turns them on for carol.
	h.MustExec(t, "printf 'PasswordAuthentication no\\n' >/etc/ssh/sshd_config.d/10-no-passwords.conf")
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := h.MustExec(t, "sshd -T | grep -i '^passwordauthentication '"); out != "passwordauthentication no\n" {
		t.Fatalf("the lab's global PasswordAuthentication is not no: %q", out)
	}
	const pw = "Carol-Pass-2026!x"
	h.MustExec(t, "echo 'carol:"+pw+"' | chpasswd && echo 'labadmin:"+pw+"' | chpasswd")
	carolPub := strings.TrimSpace(readString(t, l.HumanIdentityFile+".pub"))
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: accessctl/v1\nkeypairs:\n  - name: carol-lab\n    publicKey: %s\n", carolPub)
	b.WriteString("users:\n  - name: carol\n    keypairs: [carol-lab]\nhostGroups:\n  - name: web\n    users: [carol]\nhosts:\n")
	for _, mh := range l.ManifestHosts("web") {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [web]\n", mh.Name, mh.Address, mh.Port, mh.User)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "access.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := f.run(t, "access", "--format", "json")
	if code != exitOK {
		t.Fatalf("access: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Hosts []struct {
			Accounts []struct {
				User  string
				Paths []struct {
					Kind    string
					Allowed bool
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Hosts) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	password := map[string]bool{}
	for _, a := range rep.Hosts[0].Accounts {
		for _, p := range a.Paths {
			if p.Kind == "password" {
				password[a.User] = p.Allowed
			}
		}
	}
	if !password["carol"] {
		t.Errorf("carol's password path is not allowed, though Match User carol allows it:\n%s", out)
	}
	if password["labadmin"] {
		t.Errorf("labadmin's password path is allowed, though PasswordAuthentication is no for it:\n%s", out)
	}
	// Proof by real logins: carol with her password, labadmin not.
	for user, want := range map[string]bool{"carol": true, "labadmin": false} {
		cfg := &xssh.ClientConfig{User: user, Auth: []xssh.AuthMethod{xssh.Password(pw)},
			HostKeyCallback: xssh.FixedHostKey(h.HostKey()), Timeout: 10 * time.Second}
		c, err := xssh.Dial("tcp", h.HostPort(), cfg)
		if c != nil {
			c.Close()
		}
		if (err == nil) != want {
			t.Errorf("password login as %s: %v, want success %v", user, err, want)
		}
	}
}
