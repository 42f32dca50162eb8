package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// The closing JSON report of apply counts every host that failed, was rolled back or was not
// read (issue 11: a rolled-back host exited 3 with "hostsFailed": 0).
func TestFinishApplyCountsRolledBack(t *testing.T) {
	change := []reconcile.Change{{Action: reconcile.Create, Resource: "user", Name: "alice"}}
	p := reconcile.NewPlan([]*reconcile.HostPlan{
		{Name: "ok-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "rb-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "fail-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "same-1", Status: reconcile.StatusOK},
		{Name: "down-1", Status: reconcile.StatusError, Error: "connection refused"},
	})
	results := map[string]reconcile.Result{
		"ok-1":   {Outcome: reconcile.Applied},
		"rb-1":   {Outcome: reconcile.RolledBack, Err: errors.New("fresh login failed")},
		"fail-1": {Outcome: reconcile.Failed, Err: errors.New("timed out")},
	}
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.finishApply(&fleetOptions{format: "json"}, p, results)
	if code != exitHost {
		t.Errorf("exit %d, want %d", code, exitHost)
	}
	var rep struct {
		Hosts   []struct{ Name, Status, Error string }
		Summary struct {
			HostsFailed int `json:"hostsFailed"`
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Summary.HostsFailed != 3 {
		t.Errorf("hostsFailed = %d, want 3 (rolled back, failed, not read)\n%s", rep.Summary.HostsFailed, stdout.String())
	}
	want := map[string]string{"ok-1": "applied", "rb-1": "rolled back", "fail-1": "failed", "same-1": "ok", "down-1": "error"}
	for _, h := range rep.Hosts {
		if h.Status != want[h.Name] {
			t.Errorf("%s: status %q, want %q", h.Name, h.Status, want[h.Name])
		}
	}
}
