package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// forbidden are what the lean plug-in must not link: the YAML decoders, the OPA engine, and
// the manifest loader that would bring YAML back in.
var forbidden = []string{"yaml", "open-policy-agent", "internal/manifest", "internal/policy"}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// buildKeys builds accessctl-keys once per test binary (static, as docs/pull-mode.md says to
// ship it) and returns its path.
func buildKeys(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "accessctl-keys-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "accessctl-keys")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestLinksNeitherYAMLNorOPA(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(pkg, f) {
				t.Errorf("accessctl-keys depends on %s", pkg)
			}
		}
	}
	// And what the linker actually put in the binary.
	mods, err := exec.Command("go", "version", "-m", buildKeys(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, mods)
	}
	for _, f := range []string{"yaml", "open-policy-agent"} {
		if bytes.Contains(mods, []byte(f)) {
			t.Errorf("the binary links %s:\n%s", f, mods)
		}
	}
}

// TestBinary runs the built binary the way sshd does: a minimal environment, one argument.
func TestBinary(t *testing.T) {
	bin := buildKeys(t)
	cmd := exec.Command(bin, "--snapshot", filepath.Join(t.TempDir(), "missing.json"), "alice")
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("missing snapshot: %v", err)
	}
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), "accessctl-keys: error: snapshot ") {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}
