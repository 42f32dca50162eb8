package policy

import (
	"crypto/dsa" //nolint:staticcheck // ssh-dss keys must still be recognised to be refused
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"runtime"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
)

// keyFacts describes one public key line for the policies: type, bits, SHA256 fingerprint.
// A certificate is described by the key it certifies (and "certificate": true), so the rules
// judge the key, and a key and its certificate count as the same key.
func keyFacts(line string) map[string]any {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return map[string]any{"valid": false}
	}
	d := map[string]any{"valid": true}
	if cert, ok := pub.(*ssh.Certificate); ok {
		pub = cert.Key
		d["certificate"] = true
	}
	d["type"] = pub.Type()
	d["fingerprint"] = ssh.FingerprintSHA256(pub)
	d["bits"] = keyBits(pub)
	return d
}

// keyBits is the key size as ssh-keygen -l reports it; 0 when unknown.
func keyBits(pub ssh.PublicKey) int {
	cpk, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	switch k := cpk.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	case *dsa.PublicKey:
		return k.P.BitLen()
	}
	return 0
}

// keyFactsAll parses every key pair's public key, spread over the CPUs for large manifests.
func keyFactsAll(kps []manifest.Keypair) []map[string]any {
	out := make([]map[string]any, len(kps))
	parallel(len(kps), func(i int) { out[i] = keyFacts(kps[i].PublicKey) })
	return out
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines; small n runs inline.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/64+1)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Go(func() {
			for i := start; i < end; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}
