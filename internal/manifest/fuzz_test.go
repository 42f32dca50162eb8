package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds any bytes to the loader: it must not panic, must finish quickly, and every
// diagnostic must name the file and a line >= 1. Seeds: the good and bad corpora.
// Run: go test -fuzz=FuzzLoad ./internal/manifest
func FuzzLoad(f *testing.F) {
	for _, kind := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join(corpusDir, kind, "*.yaml"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("apiVersion: accessctl/v1\nusers: [{name: a, keypairs: [{keypair: k, from: [\"::1\"]}]}]\n"))
	f.Add([]byte("apiVersion: accessctl/v1\n<<: {users: []}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		m, diags := LoadSources([]Source{{Name: "fuzz.yaml", Data: data}})
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("load took %v", d)
		}
		if m == nil {
			t.Fatal("nil manifest")
		}
		for _, d := range diags {
			if d.Pos.File != "fuzz.yaml" || d.Pos.Line < 1 || d.Pos.Column < 1 {
				t.Errorf("diagnostic without a full position: %+v", d)
			}
			if d.Message == "" || strings.ContainsAny(d.Message, "\n\r\x00") {
				t.Errorf("bad message: %q", d.Message)
			}
		}
		if len(diags) == 0 {
			// A valid manifest has every default filled in.
			for _, h := range m.Hosts {
				if h.Port == 0 || h.Transport == "" || h.OS == "" {
					t.Errorf("defaults not filled: %+v", h)
				}
			}
		}
	})
}
