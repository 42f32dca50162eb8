package main

import (
	"errors"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// The closing summary of apply counts every host that failed, was rolled back or was not read
// (issue 11: a rolled-back host exited 3 with "hostsFailed": 0).
func TestSettleApplyCountsRolledBack(t *testing.T) {
	change := []reconcile.Change{{Action: reconcile.Create, Resource: "user", Name: "alice"}}
	p := reconcile.NewPlan([]*reconcile.HostPlan{
		{Name: "ok-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "rb-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "fail-1", Status: reconcile.StatusOK, Changes: change},
		{Name: "same-1", Status: reconcile.StatusOK},
		{Name: "down-1", Status: reconcile.StatusError, Error: "connection refused"},
	})
	if p.Summary.HostsFailed != 1 {
		t.Fatalf("plan summary: %+v", p.Summary)
	}
	results := map[string]reconcile.Result{
		"ok-1": {Outcome: reconcile.Applied},
		"rb-1": {Outcome: reconcile.RolledBack, Err: errors.New("fresh login failed")},
	}
	errs := map[string]error{"fail-1": errors.New("fail-1: timed out")}
	applied, failed := settleApply(p, results, errs)
	if applied != 1 || failed != 3 || p.Summary.HostsFailed != 3 {
		t.Errorf("applied %d failed %d summary %+v; want 1, 3, hostsFailed 3", applied, failed, p.Summary)
	}
	want := map[string][2]string{
		"ok-1":   {"applied", ""},
		"rb-1":   {"rolled back", "fresh login failed"},
		"fail-1": {"failed", "fail-1: timed out"},
		"same-1": {"ok", ""},
		"down-1": {"error", "connection refused"},
	}
	for _, h := range p.Hosts {
		if got := [2]string{h.Status, h.Error}; got != want[h.Name] {
			t.Errorf("%s: %q, want %q", h.Name, got, want[h.Name])
		}
	}
	if errs["down-1"] == nil {
		t.Error("a host not read gets no error line")
	}
}
