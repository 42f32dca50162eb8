package policy

import (
	"context"
	"crypto/ed25519"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
)

// sharedEngine compiles the embedded policies once for all tests of the package.
var sharedEngine = sync.OnceValues(func() (*Engine, error) { return New(context.Background(), nil) })

func engine(t testing.TB) *Engine {
	t.Helper()
	e, err := sharedEngine()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// seededKey is a deterministic ed25519 public key line: cheap, and equal seeds give equal keys.
func seededKey(t testing.TB, seed uint64, comment string) string {
	t.Helper()
	var s [ed25519.SeedSize]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	s[31] = 0xac
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s[:]).Public())
	if err != nil {
		t.Fatal(err)
	}
	return authorizedLine(pub, comment)
}

func authorizedLine(pub ssh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func ptr[T any](v T) *T { return &v }

// findingsOf returns the findings of one rule.
func findingsOf(fs []Finding, rule string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// positionsFor writes every entity of m at a distinct line of access.yaml, as the loader would.
func positionsFor(m *manifest.Manifest) {
	m.Files = []string{"access.yaml"}
	m.Positions = map[string]manifest.Pos{}
	line := 1
	put := func(path string, col int) {
		line++
		m.Positions[path] = manifest.Pos{File: "access.yaml", Line: line, Column: col}
	}
	put("keypairs", 1)
	for i := range m.Keypairs {
		p := "keypairs[" + itoa(i) + "]"
		put(p, 5)
		put(p+".name", 11)
		put(p+".publicKey", 16)
	}
	put("users", 1)
	for i, u := range m.Users {
		p := "users[" + itoa(i) + "]"
		put(p, 5)
		put(p+".name", 11)
		if u.UID != nil {
			put(p+".uid", 10)
		}
		if u.Password != nil {
			put(p+".password", 5)
		}
	}
	put("hostGroups", 1)
	for i, g := range m.HostGroups {
		p := "hostGroups[" + itoa(i) + "]"
		put(p, 5)
		put(p+".users", 5)
		if g.Sshd != nil {
			put(p+".sshd", 5)
			if g.Sshd.PermitRootLogin != nil {
				put(p+".sshd.permitRootLogin", 7)
			}
			if g.Sshd.PasswordAuthentication != nil {
				put(p+".sshd.passwordAuthentication", 7)
			}
		}
	}
	put("hosts", 1)
	for i, h := range m.Hosts {
		p := "hosts[" + itoa(i) + "]"
		put(p, 5)
		if h.User != "" {
			put(p+".user", 5)
		}
	}
	for i := range m.Policy.Exceptions {
		put("policy.exceptions["+itoa(i)+"]", 7)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
