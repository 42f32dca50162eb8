// Package fleetgen generates the synthetic manifest the check benchmark runs on, so the Go
// benchmark (cmd/accessctl BenchmarkCheckFleet) and the peak-memory measurement of the built binary
// (bench/checkgen) use exactly the same input. It is test and benchmark support only.
package fleetgen

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// PasswordEnv is the environment variable the generated passwords are read from.
const PasswordEnv = "BENCH_PW"

// Manifest returns a manifest of users (two ed25519 key pairs each, the second bound with from=
// and expires; one in seven with sudo; one in ten with a password from $BENCH_PW and one in ten
// with a hash), host groups of 50 users, and hosts spread over the groups. Keys come from fixed
// seeds, so the output is the same on every run.
func Manifest(users, hosts int) (string, error) {
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\nkeypairs:\n")
	seed := make([]byte, ed25519.SeedSize)
	for i := 0; i < users*2; i++ {
		binary.LittleEndian.PutUint64(seed, uint64(i)+1)
		pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
		if err != nil {
			return "", err
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
			fmt.Fprintf(&b, "    password: {env: %s}\n", PasswordEnv)
		case 1:
			b.WriteString("    password: {hash: \"$6$salt$abcdefghijklmnopqrstuv\"}\n")
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
		fmt.Fprintf(&b, "  - name: h%d\n    address: 10.%d.%d.%d\n    user: admin\n    groups: [g%d]\n", h, h>>16&255, h>>8&255, h&255, h%max(groups, 1))
	}
	return b.String(), nil
}
