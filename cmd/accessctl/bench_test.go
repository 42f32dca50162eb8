package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/accessctl/accessctl/internal/fleetgen"
)

// writeFleetManifest writes fleetgen's manifest of users and hosts to dir/access.yaml.
func writeFleetManifest(tb testing.TB, dir string, users, hosts int) string {
	tb.Helper()
	s, err := fleetgen.Manifest(users, hosts)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkCheckFleet is `accessctl check` end to end (load, validate, policy input, all rules,
// JSON report) on 10,000 users, 20,000 key pairs and 2,000 hosts. Goal: < 1 s, < 500 MB.
func BenchmarkCheckFleet(b *testing.B) {
	path := writeFleetManifest(b, b.TempDir(), 10000, 2000)
	b.Setenv(fleetgen.PasswordEnv, "Correct-Horse-Battery-9-Staple")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := run([]string{"check", "-f", path, "--format", "json"}, nil, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("check exited %d", code)
		}
	}
}
