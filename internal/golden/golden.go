// Package golden compares test output with files under testdata/ and rewrites them when the test
// binary runs with -update. A change to a generated remote script or a parsed host state is then a
// reviewed diff of a file. Test support only.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Update is the -update flag of the test binary that imports this package.
var Update = flag.Bool("update", false, "rewrite golden files")

// Check compares got with testdata/name, or writes it there under -update.
func Check(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\n--- got\n%s", name, got)
	}
}
