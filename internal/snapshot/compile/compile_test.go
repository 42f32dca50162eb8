package compile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/snapshot"
)

const keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMBn1bVy3Ljs4jz3ktp0wyOINoBqsl2iDw2Eo1dmwyr alice@laptop"

const keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMjbbCGN/jCwmo8WWVWVSrbYj0qga6x+G7NpvPnFr2MN alice@ci"

const doc = `apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: ` + keyA + `
  - name: alice-ci
    publicKey: ` + keyB + `
users:
  - name: alice
    password: {hash: "$6$saltsalt$secrethashvalue"}
    keypairs:
      - alice-laptop
      - keypair: alice-ci
        from: [10.0.0.0/8, "*.corp.example"]
        expires: 2027-01-31
  - name: bob
    state: locked
    password: {env: BOB_PASSWORD}
    keypairs: [alice-laptop]
  - name: carol
    state: absent
  - name: dave
    keypairs: [alice-laptop]
hostGroups:
  - name: web
    users: [bob, alice, carol]
  - name: db
    users: [dave]
hosts:
  - name: web-1
    address: 10.0.0.5
    user: admin
    groups: [web]
  - name: win-1
    address: 10.0.0.6
    os: windows
    user: admin
    groups: [web]
`

func load(t *testing.T) *manifest.Manifest {
	t.Helper()
	m, diags := manifest.LoadSources([]manifest.Source{{Name: "access.yaml", Data: []byte(doc)}})
	if len(diags) > 0 {
		t.Fatalf("invalid test manifest: %v", diags)
	}
	return m
}

func TestBuild(t *testing.T) {
	m := load(t)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s, err := Build(m, "web-1", now, "sha256:ab")
	if err != nil {
		t.Fatal(err)
	}
	want := &snapshot.Snapshot{Host: "web-1", GeneratedAt: now, ManifestDigest: "sha256:ab", Users: []snapshot.User{
		{Name: "alice", State: "present", Keys: []snapshot.Key{
			{Keypair: "alice-laptop", Line: keyA},
			{Keypair: "alice-ci", Line: `from="10.0.0.0/8,*.corp.example",expiry-time="20270131" ` + keyB, Expires: "2027-01-31"},
		}},
		{Name: "bob", State: "locked", Keys: []snapshot.Key{}},
		{Name: "carol", State: "absent", Keys: []snapshot.Key{}},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("Build:\n got %+v\nwant %+v", s, want)
	}
	data, err := snapshot.Encode(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"$6$", "secrethash", "BOB_PASSWORD", "password", "dave"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("snapshot contains %q:\n%s", secret, data)
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	m := load(t)
	if _, err := Build(m, "nope", time.Now(), ""); !errors.Is(err, ErrUnknownHost) {
		t.Errorf("unknown host: %v", err)
	}
	if _, err := Build(m, "win-1", time.Now(), ""); err == nil || !strings.Contains(err.Error(), "Windows") {
		t.Errorf("windows host: %v", err)
	}
}

func TestKeyLine(t *testing.T) {
	for _, b := range []manifest.Binding{
		{From: []string{`10.0.0.0/8" command="sh`}},
		{Expires: "2027-1-1"},
	} {
		if l, err := KeyLine(b, keyA); err == nil {
			t.Errorf("%+v rendered %q", b, l)
		}
	}
	if _, err := KeyLine(manifest.Binding{}, keyA+"\n"+keyA); err == nil {
		t.Errorf("two lines accepted")
	}
	if _, err := KeyLine(manifest.Binding{}, `command="x" `+keyA); err == nil {
		t.Errorf("key with options accepted")
	}
}

func TestSourceDigest(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte("ab"), 0o644)
	os.WriteFile(b, []byte("c"), 0o644)
	d1, err := SourceDigest([]string{a, b})
	if err != nil || !strings.HasPrefix(d1, "sha256:") {
		t.Fatal(d1, err)
	}
	os.WriteFile(a, []byte("a"), 0o644)
	os.WriteFile(b, []byte("bc"), 0o644)
	if d2, _ := SourceDigest([]string{a, b}); d2 == d1 {
		t.Errorf("moving a byte between files kept the digest")
	}
	if _, err := SourceDigest([]string{filepath.Join(dir, "none")}); err == nil {
		t.Errorf("missing file digested")
	}
}
