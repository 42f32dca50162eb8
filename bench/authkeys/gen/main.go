// Command gen writes a signed benchmark snapshot of N users (u000000 …), each with one ed25519
// key line with from= and expiry-time= options, as `accessctl snapshot` would render them. It
// goes through snapshot.Encode directly: the point is the reader's cost, and a 100,000-user
// manifest would mostly measure the YAML loader and the policies.
//
//	go run ./bench/authkeys/gen -users 100000 -sign-key KEY -out snap.json
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/snapshot"
)

func main() {
	n := flag.Int("users", 100, "number of users")
	signKey := flag.String("sign-key", "", "ed25519 private key file to sign with")
	out := flag.String("out", "snapshot.json", "output file")
	flag.Parse()
	if err := gen(*n, *signKey, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func gen(n int, signKey, out string) error {
	var signer *snapshot.Signer
	if signKey != "" {
		data, err := os.ReadFile(signKey)
		if err != nil {
			return err
		}
		if signer, err = snapshot.ParseSigningKey(data); err != nil {
			return err
		}
	}
	s := &snapshot.Snapshot{Host: "bench-1", GeneratedAt: time.Now(), ManifestDigest: "sha256:bench"}
	for i := range n {
		// Distinct, valid ed25519 public keys, derived so runs are reproducible.
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		seed = sha256.Sum256(seed[:])
		pk, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed[:]).Public())
		if err != nil {
			return err
		}
		name := fmt.Sprintf("u%06d", i)
		line := fmt.Sprintf(`from="10.0.0.0/8",expiry-time="20991231" %s %s@laptop`,
			strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), name)
		s.Users = append(s.Users, snapshot.User{Name: name, State: snapshot.StatePresent,
			Keys: []snapshot.Key{{Keypair: name + "-laptop", Line: line, Expires: "2099-12-31"}}})
	}
	data, err := snapshot.Encode(s, signer)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}
