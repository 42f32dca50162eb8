package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
)

func TestBuildInputNeverHoldsPlaintext(t *testing.T) {
	const envSecret = "Correct-Horse-9-Battery"
	const fileSecret = "Fil3-Secret_Pass!word"
	const hash = "$6$rounds=5000$salt$hashvalue"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bob.pw"), []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Dir:        dir,
		Users: []manifest.User{
			{Name: "alice", FullName: "Alice Liu", Password: &manifest.Password{Env: "ALICE_PW"}},
			{Name: "bob", Password: &manifest.Password{File: "bob.pw"}},
			{Name: "carol", Password: &manifest.Password{Hash: hash}},
			{Name: "dave", Password: &manifest.Password{Env: "DAVE_PW"}},
			{Name: "erin", Password: &manifest.Password{File: "missing.pw"}},
		},
	}
	base := &manifest.Manifest{
		Dir:   dir,
		Users: []manifest.User{{Name: "bob", Password: &manifest.Password{File: "bob.pw"}}},
	}
	in, err := BuildInput(m, base, InputOptions{
		Today:     time.Date(2026, 5, 1, 23, 0, 0, 0, time.UTC),
		LookupEnv: env(map[string]string{"ALICE_PW": envSecret}),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, secret := range []string{envSecret, fileSecret, "Correct-Horse", "Fil3-Secret"} {
		if strings.Contains(js, secret) {
			t.Errorf("policy input holds plaintext %q:\n%s", secret, js)
		}
	}

	users := in["manifest"].(map[string]any)["users"].([]any)
	pw := func(i int) map[string]any { return users[i].(map[string]any)["password"].(map[string]any) }
	alice := pw(0)
	if alice["source"] != "env" {
		t.Errorf("alice source = %v", alice["source"])
	}
	want := map[string]any{"length": 23, "lower": true, "upper": true, "digit": true, "special": true, "containsName": false}
	st := alice["strength"].(map[string]any)
	for k, v := range want {
		if st[k] != v {
			t.Errorf("alice strength[%s] = %v, want %v", k, st[k], v)
		}
	}
	if s, _ := st["score"].(int); s < 3 {
		t.Errorf("alice score = %v, want >= 3", st["score"])
	}
	if bob := pw(1); bob["source"] != "file" || bob["strength"].(map[string]any)["length"] != len(fileSecret) {
		t.Errorf("bob password = %v", bob)
	}
	// A hash has no strength, and only its source is given.
	if carol := pw(2); len(carol) != 1 || carol["source"] != "hash" || strings.Contains(js, hash) {
		t.Errorf("carol password = %v", carol)
	}
	if dave := pw(3); dave["unreadable"] != "environment variable DAVE_PW is not set" || dave["strength"] != nil {
		t.Errorf("dave password = %v", dave)
	}
	if erin := pw(4); !strings.Contains(erin["unreadable"].(string), "missing.pw") {
		t.Errorf("erin password = %v", erin)
	}
	if in["today"] != "2026-05-01" {
		t.Errorf("today = %v", in["today"])
	}
	basePw := in["base"].(map[string]any)["users"].([]any)[0].(map[string]any)["password"].(map[string]any)
	if len(basePw) != 1 || basePw["source"] != "file" {
		t.Errorf("base password = %v, want only its source", basePw)
	}
}

func TestBuildInputDefaults(t *testing.T) {
	m := &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Users: []manifest.User{{
			Name:     "alice",
			UID:      ptr(2001),
			Keypairs: []manifest.Binding{{Keypair: "a"}, {Keypair: "b", From: []string{"10.0.0.0/8"}, Expires: "2027-01-31"}},
		}},
		HostGroups: []manifest.HostGroup{{Name: "web", Users: []string{"alice"}}},
		Hosts: []manifest.Host{
			{Name: "l", OS: "linux"},
			{Name: "w", OS: "windows"},
			{Name: "ws", OS: "windows", Transport: "ssh"},
			{Name: "p", OS: "linux", Port: 2222},
		},
		Policy: manifest.Policy{Settings: map[string]any{"minPasswordLength": 16, "custom": []any{"x"}}},
	}
	in, err := BuildInput(m, nil, InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	var got struct {
		Manifest struct {
			Users []struct {
				Sudo, State string
				UID         *int
				Groups      []string
				Keypairs    []map[string]any
			}
			HostGroups []struct {
				Sshd *map[string]any
				Keys string
			}
			Hosts []struct {
				Port      int
				Transport string
			}
			Keypairs []any
		}
		Base     any
		Live     any
		Plan     any
		Settings map[string]any
		Facts    struct{ PrivateKeyPaths []string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	u := got.Manifest.Users[0]
	if u.Sudo != "false" || u.State != "present" || u.UID == nil || *u.UID != 2001 || u.Groups == nil {
		t.Errorf("user defaults: %+v", u)
	}
	if len(u.Keypairs) != 2 || u.Keypairs[0]["keypair"] != "a" || u.Keypairs[0]["from"] == nil || u.Keypairs[0]["expires"] != nil ||
		u.Keypairs[1]["expires"] != "2027-01-31" {
		t.Errorf("bindings: %v", u.Keypairs)
	}
	if g := got.Manifest.HostGroups[0]; g.Sshd != nil || g.Keys != "push" {
		t.Errorf("group: %+v", g)
	}
	wantHosts := []struct {
		port int
		tr   string
	}{{22, "ssh"}, {5986, "winrm"}, {22, "ssh"}, {2222, "ssh"}}
	for i, w := range wantHosts {
		if h := got.Manifest.Hosts[i]; h.Port != w.port || h.Transport != w.tr {
			t.Errorf("hosts[%d] = %+v, want %v", i, h, w)
		}
	}
	if got.Manifest.Keypairs == nil || got.Facts.PrivateKeyPaths == nil {
		t.Error("lists must never be null")
	}
	if got.Base != nil || got.Live != nil || got.Plan != nil {
		t.Error("base, live and plan must be null when not given")
	}
	if got.Settings["minPasswordLength"] != float64(16) || got.Settings["minRSABits"] != float64(2048) || got.Settings["custom"] == nil {
		t.Errorf("settings: %v", got.Settings)
	}
	if in["settings"].(map[string]any)["minPasswordLength"] != 16 {
		t.Errorf("whole-number settings must stay ints for sprintf %%d: %T", in["settings"].(map[string]any)["minPasswordLength"])
	}
}

func TestKeyFacts(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	cases := []struct {
		key  any
		typ  string
		bits int
	}{
		{&rsa1024.PublicKey, "ssh-rsa", 1024},
		{&rsa2048.PublicKey, "ssh-rsa", 2048},
		{edPub, "ssh-ed25519", 256},
		{&p256.PublicKey, "ecdsa-sha2-nistp256", 256},
		{&p384.PublicKey, "ecdsa-sha2-nistp384", 384},
		{&p521.PublicKey, "ecdsa-sha2-nistp521", 521},
	}
	for _, c := range cases {
		pub, err := ssh.NewPublicKey(c.key)
		if err != nil {
			t.Fatal(err)
		}
		f := keyFacts(authorizedLine(pub, "someone@host"))
		if f["valid"] != true || f["type"] != c.typ || f["bits"] != c.bits || f["fingerprint"] != ssh.FingerprintSHA256(pub) {
			t.Errorf("%s: facts %v, want type %s bits %d", c.typ, f, c.typ, c.bits)
		}
		if _, ok := f["certificate"]; ok {
			t.Errorf("%s: not a certificate: %v", c.typ, f)
		}
	}

	// A certificate is judged by the key it certifies.
	_, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(caPriv)
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := ssh.NewPublicKey(&rsa1024.PublicKey)
	cert := &ssh.Certificate{Key: userPub, CertType: ssh.UserCert, KeyId: "alice", ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	f := keyFacts(authorizedLine(cert, ""))
	if f["type"] != "ssh-rsa" || f["bits"] != 1024 || f["certificate"] != true || f["fingerprint"] != ssh.FingerprintSHA256(userPub) {
		t.Errorf("certificate facts: %v", f)
	}

	for _, bad := range []string{"", "ssh-ed25519", "ssh-ed25519 !!!notbase64", "-----BEGIN OPENSSH PRIVATE KEY-----"} {
		if f := keyFacts(bad); len(f) != 1 || f["valid"] != false {
			t.Errorf("keyFacts(%q) = %v, want only valid:false", bad, f)
		}
	}
}

func TestStrength(t *testing.T) {
	cases := []struct {
		pw, name, full string
		want           map[string]any
	}{
		{"pässwörd", "bob", "", map[string]any{"length": 8, "lower": true, "upper": false, "digit": false, "special": false, "containsName": false}},
		{"xxALICE42!", "alice", "", map[string]any{"length": 10, "upper": true, "lower": true, "digit": true, "special": true, "containsName": true}},
		{"with space", "x_y", "", map[string]any{"special": true, "containsName": false}},
		{"", "alice", "", map[string]any{"length": 0, "lower": false, "score": 0}},
	}
	for _, c := range cases {
		got := strength(c.pw, c.name, c.full)
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("strength(%q)[%s] = %v, want %v", c.pw, k, got[k], v)
			}
		}
	}
	// The user's own names make a password easier to guess.
	plain := strength("LiuAlice2026!", "x", "")["score"].(int)
	named := strength("LiuAlice2026!", "alice", "Alice Liu")["score"].(int)
	if named > plain {
		t.Errorf("score with user inputs %d > without %d", named, plain)
	}
	if s := strength("password1", "x", "")["score"].(int); s >= 3 {
		t.Errorf("score(password1) = %d, want < 3", s)
	}
	// Very long passwords are scored on a prefix, in bounded time.
	long := strings.Repeat("Zq8!vT3#", 200)
	start := time.Now()
	if s := strength(long, "x", "")["length"]; s != 1600 {
		t.Errorf("length = %v", s)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("scoring a long password took %v", d)
	}
}
