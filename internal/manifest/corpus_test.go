package manifest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the .want files of the bad manifest corpus (review the diff by hand)")

// corpusDir holds the shared corpus of good and bad manifests (also used by the schema
// agreement test and the CLI scripts).
const corpusDir = "../../testdata/manifests"

func corpusFiles(t testing.TB, kind string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, kind, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests under %s/%s", corpusDir, kind)
	}
	return files
}

// loadFile loads one corpus file under its base name, so diagnostics read "name.yaml:3:5: ...".
func loadFile(t testing.TB, path string) (*Manifest, []Diagnostic) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return LoadSources([]Source{{Name: filepath.Base(path), Data: data}})
}

func diagLines(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}

// TestGoodCorpus: every good manifest loads without a single diagnostic.
func TestGoodCorpus(t *testing.T) {
	for _, f := range corpusFiles(t, "good") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, diags := loadFile(t, f)
			if len(diags) > 0 {
				t.Errorf("want no diagnostics, got:\n%s", diagLines(diags))
			}
		})
	}
}

// TestBadCorpus: every bad manifest gives exactly the diagnostics of its .want file, each with a
// file, a line and a column, fast.
func TestBadCorpus(t *testing.T) {
	for _, f := range corpusFiles(t, "bad") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			start := time.Now()
			_, diags := loadFile(t, f)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("loading took %v", d)
			}
			if len(diags) == 0 {
				t.Fatal("want diagnostics, got none")
			}
			for _, d := range diags {
				if d.Pos.File == "" || d.Pos.Line < 1 || d.Pos.Column < 1 {
					t.Errorf("diagnostic without a full position: %q", d)
				}
			}
			got := diagLines(diags)
			wantFile := strings.TrimSuffix(f, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBadCorpus -update, then review the file)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n got:\n%s\nwant:\n%s", filepath.Base(wantFile), got, want)
			}
		})
	}
}

// TestBadCorpusHasWant: no stray .want without its manifest.
func TestBadCorpusHasWant(t *testing.T) {
	wants, _ := filepath.Glob(filepath.Join(corpusDir, "bad", "*.want"))
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want") + ".yaml"); err != nil {
			t.Errorf("%s has no manifest", w)
		}
	}
}
