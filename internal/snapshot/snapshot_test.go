package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMBn1bVy3Ljs4jz3ktp0wyOINoBqsl2iDw2Eo1dmwyr alice@laptop"

// testKey returns a new ed25519 signer and the content of its private key file and .pub file.
func testKey(t testing.TB) (*Signer, []byte, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(block)
	s, err := ParseSigningKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return s, pemBytes, ssh.MarshalAuthorizedKey(s.PublicKey())
}

func sample() *Snapshot {
	return &Snapshot{
		Host:           "web-1",
		GeneratedAt:    time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		ManifestDigest: "sha256:00",
		Users: []User{
			{Name: "carol", State: StateAbsent, Keys: []Key{}},
			{Name: "alice", State: StatePresent, Keys: []Key{
				{Keypair: "alice-laptop", Line: keyA},
				{Keypair: "alice-ci", Line: `from="10.0.0.0/8",expiry-time="20270131" ` + keyA, Expires: "2027-01-31"},
			}},
			{Name: "bob", State: StateLocked, Keys: []Key{{Keypair: "bob", Line: keyA}}},
		},
	}
}

func manyUsers(n int) *Snapshot {
	s := &Snapshot{Host: "big", GeneratedAt: time.Unix(0, 0), ManifestDigest: "sha256:11"}
	for i := range n {
		s.Users = append(s.Users, User{Name: fmt.Sprintf("u%06d", i), State: StatePresent,
			Keys: []Key{{Keypair: fmt.Sprintf("k%d", i), Line: keyA + fmt.Sprintf("-%d", i)}}})
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	signer, _, _ := testKey(t)
	for _, sg := range []*Signer{nil, signer} {
		s := sample()
		data, err := Encode(s, sg)
		if err != nil {
			t.Fatal(err)
		}
		var vk ssh.PublicKey
		if sg != nil {
			vk = sg.PublicKey()
		}
		got, err := Decode(data, vk)
		if err != nil {
			t.Fatalf("signed=%v: %v\n%s", sg != nil, err, data)
		}
		want := sample()
		want.Users = []User{want.Users[1], want.Users[2], want.Users[0]} // sorted by name
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		// The file is plain JSON too: any JSON tool can read it.
		if !bytes.HasPrefix(data, []byte(`{"formatVersion":"1",`)) || !jsonValid(data) {
			t.Errorf("not a JSON document with formatVersion first:\n%s", data)
		}
	}
}

func TestLookupManyBuckets(t *testing.T) {
	const n = 3*BucketSize + 7
	data, err := Encode(manyUsers(n), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.h.Buckets) != 4 {
		t.Fatalf("%d buckets", len(r.h.Buckets))
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("u%06d", i)
		u, err := r.Lookup(name)
		if err != nil || u == nil || u.Name != name || u.Keys[0].Line != keyA+fmt.Sprintf("-%d", i) {
			t.Fatalf("Lookup(%s) = %+v, %v", name, u, err)
		}
	}
	// Names before, between and after the users are absent, never a neighbour.
	for _, name := range []string{"a", "u", "u0000001", "u000000a", "u0000010", "zed", "u000512x"} {
		if u, err := r.Lookup(name); err != nil || u != nil {
			t.Errorf("Lookup(%s) = %+v, %v; want absent", name, u, err)
		}
	}
}

func TestEmptySnapshot(t *testing.T) {
	data, err := Encode(&Snapshot{Host: "h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(data, nil)
	if err != nil || len(s.Users) != 0 {
		t.Fatalf("%+v %v\n%s", s, err, data)
	}
}

func TestEncodeRefuses(t *testing.T) {
	for name, u := range map[string]User{
		"bad name":    {Name: "Alice", State: StatePresent},
		"quote":       {Name: `a"b`, State: StatePresent},
		"state":       {Name: "a", State: "gone"},
		"newline key": {Name: "a", State: StatePresent, Keys: []Key{{Line: keyA + "\nssh-ed25519 AAAA x"}}},
		"bad expiry":  {Name: "a", State: StatePresent, Keys: []Key{{Line: keyA, Expires: "2027-13-01"}}},
	} {
		if _, err := Encode(&Snapshot{Host: "h", Users: []User{u}}, nil); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := Encode(&Snapshot{Host: "h", Users: []User{{Name: "a", State: StatePresent}, {Name: "a", State: StatePresent}}}, nil); err == nil {
		t.Errorf("duplicate user encoded")
	}
}

func TestSignatures(t *testing.T) {
	signer, _, _ := testKey(t)
	other, _, _ := testKey(t)
	signed, err := Encode(sample(), signer)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := Encode(sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(data []byte, vk ssh.PublicKey, name string) (*User, error) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), vk)
		if err != nil {
			return nil, err
		}
		return r.Lookup(name)
	}
	if u, err := lookup(signed, signer.PublicKey(), "alice"); err != nil || u == nil {
		t.Fatalf("signed, right key: %+v %v", u, err)
	}
	// Without a verify key, a signed snapshot reads (the signature is not checked).
	if _, err := lookup(signed, nil, "alice"); err != nil {
		t.Errorf("signed, no key: %v", err)
	}
	cases := map[string]struct {
		data []byte
		vk   ssh.PublicKey
		want string
	}{
		"wrong key":        {signed, other.PublicKey(), "not by the verify key"},
		"unsigned":         {unsigned, signer.PublicKey(), "not signed"},
		"tampered header":  {bytes.Replace(signed, []byte(`"host":"web-1"`), []byte(`"host":"web-2"`), 1), signer.PublicKey(), "does not verify"},
		"tampered user":    {bytes.Replace(signed, []byte(`"keypair":"bob"`), []byte(`"keypair":"eve"`), 1), signer.PublicKey(), "digest mismatch"},
		"unlocked user":    {bytes.Replace(signed, []byte(`"name":"bob","state":"locked"`), []byte(`"name":"bob","state":"present"`), 1), signer.PublicKey(), "header says"},
		"swapped key line": {bytes.Replace(signed, []byte("alice@laptop"), []byte("mallory@evil"), 1), signer.PublicKey(), "digest mismatch"},
		"forged fp":        {bytes.Replace(signed, []byte(ssh.FingerprintSHA256(signer.PublicKey())), []byte(ssh.FingerprintSHA256(other.PublicKey())), 1), other.PublicKey(), "does not verify"},
		"bad format":       {bytes.Replace(signed, []byte(`"format":"ssh-ed25519"`), []byte(`"format":"ssh-rsa"`), 1), signer.PublicKey(), "signature format"},
	}
	for name, c := range cases {
		u, err := lookup(c.data, c.vk, "alice")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %+v, %v; want error containing %q", name, u, err, c.want)
		}
	}
	// A tampered bucket is caught even without a verify key (integrity, not authenticity).
	if _, err := lookup(cases["tampered user"].data, nil, "bob"); err == nil || !errors.Is(err, ErrMalformed) {
		t.Errorf("tampered, unsigned read: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	if _, err := ParseVerifyKey([]byte("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDL x")); err == nil {
		t.Errorf("rsa verify key accepted")
	}
	if _, err := ParseVerifyKey([]byte("garbage")); err == nil {
		t.Errorf("garbage verify key accepted")
	}
	if _, err := ParseSigningKey([]byte(keyA)); err == nil {
		t.Errorf("public key accepted as a signing key")
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "c", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSigningKey(pem.EncodeToMemory(block)); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key: %v", err)
	}
}

func TestAuthorizedLinesExpiry(t *testing.T) {
	u := sample().Users[1]
	loc := time.FixedZone("X", 5*3600)
	for _, c := range []struct {
		now  time.Time
		want int
	}{
		{time.Date(2027, 1, 30, 12, 0, 0, 0, loc), 2},
		{time.Date(2027, 1, 31, 23, 59, 59, 0, loc), 2}, // the last day is valid to its end
		{time.Date(2027, 2, 1, 0, 0, 0, 0, loc), 1},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, loc), 1},
	} {
		if got := u.AuthorizedLines(c.now); len(got) != c.want || got[0] != keyA {
			t.Errorf("at %v: %q", c.now, got)
		}
	}
	for _, s := range []string{StateLocked, StateAbsent} {
		v := u
		v.State = s
		if got := v.AuthorizedLines(time.Now()); got != nil {
			t.Errorf("%s user: %q", s, got)
		}
	}
	var none *User
	if none.AuthorizedLines(time.Now()) != nil {
		t.Errorf("nil user has lines")
	}
}

func TestMalformed(t *testing.T) {
	good, err := Encode(sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":          {},
		"not json":       []byte("hello\n"),
		"version 2":      bytes.Replace(good, []byte(`"formatVersion":"1"`), []byte(`"formatVersion":"2"`), 1),
		"truncated":      good[:len(good)-5],
		"trailing":       append(append([]byte{}, good...), '\n'),
		"reformatted":    bytes.ReplaceAll(good, []byte(",\n"), []byte(", \n")),
		"unknown field":  bytes.Replace(good, []byte(`"users":3,`), []byte(`"users":3,"x":1,`), 1),
		"lying count":    bytes.Replace(good, []byte(`"users":3,"usersLength"`), []byte(`"users":4,"usersLength"`), 1),
		"header null":    bytes.Replace(good, []byte(`"header":{`), []byte(`"header":null,"h":{`), 1),
		"no users line":  bytes.Replace(good, []byte("\"users\":[\n"), []byte("\"users\": [\n"), 1),
		"signature junk": bytes.Replace(good, []byte(`"signature":null`), []byte(`"signature":{"format":1}`), 1),
	}
	for name, data := range cases {
		if s, err := Decode(data, nil); err == nil {
			t.Errorf("%s: decoded %+v", name, s)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil), MaxFileSize+1, nil); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized: %v", err)
	}
}

func TestValidUserName(t *testing.T) {
	for _, n := range []string{"a", "_x", "alice", "a-b_c9", strings.Repeat("a", 32)} {
		if !ValidUserName(n) {
			t.Errorf("%q rejected", n)
		}
	}
	for _, n := range []string{"", "Alice", "9a", "-a", "a.b", "a b", "a/b", `a"`, "a\n", strings.Repeat("a", 33), "é"} {
		if ValidUserName(n) {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestAuthorizedKeysCommand(t *testing.T) {
	dir := t.TempDir()
	signer, _, pub := testKey(t)
	data, err := Encode(sample(), signer)
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "snapshot.json")
	pubFile := filepath.Join(dir, "snapshot.pub")
	_, _, otherPub := testKey(t)
	otherFile := filepath.Join(dir, "other.pub")
	for p, d := range map[string][]byte{snap: data, pubFile: pub, otherFile: otherPub} {
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.Local) // alice-ci has expired
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := AuthorizedKeys(args, &out, &errb, now)
		return out.String(), errb.String(), code
	}
	cases := []struct {
		args    []string
		out     string
		code    int
		errWant string
	}{
		{[]string{"--snapshot", snap, "--verify-key", pubFile, "alice"}, keyA + "\n", 0, "1 of 2 keys past their expiry"},
		{[]string{"--snapshot", snap, "alice"}, keyA + "\n", 0, ""},
		{[]string{"--snapshot", snap, "--verify-key", pubFile, "bob"}, "", 0, "bob is locked on web-1"},
		{[]string{"--snapshot", snap, "--verify-key", pubFile, "carol"}, "", 0, "carol is absent"},
		{[]string{"--snapshot", snap, "--verify-key", pubFile, "root"}, "", 0, "root is not desired on web-1"},
		{[]string{"--snapshot", snap, "--verify-key", otherFile, "alice"}, "", 1, "not by the verify key"},
		{[]string{"--snapshot", snap, "--verify-key", filepath.Join(dir, "nope.pub"), "alice"}, "", 1, "no such file"},
		{[]string{"--snapshot", filepath.Join(dir, "missing.json"), "alice"}, "", 1, "accessctl-keys: error: snapshot"},
		{[]string{"--snapshot", dir, "alice"}, "", 1, "not a regular file"},
		{[]string{"--snapshot", pubFile, "alice"}, "", 1, "not an accessctl snapshot"},
		{[]string{"--snapshot", snap, "../alice"}, "", 1, "invalid user name"},
		{[]string{"--snapshot", snap}, "", 4, "exactly one USER"},
		{[]string{"--snapshot", snap, "alice", "bob"}, "", 4, "exactly one USER"},
		{[]string{"--bogus", "alice"}, "", 4, "unknown flag --bogus"},
	}
	for _, c := range cases {
		out, errs, code := run(c.args...)
		if out != c.out || code != c.code || !strings.Contains(errs, c.errWant) {
			t.Errorf("%q: code %d stdout %q stderr %q; want code %d stdout %q stderr ~ %q", c.args, code, out, errs, c.code, c.out, c.errWant)
		}
		if code != 0 && out != "" {
			t.Errorf("%q: printed on failure", c.args)
		}
	}
	// The default path is the documented one.
	if _, errs, code := run("alice"); code != 1 || !strings.Contains(errs, DefaultPath) && !strings.Contains(errs, "snapshot") {
		t.Errorf("default path: %d %q", code, errs)
	}
}

func jsonValid(b []byte) bool {
	var v any
	return strictUnmarshal(bytes.TrimSuffix(b, []byte("\n")), &v) == nil
}

// FuzzSnapshot feeds arbitrary bytes to the reader: it must never panic, and whatever it accepts
// must answer every lookup the same way the full decode does.
func FuzzSnapshot(f *testing.F) {
	good, _ := Encode(sample(), nil)
	many, _ := Encode(manyUsers(BucketSize+3), nil)
	empty, _ := Encode(&Snapshot{Host: "h"}, nil)
	f.Add(good)
	f.Add(many)
	f.Add(empty)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"formatVersion":"1",` + "\n" + `"header":{},` + "\n" + `"signature":null,` + "\n" + `"users":[` + "\n]}\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data, nil)
		if err != nil {
			return
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			t.Fatalf("Decode accepted what NewReader refuses: %v", err)
		}
		for _, u := range s.Users {
			got, err := r.Lookup(u.Name)
			if err != nil || got == nil || !reflect.DeepEqual(*got, u) {
				t.Fatalf("Lookup(%s) = %+v, %v; Decode has %+v", u.Name, got, err, u)
			}
		}
		// What decodes re-encodes to the same users.
		again, err := Encode(s, nil)
		if err != nil {
			t.Fatalf("decoded snapshot does not re-encode: %v", err)
		}
		s2, err := Decode(again, nil)
		if err != nil || !reflect.DeepEqual(s2.Users, s.Users) {
			t.Fatalf("re-encode changed the users: %v", err)
		}
	})
}
