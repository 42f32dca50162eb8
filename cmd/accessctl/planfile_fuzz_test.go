package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
)

// FuzzReadPlanFile: a saved plan (apply --plan FILE) may have been edited or forged. Whatever it
// holds, reading it, comparing it with a fresh plan (stale-plan check), selecting its hosts and
// rendering it never panic.
// Run longer: go test -run '^$' -fuzz '^FuzzReadPlanFile$' -fuzztime 5m ./cmd/accessctl
func FuzzReadPlanFile(f *testing.F) {
	if b, err := os.ReadFile("../../internal/reconcile/testdata/plan_fixture.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"formatVersion":"1","hosts":[{"name":"web-1","status":"ok","error":"","changes":[{"action":"create","resource":"user","name":"alice","reason":"..."}],"fingerprint":"sha256:00"}],"summary":{"create":1,"update":0,"delete":0,"hostsFailed":0}}`))
	f.Add([]byte(`{"formatVersion":"1","hosts":[null,{"name":"a","status":"ok"},{"name":"a","status":"error"}]}`))
	f.Add([]byte(`{"formatVersion":"1","hosts":[{"name":"a","status":"ok","changes":[null,{}]}]}`))
	f.Add([]byte(`{"formatVersion":"2"}`))
	f.Add([]byte(`[]`))
	fresh := reconcile.NewPlan([]*reconcile.HostPlan{
		{Name: "a", Status: reconcile.StatusOK, Fingerprint: "sha256:00", Changes: []reconcile.Change{{Action: reconcile.Create, Resource: reconcile.ResUser, Name: "alice"}}},
		{Name: "web-1", Status: reconcile.StatusError, Error: "down"},
	})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		saved, err := readPlanFile(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_ = staleHosts(saved, fresh)
		_ = staleHosts(fresh, saved)
		sel := onlyHosts(fresh, saved)
		for _, format := range []string{"text", "json"} {
			var b strings.Builder
			_ = report.RenderPlan(&b, format, saved)
			_ = report.RenderPlan(&b, format, sel)
		}
	})
}
