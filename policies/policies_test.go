package policies_test

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/policy"
	"github.com/accessctl/accessctl/policies"
)

// Every rule file has its unit tests beside it (STYLE: Rego like code).
func TestEveryRuleFileHasTests(t *testing.T) {
	names, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	rules := 0
	for _, n := range names {
		if strings.HasSuffix(n, "_test.rego") {
			continue
		}
		rules++
		if !have[strings.TrimSuffix(n, ".rego")+"_test.rego"] {
			t.Errorf("%s has no %s_test.rego beside it", n, strings.TrimSuffix(n, ".rego"))
		}
	}
	if rules == 0 {
		t.Fatal("no embedded rule files")
	}
}

// The embedded policies compile in strict mode and pass their Rego unit tests.
func TestRegoUnitTests(t *testing.T) {
	if _, err := policy.New(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	passed, failed, err := policy.RunTests(context.Background(), nil, &out, false)
	if err != nil || failed > 0 || passed == 0 {
		t.Fatalf("%d passed, %d failed, err %v\n%s", passed, failed, err, out.String())
	}
}
