package inventory

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Run calls fn once for every target, at most parallel at a time (parallel < 1 means 1), each
// with its own context that ends after perHostTimeout (0: no limit of its own). A target with Err
// is not run; its Err is its result. A failing or panicking fn never stops the others. When ctx
// ends, targets not yet started fail with ctx's error.
//
// The result has an entry for every target: nil for success. progress, if not nil, is called
// after each target finishes, never concurrently, with the counts so far.
func Run(ctx context.Context, targets []Target, parallel int, perHostTimeout time.Duration,
	fn func(context.Context, Target) error, progress func(done, total, failed int)) map[string]error {
	if parallel < 1 {
		parallel = 1
	}
	results := make(map[string]error, len(targets))
	var mu sync.Mutex
	done, failed := 0, 0
	finish := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		results[name] = err
		done++
		if err != nil {
			failed++
		}
		if progress != nil {
			progress(done, len(targets), failed)
		}
	}

	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, t := range targets {
		if t.Err != nil {
			finish(t.Name, t.Err)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			finish(t.Name, fmt.Errorf("%s: not started: %w", t.Name, ctx.Err()))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			finish(t.Name, runOne(ctx, t, perHostTimeout, fn))
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, t Target, timeout time.Duration, fn func(context.Context, Target) error) (err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: internal error: %v\n%s", t.Name, p, debug.Stack())
		}
	}()
	err = fn(ctx, t)
	if err != nil && ctx.Err() == context.DeadlineExceeded && timeout > 0 {
		err = fmt.Errorf("%s: timed out after %s (--timeout): %w", t.Name, timeout, err)
	}
	return err
}

// Errors gathers the failures of a Run, ordered by host name, into one *multierror.Error;
// nil when every host succeeded.
func Errors(results map[string]error) error {
	names := make([]string, 0, len(results))
	for n, err := range results {
		if err != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var all *multierror.Error
	for _, n := range names {
		all = multierror.Append(all, results[n])
	}
	return all.ErrorOrNil()
}
