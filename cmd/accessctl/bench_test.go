package main

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// writeFleetManifest writes a manifest of users, 2 key pairs each, and hosts in groups of 50 users.
// One user in ten has a password from the environment (set by the caller), one in ten a hash.
func writeFleetManifest(tb testing.TB, dir string, users, hosts int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\nkeypairs:\n")
	seed := make([]byte, ed25519.SeedSize)
	for i := 0; i < users*2; i++ {
		binary.LittleEndian.PutUint64(seed, uint64(i)+1)
		pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
		if err != nil {
			tb.Fatal(err)
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
		fmt.Fprintf(&b, "  - name: k%d\n    publicKey: %s u%d@laptop\n", i, line, i/2)
	}
	b.WriteString("users:\n")
	for i := 0; i < users; i++ {
		fmt.Fprintf(&b, "  - name: u%d\n    uid: %d\n    sudo: %v\n    keypairs:\n      - k%d\n      - keypair: k%d\n        from: [10.0.0.0/8]\n        expires: 2099-01-31\n",
			i, 10000+i, i%7 == 0, 2*i, 2*i+1)
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "    password: {env: BENCH_PW}\n")
		case 1:
			fmt.Fprintf(&b, "    password: {hash: \"$6$salt$abcdefghijklmnopqrstuv\"}\n")
		}
	}
	groups := (users + 49) / 50
	b.WriteString("hostGroups:\n")
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "  - name: g%d\n    sshd: {passwordAuthentication: false, permitRootLogin: \"no\"}\n    users: [", g)
		for i := g * 50; i < min(users, (g+1)*50); i++ {
			if i > g*50 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "u%d", i)
		}
		b.WriteString("]\n")
	}
	b.WriteString("hosts:\n")
	for h := 0; h < hosts; h++ {
		fmt.Fprintf(&b, "  - name: h%d\n    address: 10.%d.%d.%d\n    user: admin\n    groups: [g%d]\n", h, h>>16&255, h>>8&255, h&255, h%groups)
	}
	path := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkCheckFleet is `accessctl check` end to end (load, validate, policy input, all rules,
// JSON report) on 10,000 users, 20,000 key pairs and 2,000 hosts. Goal: < 1 s, < 500 MB.
func BenchmarkCheckFleet(b *testing.B) {
	path := writeFleetManifest(b, b.TempDir(), 10000, 2000)
	b.Setenv("BENCH_PW", "Correct-Horse-Battery-9-Staple")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := run([]string{"check", "-f", path, "--format", "json"}, nil, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("check exited %d", code)
		}
	}
}
