// Command checkgen writes the manifest of BenchmarkCheckFleet (cmd/accessctl/bench_test.go) to a
// file, so the built binary's peak memory can be measured on exactly that input:
//
//	go run ./bench/checkgen -users 10000 -hosts 2000 -out /tmp/fleet.yaml
//	BENCH_PW=Correct-Horse-Battery-9-Staple /usr/bin/time -v accessctl check -f /tmp/fleet.yaml --format json >/dev/null
//
// The shape is the benchmark's: two ed25519 key pairs per user (the second bound with from= and
// expires), one user in seven with sudo, one in ten with a password from $BENCH_PW and one in ten
// with a hash, host groups of 50 users, hosts spread over the groups. Keep it in step with
// writeFleetManifest there.
package main

import (
	"crypto/ed25519"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

func main() {
	users := flag.Int("users", 10000, "users (two key pairs each)")
	hosts := flag.Int("hosts", 2000, "hosts")
	out := flag.String("out", "fleet.yaml", "output file")
	flag.Parse()
	s, err := manifest(*users, *hosts)
	if err == nil {
		err = os.WriteFile(*out, []byte(s), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkgen:", err)
		os.Exit(1)
	}
}

func manifest(users, hosts int) (string, error) {
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
	return b.String(), nil
}
