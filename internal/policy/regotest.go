package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"
)

// RunTests runs Rego unit tests (test_* rules), as `accessctl policy test [DIR]...` does: those
// of the embedded policies when dirs is empty, else the .rego (and data) files under dirs.
// Modules compile in strict mode, as for check. Results are written to w, failures always in
// detail, passes too when verbose. err is for what kept tests from running (a parse or compile
// error); a failing test only counts in failed.
func RunTests(ctx context.Context, dirs []string, w io.Writer, verbose bool) (passed, failed int, err error) {
	modules := map[string]*ast.Module{}
	var store storage.Store
	if len(dirs) == 0 {
		mods, err := embeddedModules(true)
		if err != nil {
			return 0, 0, err
		}
		for _, m := range mods {
			modules[m.Package.Location.File] = m
		}
	} else {
		modules, store, err = tester.Load(dirs, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("load policies: %w", err)
		}
	}
	if len(modules) == 0 {
		return 0, 0, errors.New("no policies found")
	}
	runner := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithStrict(true).WithDefaultRegoVersion(ast.RegoV1).WithEnablePrintStatements(true)).
		SetModules(modules).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true)
	if store != nil {
		runner.SetStore(store)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("compile policies: %w", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	// Tests finish in any order; report them in source order.
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return cmp.Or(cmp.Compare(a.Location.File, b.Location.File), cmp.Compare(a.Location.Row, b.Location.Row))
	})
	sorted := make(chan *tester.Result, len(results))
	for _, r := range results {
		switch {
		case r.Pass():
			passed++
		case r.Skip:
		default:
			failed++
		}
		sorted <- r
	}
	close(sorted)
	rep := tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}
	if err := rep.Report(sorted); err != nil {
		return passed, failed, fmt.Errorf("report tests: %w", err)
	}
	return passed, failed, nil
}
