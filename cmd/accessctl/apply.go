package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
	"github.com/accessctl/accessctl/internal/transport"
)

func init() {
	register("apply", "plan, confirm, and change the hosts (each host all or nothing)", runApply)
}

func runApply(c *cli, args []string) int {
	fs := c.newFlags("apply", "[-f PATH]... [-i FILE] [--limit GLOB] [--parallel N] [--plan FILE] [--yes] [--format text|json]",
		"Plan, show the plan, ask, and apply it. Each host is changed as one transaction: on any failure,\n"+
			"or when accessctl cannot log in again afterwards, the host is restored. Exit 0: applied (or no\n"+
			"changes); 1: invalid, denied or stale plan, nothing changed; 3: a host failed; 4: usage.")
	var o fleetOptions
	o.bind(fs)
	planFile := fs.String("plan", "", "apply this saved plan `FILE` (from plan --out); refused when a host changed since")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("apply takes no arguments (got %q)", fs.Arg(0))
		return exitUsage
	}
	var saved *reconcile.Plan
	if *planFile != "" {
		p, err := readPlanFile(*planFile)
		if err != nil {
			c.errorf("read --plan: %v", err)
			return exitUsage
		}
		saved = p
	}
	ctx := context.Background()
	run, code := c.planFleet(ctx, &o, true)
	if code != exitOK {
		return code
	}
	defer run.close()
	p := run.plan
	if saved != nil {
		if stale := staleHosts(saved, p); len(stale) > 0 {
			c.errorf("stale plan: %s changed since the plan was made; nothing was applied", strings.Join(stale, ", "))
			c.hintf("run accessctl plan --out again and review it")
			return exitInvalid
		}
		p = onlyHosts(p, saved)
	}
	if o.format == "text" {
		if err := report.RenderPlan(c.stdout, "text", p); err != nil {
			c.errorf("%v", err)
			return exitHost
		}
	}
	c.showFindings(run)
	if run.denied {
		c.errorf("the plan was denied by policy; nothing was applied")
		return exitInvalid
	}
	if !p.HasChanges() {
		if o.format == "json" {
			_ = report.RenderPlan(c.stdout, "json", p)
		}
		if p.Summary.HostsFailed > 0 {
			return exitHost
		}
		return exitOK
	}
	if !*yes && saved == nil {
		ok, code := c.confirm(p)
		if !ok {
			return code
		}
	}

	now := time.Now()
	var toApply []inventory.Target
	byName := map[string]*reconcile.HostPlan{}
	for _, h := range p.Hosts {
		byName[h.Name] = h
		if h.Status == reconcile.StatusOK && len(h.Changes) > 0 {
			toApply = append(toApply, run.targets[h.Name])
		}
	}
	var mu sync.Mutex
	results := map[string]reconcile.Result{}
	prog := c.progress("applied")
	errs := inventory.Run(ctx, toApply, o.parallel, o.timeout, func(ctx context.Context, t inventory.Target) error {
		r := c.applyTarget(ctx, run, t, byName[t.Name], now)
		mu.Lock()
		results[t.Name] = r
		mu.Unlock()
		if r.Err != nil {
			return fmt.Errorf("%s: %s: %w", t.Name, r.Outcome, r.Err)
		}
		return nil
	}, prog)
	c.progressDone(prog)

	applied, failed := settleApply(p, results, errs)
	if o.format == "json" {
		_ = report.RenderPlan(c.stdout, "json", p)
	} else {
		for _, h := range p.Hosts {
			if len(h.Changes) > 0 && h.Status != reconcile.StatusError {
				fmt.Fprintf(c.stdout, "host %s: %s\n", h.Name, h.Status)
			}
		}
		fmt.Fprintf(c.stdout, "Apply: %d hosts applied, %d unchanged, %d failed.\n", applied, len(p.Hosts)-applied-failed, failed)
	}
	if err := inventory.Errors(errs); err != nil {
		for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
			if line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*")); line != "" && !strings.HasSuffix(line, "occurred:") {
				c.errorf("%s", line)
			}
		}
	}
	if failed > 0 {
		return exitHost
	}
	return exitOK
}

// applyTarget applies one host over the connection its plan was read on (or a new one).
func (c *cli) applyTarget(ctx context.Context, run *fleetRun, t inventory.Target, hp *reconcile.HostPlan, now time.Time) reconcile.Result {
	run.mu.Lock()
	conn := run.conns[t.Name]
	run.mu.Unlock()
	if conn == nil {
		d, err := c.dial(ctx, run.winrm, t)
		if err != nil {
			return reconcile.Result{Host: t.Name, Outcome: reconcile.Failed, Err: err}
		}
		conn = d.conn
		run.mu.Lock()
		run.conns[t.Name] = conn
		run.mu.Unlock()
	}
	redial := func(ctx context.Context) (transport.Conn, error) {
		d, err := c.dial(ctx, run.winrm, t)
		if err != nil {
			return nil, err
		}
		return d.conn, nil
	}
	return reconcile.ApplyHost(ctx, hp, conn, redial, now)
}

// confirm asks on the terminal; with no terminal it refuses (exit 4: --yes is needed).
func (c *cli) confirm(p *reconcile.Plan) (bool, int) {
	in, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		c.errorf("refusing to apply without --yes: there is no terminal to ask for confirmation")
		c.hintf("review the plan, then run apply --yes (or apply --plan FILE with a saved plan)")
		return false, exitUsage
	}
	fmt.Fprintf(c.stderr, "\nApply %d changes to %d hosts? Only 'yes' is accepted: ",
		p.Summary.Create+p.Summary.Update+p.Summary.Delete, countChanged(p))
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		c.errorf("apply cancelled; nothing was changed")
		return false, exitInvalid
	}
	return true, exitOK
}

func countChanged(p *reconcile.Plan) int {
	n := 0
	for _, h := range p.Hosts {
		if len(h.Changes) > 0 {
			n++
		}
	}
	return n
}

// onlyHosts keeps the hosts of fresh that the saved plan covers.
func onlyHosts(fresh, saved *reconcile.Plan) *reconcile.Plan {
	keep := map[string]bool{}
	for _, h := range saved.Hosts {
		keep[h.Name] = true
	}
	var hs []*reconcile.HostPlan
	for _, h := range fresh.Hosts {
		if keep[h.Name] {
			hs = append(hs, h)
		}
	}
	return reconcile.NewPlan(hs)
}
