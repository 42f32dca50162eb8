package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

func samplePlan() *reconcile.Plan {
	return reconcile.NewPlan([]*reconcile.HostPlan{
		{Name: "web-2", Status: reconcile.StatusError, Error: "read host: dial 10.0.0.6:22: connection refused"},
		{Name: "web-1", Status: reconcile.StatusOK, Fingerprint: "sha256:00", Unmanaged: []string{"carol"}, Changes: []reconcile.Change{
			{Action: reconcile.Create, Resource: reconcile.ResUser, Name: "alice", Reason: "alice is not on web-1"},
			{Action: reconcile.Update, Resource: reconcile.ResKeys, Name: "bob", Reason: "authorized_keys for bob: 1 key not in the manifest", Before: "2 keys", After: "1 key"},
			{Action: reconcile.Delete, Resource: reconcile.ResUser, Name: "dave", Reason: "dave is absent in the manifest"},
		}},
		{Name: "web-3", Status: reconcile.StatusOK},
	})
}

func TestRenderPlanGolden(t *testing.T) {
	for _, f := range PlanFormats() {
		var b bytes.Buffer
		if err := RenderPlan(&b, f, samplePlan()); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "plan."+f+".golden")
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs (go test -update):\n%s", path, b.Bytes())
		}
	}
	if err := RenderPlan(&bytes.Buffer{}, "xml", samplePlan()); err == nil {
		t.Error("unknown format accepted")
	}
}
