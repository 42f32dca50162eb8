package policy

import (
	"context"
	"slices"
	"testing"
)

// RuleIDs lists the built-in rules (what `check` reports it ran).
func TestRuleIDs(t *testing.T) {
	e, err := New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := e.RuleIDs()
	for _, want := range []string{"root-user", "weak-password", "lockout", "exception-expired"} {
		if !slices.Contains(ids, want) {
			t.Errorf("RuleIDs() = %v, missing %s", ids, want)
		}
	}
	if slices.Contains(ids, "") || !slices.IsSorted(ids) {
		t.Errorf("RuleIDs() = %v", ids)
	}
}
