package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real keys (ssh-keygen -t ed25519), used where a valid key line is needed.
const (
	keyAlice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEPk7uuXJLRCZW0yUfe9bHiCE5eh33b7hnWWMFKMNnlX alice@test"
	keyBob   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3N2F52fdS8ZzDkXDgwmju2AZtavsk5/UlpPCd+jJ1T bob@test"
)

func load(t *testing.T, files ...string) (*Manifest, []Diagnostic) {
	t.Helper()
	var srcs []Source
	for i := 0; i+1 < len(files); i += 2 {
		srcs = append(srcs, Source{Name: files[i], Data: []byte(files[i+1])})
	}
	return LoadSources(srcs)
}

func mustLoad(t *testing.T, files ...string) *Manifest {
	t.Helper()
	m, diags := load(t, files...)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diagLines(diags))
	}
	return m
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const positionsManifest = `apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: ` + keyAlice + `
users:
  - name: alice
    uid: 2001
    keypairs:
      - alice-laptop
      - keypair: alice-laptop2
        from: [10.0.0.0/8]
    password:
      env: ALICE_PW
hostGroups:
  - name: web
    users: [alice]
    sshd:
      permitRootLogin: "no"
hosts:
  - name: web-1
    groups: [web]
policy:
  exceptions:
    - rule: root-login
      hostGroup: web
      reason: r
      expires: 2099-01-01
`

func TestPositions(t *testing.T) {
	m, _ := load(t, "a.yaml", positionsManifest)
	cases := []struct {
		path      string
		line, col int
	}{
		{"keypairs", 3, 3},
		{"keypairs[0]", 3, 5},
		{"keypairs[0].name", 3, 11},
		{"keypairs[0].publicKey", 4, 16},
		{"users[0]", 6, 5},
		{"users[0].name", 6, 11},
		{"users[0].uid", 7, 10},
		{"users[0].keypairs[0]", 9, 9},
		{"users[0].keypairs[1]", 10, 9},
		{"users[0].keypairs[1].from[0]", 11, 16},
		{"users[0].password", 13, 7},
		{"users[0].password.env", 13, 12},
		{"hostGroups[0].users[0]", 16, 13},
		{"hostGroups[0].sshd.permitRootLogin", 18, 24},
		{"hosts[0]", 20, 5},
		{"hosts[0].groups[0]", 21, 14},
		{"policy.exceptions[0]", 24, 7},
		{"policy.exceptions[0].expires", 27, 16},
	}
	for _, c := range cases {
		got := m.PositionOf(c.path)
		want := Pos{File: "a.yaml", Line: c.line, Column: c.col}
		if got != want {
			t.Errorf("PositionOf(%q) = %v, want %v", c.path, got, want)
		}
	}
	// A path not written falls back to its nearest written parent.
	if got := m.PositionOf("users[0].password.strength"); got.Line != 13 {
		t.Errorf("fallback to parent: got %v", got)
	}
	if got := m.PositionOf("nowhere[3]"); got.File != "a.yaml" {
		t.Errorf("unknown path: got %v", got)
	}
}

func TestDiagnosticPositions(t *testing.T) {
	_, diags := load(t, "a.yaml", strings.Replace(positionsManifest, "alice-laptop2", "missing", 1))
	if len(diags) != 1 {
		t.Fatalf("want 1 diagnostic, got:\n%s", diagLines(diags))
	}
	if got, want := diags[0].String(), `a.yaml:10:9: user "alice" binds key pair "missing", which is not defined under keypairs`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if diags[0].Path != "users[0].keypairs[1]" {
		t.Errorf("path %q", diags[0].Path)
	}
}

func TestDefaults(t *testing.T) {
	m := mustLoad(t, "a.yaml", `apiVersion: accessctl/v1
users:
  - name: alice
  - name: bob
    keypairs: [k]
keypairs:
  - {name: k, publicKey: "`+keyBob+`"}
hosts:
  - name: lin
  - name: win
    os: windows
  - name: win-ssh
    os: windows
    transport: ssh
  - name: custom
    address: 10.1.2.3
    port: 2222
`)
	type hp struct {
		addr, os, transport string
		port                int
	}
	want := map[string]hp{
		"lin":     {"", "linux", "ssh", 22}, // the inventory resolves it (ssh_config HostName, else the name)
		"win":     {"", "windows", "winrm", 5986},
		"win-ssh": {"", "windows", "ssh", 22},
		"custom":  {"10.1.2.3", "linux", "ssh", 2222},
	}
	for _, h := range m.Hosts {
		got := hp{h.Address, h.OS, h.Transport, h.Port}
		if got != want[h.Name] {
			t.Errorf("host %s: got %+v, want %+v", h.Name, got, want[h.Name])
		}
		if h.Groups == nil {
			t.Errorf("host %s: groups nil", h.Name)
		}
	}
	u := m.Users[0]
	if u.Sudo != SudoNone || u.State != StatePresent || u.Groups == nil || u.Keypairs == nil || u.Password != nil {
		t.Errorf("user defaults: %+v", u)
	}
	if b := m.Users[1].Keypairs; len(b) != 1 || b[0].Keypair != "k" || b[0].From != nil || b[0].Expires != "" {
		t.Errorf("short binding: %+v", b)
	}
	if m.HostGroups == nil || m.Policy.Exceptions == nil || m.Policy.Settings == nil {
		t.Errorf("lists must never be nil: %+v", m)
	}
	if m.APIVersion != APIVersion {
		t.Errorf("apiVersion %q", m.APIVersion)
	}
}

func TestSudoAndPassword(t *testing.T) {
	m := mustLoad(t, "a.yaml", `apiVersion: accessctl/v1
users:
  - {name: a, sudo: false}
  - {name: b, sudo: true}
  - {name: c, sudo: nopasswd}
  - {name: d, password: {env: D_PW}}
  - {name: e, password: {file: e.pw}}
  - {name: f, password: {hash: "$6$salt$abcdefgh"}}
`)
	got := []string{}
	for _, u := range m.Users {
		s := u.Sudo
		if u.Password != nil {
			s += "/" + u.Password.Source()
		}
		got = append(got, s)
	}
	if want := "false true nopasswd false/env false/file false/hash"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

func TestMergeDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "00-base.yaml", "apiVersion: accessctl/v1\nkeypairs:\n  - name: k1\n    publicKey: "+keyAlice+"\nusers:\n  - name: alice\n    keypairs: [k1]\n")
	writeFile(t, dir, "10-more.yml", "apiVersion: accessctl/v1\nkeypairs:\n  - name: k2\n    publicKey: "+keyBob+"\nusers:\n  - name: bob\n    keypairs: [k2, k1]\nhostGroups:\n  - name: g\n    users: [alice, bob]\n")
	writeFile(t, dir, "README.md", "not yaml")
	writeFile(t, dir, ".hidden.yaml", "garbage: [")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, diags, err := Load([]string{dir}, Options{})
	if err != nil || len(diags) > 0 {
		t.Fatalf("err %v, diags:\n%s", err, diagLines(diags))
	}
	if len(m.Files) != 2 || !strings.HasSuffix(m.Files[0], "00-base.yaml") || !strings.HasSuffix(m.Files[1], "10-more.yml") {
		t.Errorf("files %v", m.Files)
	}
	if len(m.Keypairs) != 2 || len(m.Users) != 2 || m.Users[1].Name != "bob" {
		t.Errorf("lists not concatenated: %+v", m)
	}
	if m.Dir != dir {
		t.Errorf("dir %q", m.Dir)
	}
	p := m.PositionOf("users[1].keypairs[1]")
	if !strings.HasSuffix(p.File, "10-more.yml") || p.Line != 7 {
		t.Errorf("position in second file: %v", p)
	}
	p = m.PositionOf("users[0].name")
	if !strings.HasSuffix(p.File, "00-base.yaml") || p.Line != 6 {
		t.Errorf("position in first file: %v", p)
	}
}

func TestMergeDuplicatesNameBothFiles(t *testing.T) {
	_, diags := load(t,
		"a.yaml", "apiVersion: accessctl/v1\nusers:\n  - name: alice\nhostGroups:\n  - name: web\n",
		"b.yaml", "apiVersion: accessctl/v1\nusers:\n  - name: bob\n  - name: alice\nhostGroups:\n  - name: web\n")
	want := `b.yaml:4:11: user "alice" is defined twice: here and at a.yaml:3:11
b.yaml:6:11: host group "web" is defined twice: here and at a.yaml:5:11
`
	if got := diagLines(diags); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestMergeSettingsAndExceptions(t *testing.T) {
	m, diags := load(t,
		"a.yaml", "apiVersion: accessctl/v1\nusers: [{name: alice}]\npolicy:\n  settings: {minPasswordLength: 14}\n  exceptions:\n    - {rule: weak-password, user: alice, reason: r, expires: 2099-01-01}\n",
		"b.yaml", "apiVersion: accessctl/v1\npolicy:\n  settings: {maxRdpUsers: 3, minPasswordLength: 16}\n  exceptions:\n    - {rule: root-user, user: alice, reason: r, expires: 2099-01-01}\n")
	if got := diagLines(diags); got != "b.yaml:3:30: setting \"minPasswordLength\" is set twice (first at a.yaml:4:33)\n" {
		t.Errorf("diagnostics:\n%s", got)
	}
	if m.Policy.Settings["maxRdpUsers"] != 3 || m.Policy.Settings["minPasswordLength"] != 14 {
		t.Errorf("settings %v", m.Policy.Settings)
	}
	if len(m.Policy.Exceptions) != 2 || m.PositionOf("policy.exceptions[1]").File != "b.yaml" {
		t.Errorf("exceptions %+v at %v", m.Policy.Exceptions, m.PositionOf("policy.exceptions[1]"))
	}
}

func TestInventoryReplacesHosts(t *testing.T) {
	dir := t.TempDir()
	man := writeFile(t, dir, "access.yaml", "apiVersion: accessctl/v1\nhostGroups:\n  - name: web\nhosts:\n  - name: old-1\n    groups: [web]\n")
	inv := writeFile(t, dir, "inventory.yaml", "hosts:\n  - name: new-1\n    groups: [web]\n  - name: new-2\n    os: windows\n")
	m, diags, err := Load([]string{man}, Options{Inventory: inv})
	if err != nil || len(diags) > 0 {
		t.Fatalf("err %v diags:\n%s", err, diagLines(diags))
	}
	if len(m.Hosts) != 2 || m.Hosts[0].Name != "new-1" || m.Hosts[1].Port != 5986 {
		t.Errorf("hosts %+v", m.Hosts)
	}
	if p := m.PositionOf("hosts[1]"); p.File != inv || p.Line != 4 {
		t.Errorf("hosts[1] at %v", p)
	}
	// An inventory naming an unknown group is reported in the inventory file.
	bad := writeFile(t, dir, "bad-inventory.yaml", "hosts:\n  - name: h\n    groups: [db]\n")
	_, diags, err = Load([]string{man}, Options{Inventory: bad})
	if err != nil || len(diags) != 1 || diags[0].Pos.File != bad || diags[0].Pos.Line != 3 {
		t.Errorf("err %v diags:\n%s", err, diagLines(diags))
	}
	// A missing inventory is a usage error.
	if _, _, err := Load([]string{man}, Options{Inventory: filepath.Join(dir, "nope.yaml")}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing inventory: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for name, paths := range map[string][]string{
		"missing file": {filepath.Join(dir, "nope.yaml")},
		"empty dir":    {dir},
	} {
		_, _, err := Load(paths, Options{})
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%s: want ErrUsage, got %v", name, err)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, diags := loadFile(t, filepath.Join(corpusDir, "bad", "five_errors.yaml"))
	if len(diags) != 5 {
		t.Fatalf("want 5 diagnostics, got %d:\n%s", len(diags), diagLines(diags))
	}
	lines := map[int]bool{}
	for _, d := range diags {
		lines[d.Pos.Line] = true
	}
	if len(lines) != 5 {
		t.Errorf("want 5 distinct lines:\n%s", diagLines(diags))
	}
}

func TestHugeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 33 MiB")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.yaml")
	var b bytes.Buffer
	b.WriteString("apiVersion: accessctl/v1\nusers:\n")
	for i := 0; b.Len() <= MaxFileSize; i++ {
		fmt.Fprintf(&b, "  - name: user%07d\n    fullName: %s\n", i, strings.Repeat("x", 200))
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, diags, err := Load([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "larger than 32 MiB") || diags[0].Pos.Line != 1 {
		t.Errorf("diags:\n%s", diagLines(diags))
	}
}

// TestLargeValidManifest: a big but legitimate manifest is not mistaken for an alias bomb.
func TestLargeValidManifest(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\nusers:\n")
	const n = 40000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: u%d\n    uid: %d\n    groups: [g1, g2]\n    sudo: true\n", i, 10000+i)
	}
	b.WriteString("hostGroups:\n  - name: all\n    users: [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "u%d", i)
	}
	b.WriteString("]\n")
	start := time.Now()
	m, diags := load(t, "big.yaml", b.String())
	if len(diags) > 0 {
		t.Fatalf("diags (first): %v", diags[0])
	}
	if len(m.Users) != n {
		t.Errorf("users %d", len(m.Users))
	}
	t.Logf("%d users loaded in %v", n, time.Since(start))
}

func TestAliasBombIsFast(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("users: *a11\n")
	start := time.Now()
	_, diags := load(t, "bomb.yaml", b.String())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "alias bomb") {
		t.Errorf("diags:\n%s", diagLines(diags))
	}
}

func TestPlaintextNeverInDiagnostics(t *testing.T) {
	const secret = "Sup3r-Secret-Plaintext!"
	_, diags := loadFile(t, filepath.Join(corpusDir, "bad", "password_plaintext.yaml"))
	if len(diags) == 0 {
		t.Fatal("want diagnostics")
	}
	for _, d := range diags {
		if strings.Contains(d.Message, secret) {
			t.Errorf("plaintext echoed: %s", d)
		}
	}
}

func TestPrivateKeyPaths(t *testing.T) {
	priv := "-----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n  -----END OPENSSH PRIVATE KEY-----"
	m, diags := load(t, "a.yaml", `apiVersion: accessctl/v1
keypairs:
  - name: k
    publicKey: |
      `+strings.ReplaceAll(priv, "\n  ", "\n      ")+`
users:
  # pasted by mistake:
  # -----BEGIN OPENSSH PRIVATE KEY-----
  # b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ
  # -----END OPENSSH PRIVATE KEY-----
  - name: alice
    fullName: "-----BEGIN RSA PRIVATE KEY----- oops"
`)
	got := strings.Join(m.PrivateKeyPaths, " ")
	for _, want := range []string{"keypairs[0].publicKey", "users[0]", "users[0].fullName"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("private key paths %q lack %q", got, want)
		}
	}
	for _, d := range diags {
		if strings.Contains(d.Message, "b3BlbnNzaC1rZXkt") {
			t.Errorf("private key echoed: %s", d)
		}
	}
}
