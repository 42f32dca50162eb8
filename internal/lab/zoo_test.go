package lab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
)

// TestZoo starts one host of every zoo variant and checks, by real logins and real tools, that
// each is what its name says.
func TestZoo(t *testing.T) {
	variants := []lab.Variant{lab.KeysFile2, lab.EtcKeys, lab.EtcKeysAndHome, lab.MatchUser, lab.MatchGroup,
		lab.MatchAddress, lab.AllowUsers, lab.AllowGroups, lab.NoIncludedir, lab.GroupSudo, lab.Directory,
		lab.MissingHome, lab.SymlinkHome, lab.NoAccountTools, lab.Dropbear, lab.SudoPassword}
	var specs []lab.HostSpec
	for _, v := range variants {
		specs = append(specs, lab.HostSpec{Name: string(v), Variant: v})
	}
	l := lab.New(t, specs...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	carol := func(h *lab.Host) int {
		r, err := lab.SSH(ctx, h, lab.HumanUserName, l.HumanIdentityFile, "id -un")
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	for _, h := range l.Hosts {
		r, err := lab.SSH(ctx, h, l.AdminUser, l.IdentityFile, "id -un; sudo -n id -u")
		wantAdmin := h.Variant != lab.SudoPassword
		if err != nil || (r.Code == 0) != wantAdmin {
			t.Errorf("%s: admin login + sudo: %+v %v", h.Name, r, err)
		}
		switch h.Variant {
		case lab.KeysFile2, lab.EtcKeys, lab.EtcKeysAndHome, lab.MatchUser, lab.MatchGroup, lab.MatchAddress,
			lab.AllowUsers, lab.GroupSudo, lab.Dropbear, lab.NoIncludedir, lab.NoAccountTools:
			if c := carol(h); c != 0 {
				t.Errorf("%s: carol's key login: code %d\n%s", h.Name, c, h.Log())
			}
		case lab.AllowGroups, lab.MissingHome:
			if c := carol(h); c != 255 {
				t.Errorf("%s: carol's key login: code %d, want refused", h.Name, c)
			}
		}
	}
	if r, _ := lab.SSH(ctx, l.Host(string(lab.SudoPassword)), l.AdminUser, l.IdentityFile, "sudo -n true"); !strings.Contains(r.Stderr, "a password is required") || !strings.Contains(r.Stderr, "unable to resolve host") {
		t.Errorf("sudo-password: stderr %q", r.Stderr)
	}
	if out := l.Host(string(lab.GroupSudo)).MustExec(t, "sudo -l -U carol"); !strings.Contains(out, "(ALL : ALL) ALL") {
		t.Errorf("group-sudo: sudo -l -U carol:\n%s", out)
	}
	nid := l.Host(string(lab.NoIncludedir))
	nid.MustExec(t, "echo 'carol ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/carol && chmod 440 /etc/sudoers.d/carol")
	if out := nid.MustExec(t, "sudo -l -U carol"); !strings.Contains(out, "not allowed") {
		t.Errorf("no-includedir: a drop-in granted sudo:\n%s", out)
	}
	dir := l.Host(string(lab.Directory))
	if out := dir.MustExec(t, "getent passwd dora; grep -c '^dora:' /etc/passwd || true; useradd dora 2>&1 || true"); !strings.Contains(out, "dora:x:4242:4242") || !strings.Contains(out, "\n0\n") || !strings.Contains(out, "exists") {
		t.Errorf("directory: %s", out)
	}
	if out := l.Host(string(lab.NoAccountTools)).MustExec(t, "command -v useradd chpasswd groupadd || true; command -v visudo"); strings.TrimSpace(out) != "/usr/sbin/visudo" {
		t.Errorf("no-account-tools: %q", out)
	}
	if out := l.Host(string(lab.SymlinkHome)).MustExec(t, "stat -c %F /home/carol"); out != "symbolic link\n" {
		t.Errorf("symlink-home: %q", out)
	}
	db := l.Host(string(lab.Dropbear))
	if out := db.MustExec(t, "command -v sshd || echo none"); out != "none\n" {
		t.Errorf("dropbear: sshd is there: %q", out)
	}
	// dropbear has no PAM: a locked, expired account still logs in with its key.
	db.MustExec(t, "usermod -L carol && usermod -e 1970-01-02 carol")
	if c := carol(db); c != 0 {
		t.Errorf("dropbear: locked carol's key login: %d (dropbear honours the lock after all?)", c)
	}
	// Password logins where a Match block allows them.
	for _, v := range []lab.Variant{lab.MatchUser, lab.MatchGroup, lab.MatchAddress} {
		h := l.Host(string(v))
		out := h.MustExec(t, "sshd -T -C user=carol,host=x,addr=127.0.0.9 | grep '^passwordauthentication'")
		if out != "passwordauthentication yes\n" {
			t.Errorf("%s: %q", v, out)
		}
	}
}
