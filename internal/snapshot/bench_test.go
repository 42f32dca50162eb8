package snapshot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLookup measures one AuthorizedKeysCommand call minus process start: open the file,
// read and verify the header, hash one bucket, decode one user, print. Run with
// `go test -bench Lookup -benchmem ./internal/snapshot`; bench/authkeys/run.sh adds process start.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		signer, _, pub := testKey(b)
		data, err := Encode(manyUsers(n), signer)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		snap := filepath.Join(dir, "snapshot.json")
		pubFile := filepath.Join(dir, "snapshot.pub")
		if err := os.WriteFile(snap, data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
			b.Fatal(err)
		}
		user := fmt.Sprintf("u%06d", n/2+1)
		now := time.Now()
		b.Run(fmt.Sprintf("users=%d/signed", n), func(b *testing.B) {
			b.ReportMetric(float64(len(data)), "file-bytes")
			for b.Loop() {
				if code := AuthorizedKeys([]string{"--snapshot", snap, "--verify-key", pubFile, user}, io.Discard, io.Discard, now); code != 0 {
					b.Fatal(code)
				}
			}
		})
		b.Run(fmt.Sprintf("users=%d/unsigned-absent", n), func(b *testing.B) {
			for b.Loop() {
				if code := AuthorizedKeys([]string{"--snapshot", snap, "nobody"}, io.Discard, io.Discard, now); code != 0 {
					b.Fatal(code)
				}
			}
		})
	}
}

// BenchmarkEncode is the compile side: `accessctl snapshot` for a host with n users.
func BenchmarkEncode(b *testing.B) {
	signer, _, _ := testKey(b)
	s := manyUsers(100_000)
	for b.Loop() {
		if _, err := Encode(s, signer); err != nil {
			b.Fatal(err)
		}
	}
}
