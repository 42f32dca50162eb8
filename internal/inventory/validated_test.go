package inventory_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/manifest"
)

// A manifest that went through the loader and validator, as the CLI's does: a host without
// `address` takes HostName, Port and User from ssh_config; what the manifest writes wins
// (issue 11: the validator had filled address = name, hiding HostName).
func TestSSHConfigPrecedenceValidated(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfgFile, []byte(`
Host web-1 web-2 web-3
    HostName 10.0.0.5
    Port 2222
    User deploy
`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, diags := manifest.LoadSources([]manifest.Source{{Name: "access.yaml", Data: []byte(`apiVersion: accessctl/v1
hostGroups:
  - name: web
hosts:
  - name: web-1
    groups: [web]
  - name: web-2
    address: 192.0.2.7
    groups: [web]
  - name: web-3
    port: 22
    user: admin
    groups: [web]
  - name: plain
    groups: [web]
`)}})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	targets, err := inventory.Targets(m, inventory.Options{SSHConfigFile: cfgFile, HomeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		addr string
		port int
		user string
	}
	wants := map[string]want{
		"web-1": {"10.0.0.5", 2222, "deploy"},
		"web-2": {"192.0.2.7", 2222, "deploy"},
		"web-3": {"10.0.0.5", 22, "admin"},
		"plain": {"plain", 22, ""},
	}
	for _, tg := range targets {
		w := wants[tg.Name]
		if tg.Err != nil {
			t.Errorf("%s: %v", tg.Name, tg.Err)
			continue
		}
		got := want{tg.Address, tg.Port, tg.User}
		if w.user == "" {
			got.user = "" // the local user name: not this test's business
		}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", tg.Name, got, w)
		}
	}
}
