package fleetgen

import (
	"testing"

	"github.com/accessctl/accessctl/internal/manifest"
)

// TestManifestIsValid keeps the benchmark input a valid manifest of the announced size.
func TestManifestIsValid(t *testing.T) {
	s, err := Manifest(120, 7)
	if err != nil {
		t.Fatal(err)
	}
	m, diags := manifest.LoadSources([]manifest.Source{{Name: "fleet.yaml", Data: []byte(s)}})
	if len(diags) > 0 {
		t.Fatalf("generated manifest is invalid: %v", diags[0])
	}
	if len(m.Users) != 120 || len(m.Keypairs) != 240 || len(m.Hosts) != 7 || len(m.HostGroups) != 3 {
		t.Errorf("sizes: %d users, %d key pairs, %d hosts, %d groups", len(m.Users), len(m.Keypairs), len(m.Hosts), len(m.HostGroups))
	}
}
