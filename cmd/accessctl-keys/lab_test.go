package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/snapshot"
	"github.com/accessctl/accessctl/internal/snapshot/compile"
)

// TestRealSSHD proves pull mode against a real sshd (issue 5, item 4): the built binary is
// sshd's AuthorizedKeysCommand on a lab host, run as nobody from a root-owned path, and the real
// ssh client logs in, or is refused, through it.
func TestRealSSHD(t *testing.T) {
	bin := buildKeys(t)
	l := lab.New(t, lab.HostSpec{Name: "pull-1"})
	h := l.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	keys := map[string]string{}
	pubs := map[string]string{}
	for _, name := range []string{"alice", "bob", "erin", "mallory", "signer"} {
		p := filepath.Join(l.Dir, "id_"+name)
		if _, err := lab.GenerateKey(p, name+"@test"); err != nil {
			t.Fatal(err)
		}
		pub, err := os.ReadFile(p + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		keys[name], pubs[name] = p, strings.TrimSpace(string(pub))
	}
	keys[l.AdminUser] = l.IdentityFile
	doc := `apiVersion: accessctl/v1
keypairs:
  - {name: alice-key, publicKey: "` + pubs["alice"] + `"}
  - {name: bob-key, publicKey: "` + pubs["bob"] + `"}
  - {name: erin-key, publicKey: "` + pubs["erin"] + `"}
users:
  - name: alice
    keypairs:
      - keypair: alice-key
        from: [127.0.0.0/8]
        expires: 2099-12-31
  - name: bob
    state: locked
    keypairs: [bob-key]
  - name: erin
    keypairs:
      - keypair: erin-key
        expires: 2020-01-31
hostGroups:
  - name: pull
    users: [alice, bob, erin]
hosts:
  - {name: pull-1, address: ` + h.Addr + `, user: labadmin, groups: [pull]}
`
	m, diags := manifest.LoadSources([]manifest.Source{{Name: "access.yaml", Data: []byte(doc)}})
	if len(diags) > 0 {
		t.Fatalf("manifest: %v", diags)
	}
	snap, err := compile.Build(m, "pull-1", time.Now(), "sha256:test")
	if err != nil {
		t.Fatal(err)
	}
	signKey, err := os.ReadFile(keys["signer"])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := snapshot.ParseSigningKey(signKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := snapshot.Encode(snap, signer)
	if err != nil {
		t.Fatal(err)
	}

	// The host: users with no authorized_keys file, the binary at a root-owned path (a tmpfs over
	// /usr/local/sbin in this host's mount namespace only), the snapshot and its key in
	// /etc/accessctl, and the two sshd lines in a drop-in.
	h.MustExec(t, `set -e
for u in alice bob erin; do useradd -m -s /bin/bash "$u"; done
mount -t tmpfs -o mode=0755 accessctl-test /usr/local/sbin
install -o root -g root -m 0755 `+bin+` /usr/local/sbin/accessctl-keys
install -d -o root -g root -m 0755 /etc/accessctl
`)
	writeSnapshot := func(data []byte) {
		t.Helper()
		if err := h.WriteFile("/etc/accessctl/snapshot.json", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSnapshot(signed)
	if err := h.WriteFile("/etc/accessctl/snapshot.pub", []byte(pubs["signer"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile("/etc/ssh/sshd_config.d/40-accessctl-pull.conf", []byte(
		"AuthorizedKeysCommand /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub %u\n"+
			"AuthorizedKeysCommandUser nobody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.MustExec(t, `sshd -t && kill -HUP "$(cat /run/sshd.pid)"`)
	waitLogin(t, ctx, l, h)
	if out := h.MustExec(t, "sshd -T | grep -i '^authorizedkeyscommand'"); !strings.Contains(out, "/usr/local/sbin/accessctl-keys") || !strings.Contains(out, "authorizedkeyscommanduser nobody") {
		t.Fatalf("sshd -T does not show the plug-in:\n%s", out)
	}

	login := func(user, key string) lab.Result {
		t.Helper()
		r, err := lab.SSH(ctx, h, user, keys[key], "id -un; test -e ~/.ssh/authorized_keys && echo HAS-FILE; true")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mustLogin := func(what, user, key string) {
		t.Helper()
		if r := login(user, key); r.Code != 0 || r.Stdout != user+"\n" {
			t.Errorf("%s: ssh %s with %s's key: %+v\nsshd log:\n%s", what, user, key, r, tail(h.Log()))
		}
	}
	mustRefuse := func(what, user, key string) {
		t.Helper()
		if r := login(user, key); r.Code != 255 {
			t.Errorf("%s: ssh %s with %s's key: want refused (255), got %+v", what, user, key, r)
		}
	}

	// A key that is only in the snapshot logs in; the user has no authorized_keys file.
	mustLogin("signed snapshot", "alice", "alice")
	// Never another user's key, nor a key nobody bound.
	mustRefuse("another user's key", "alice", "bob")
	mustRefuse("unbound key", "alice", "mallory")
	// Locked in the snapshot (the account itself is not locked on the host).
	mustRefuse("locked user", "bob", "bob")
	// A binding past its expiry.
	mustRefuse("expired binding", "erin", "erin")
	// The plug-in itself drops the expired line, not only sshd's expiry-time option: run it as
	// sshd does, as nobody.
	if out := h.MustExec(t, "setpriv --reuid=nobody --regid=nogroup --clear-groups env -i /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub erin"); out != "" {
		t.Errorf("accessctl-keys printed an expired binding: %q", out)
	}

	// A tampered snapshot: mallory's key put in alice's entry, bytes for bytes. Refused, and so
	// is alice's own key: a snapshot that does not verify lets nobody in.
	tampered := strings.Replace(string(signed), strings.Fields(pubs["alice"])[1], strings.Fields(pubs["mallory"])[1], 1)
	if tampered == string(signed) {
		t.Fatal("tampering changed nothing")
	}
	writeSnapshot([]byte(tampered))
	mustRefuse("tampered snapshot, injected key", "alice", "mallory")
	mustRefuse("tampered snapshot, real key", "alice", "alice")

	// An unsigned snapshot when the command requires a signature.
	unsigned, err := snapshot.Encode(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeSnapshot(unsigned)
	mustRefuse("unsigned snapshot", "alice", "alice")

	// No snapshot at all.
	h.MustExec(t, "rm /etc/accessctl/snapshot.json")
	mustRefuse("missing snapshot", "alice", "alice")

	// Restored, it works again: the refusals above were the snapshot's doing.
	writeSnapshot(signed)
	mustLogin("restored snapshot", "alice", "alice")
	// And the admin, whose key is in an authorized_keys file, was never affected.
	if r := login(l.AdminUser, l.AdminUser); r.Code != 0 || r.Stdout != l.AdminUser+"\nHAS-FILE\n" {
		t.Errorf("admin via authorized_keys: %+v", r)
	}
}

func waitLogin(t *testing.T, ctx context.Context, l *lab.Lab, h *lab.Host) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := lab.SSH(ctx, h, l.AdminUser, l.IdentityFile, "true")
		if err == nil && r.Code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not come back after reload: %+v %v\n%s", r, err, tail(h.Log()))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
