package main

import (
	"fmt"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// settleApply writes what happened to every host of p into its status and error, and makes the
// plan's summary the apply's: HostsFailed counts every host that was not read, failed, or was
// rolled back (SPEC'd for apply --format json). errs gets a line for each host not read.
func settleApply(p *reconcile.Plan, results map[string]reconcile.Result, errs map[string]error) (applied, failed int) {
	for _, h := range p.Hosts {
		switch {
		case h.Status != reconcile.StatusOK:
			failed++
			errs[h.Name] = fmt.Errorf("%s: not read: %s", h.Name, h.Error)
		case len(h.Changes) == 0:
		default:
			r, ok := results[h.Name]
			if !ok {
				r = reconcile.Result{Outcome: reconcile.Failed, Err: errs[h.Name]}
			}
			if r.Outcome == reconcile.Applied {
				applied++
				h.Status = string(reconcile.Applied)
				continue
			}
			failed++
			h.Status = string(r.Outcome)
			if r.Err != nil {
				h.Error = r.Err.Error()
			} else if e := errs[h.Name]; e != nil {
				h.Error = e.Error()
			}
		}
	}
	p.Summary.HostsFailed = failed
	return applied, failed
}
