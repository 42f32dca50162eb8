package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
	"github.com/accessctl/accessctl/internal/transport"
)

func init() {
	register("apply", "plan, confirm, and change the hosts (each host all or nothing)", runApply)
}

func runApply(c *cli, args []string) int {
	fs := c.newFlags("apply", "[-f PATH]... [-i FILE] [--limit GLOB] [--parallel N] [--plan FILE] [--yes] [--lock-timeout D] [--format text|json]",
		"Plan, show the plan, ask, and apply it. Each host is changed as one transaction: on any failure,\n"+
			"or when accessctl cannot log in again afterwards, the host is restored. The host finishes or\n"+
			"rolls back on its own if accessctl is killed or the connection drops. With --plan FILE, apply\n"+
			"makes exactly the changes in that file (no manifest needed) and refuses hosts that changed since.\n"+
			"Exit 0: applied (or no changes); 1: invalid, denied or stale manifest, nothing changed; 3: a host\n"+
			"failed, was refused or was rolled back; 4: usage.")
	var o fleetOptions
	o.bind(fs)
	planFile := fs.String("plan", "", "apply exactly this saved plan `FILE` (from plan --out); a host whose live state changed since is refused")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", reconcile.DefaultLockTimeout, "wait this long for another apply on the same host to finish")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("apply takes no arguments (got %q)", fs.Arg(0))
		return exitUsage
	}
	if o.lockTimeout <= 0 {
		c.errorf("--lock-timeout %s: want a positive duration", o.lockTimeout)
		return exitUsage
	}
	ctx := context.Background()
	if *planFile != "" {
		return c.applyPlanFile(ctx, &o, *planFile)
	}
	run, code := c.planFleet(ctx, &o, true)
	if code != exitOK {
		return code
	}
	defer run.close()
	p := run.plan
	if o.format == "text" {
		if err := report.RenderPlan(c.stdout, "text", p.Public()); err != nil {
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
			_ = report.RenderPlan(c.stdout, "json", p.Public())
		}
		if p.Summary.HostsFailed > 0 {
			return exitHost
		}
		return exitOK
	}
	if !*yes {
		ok, code := c.confirm(p)
		if !ok {
			return code
		}
	}
	var toApply []inventory.Target
	byName := map[string]*reconcile.HostPlan{}
	for _, h := range p.Hosts {
		byName[h.Name] = h
		if h.Status == reconcile.StatusOK && len(h.Changes) > 0 && !isCloud(h) {
			toApply = append(toApply, run.targets[h.Name])
		}
	}
	cloudsDone := c.applyClouds(ctx, run.clouds, p)
	results := c.applyTargets(ctx, &o, toApply, func(ctx context.Context, t inventory.Target) reconcile.Result {
		hp := byName[t.Name]
		return c.applyTarget(ctx, run, t, hp, hp.Live)
	})
	maps.Copy(results, cloudsDone())
	return c.finishApply(&o, p, results)
}

// applyTargets runs fn on every target in parallel, with progress, and collects the results.
func (c *cli) applyTargets(ctx context.Context, o *fleetOptions, targets []inventory.Target, fn func(context.Context, inventory.Target) reconcile.Result) map[string]reconcile.Result {
	var mu sync.Mutex
	results := map[string]reconcile.Result{}
	prog := c.progress("applied")
	errs := inventory.Run(ctx, targets, o.parallel, o.timeout, func(ctx context.Context, t inventory.Target) error {
		r := fn(ctx, t)
		mu.Lock()
		results[t.Name] = r
		mu.Unlock()
		if r.Err != nil {
			return fmt.Errorf("%s: %s: %w", t.Name, r.Outcome, r.Err)
		}
		return nil
	}, prog)
	c.progressDone(prog)
	for name, err := range errs {
		if _, ok := results[name]; !ok && err != nil {
			results[name] = reconcile.Result{Host: name, Outcome: reconcile.Failed, Err: err}
		}
	}
	return results
}

// finishApply prints every host's end and the summary, whose hostsFailed counts every host that
// failed, was refused or was rolled back; exit 3 when there is one.
func (c *cli) finishApply(o *fleetOptions, p *reconcile.Plan, results map[string]reconcile.Result) int {
	applied, failed := 0, 0
	var errLines []string
	for _, h := range p.Hosts {
		switch {
		case h.Status != reconcile.StatusOK:
			failed++
			errLines = append(errLines, fmt.Sprintf("%s: not read: %s", h.Name, h.Error))
		case len(h.Changes) == 0:
		default:
			r, ok := results[h.Name]
			if !ok {
				r = reconcile.Result{Outcome: reconcile.Failed, Err: fmt.Errorf("not applied")}
			}
			h.Status = string(r.Outcome)
			if r.Outcome == reconcile.Applied {
				applied++
				continue
			}
			failed++
			if r.Err != nil {
				h.Error = r.Err.Error()
			}
			errLines = append(errLines, fmt.Sprintf("%s: %s: %s", h.Name, r.Outcome, h.Error))
		}
	}
	p.Summary.HostsFailed = failed
	if o.format == "json" {
		_ = report.RenderPlan(c.stdout, "json", p.Public())
	} else {
		for _, h := range p.Hosts {
			if len(h.Changes) > 0 && h.Status != reconcile.StatusError {
				fmt.Fprintf(c.stdout, "host %s: %s\n", h.Name, h.Status)
			}
		}
		fmt.Fprintf(c.stdout, "Apply: %d hosts applied, %d unchanged, %d failed.\n", applied, len(p.Hosts)-applied-failed, failed)
	}
	for _, l := range errLines {
		c.errorf("%s", l)
	}
	if failed > 0 {
		return exitHost
	}
	return exitOK
}

// applyTarget applies one host over the connection its plan was read on (or a new one).
func (c *cli) applyTarget(ctx context.Context, run *fleetRun, t inventory.Target, hp *reconcile.HostPlan, live *hoststate.State) reconcile.Result {
	run.mu.Lock()
	conn := run.conns[t.Name]
	d := run.dials[t.Name]
	run.mu.Unlock()
	if conn == nil {
		nd, err := c.dial(ctx, run.winrm, t)
		if err != nil {
			return reconcile.Result{Host: t.Name, Outcome: reconcile.Failed, Err: err}
		}
		conn, d = nd.conn, nd
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
	return reconcile.ApplyHost(ctx, hp, live, conn, redial, reconcile.ApplyOptions{
		Login: d.login, LoginKeys: d.keys, Now: run.now, LookupEnv: c.lookupEnv, Waits: run.waits,
	})
}

// applyPlanFile makes exactly the changes of a saved plan: no manifest is needed; given -f,
// the manifest (and the policies) must be the ones the plan was made from. Each host is read
// again and refused when its live state differs from the plan's.
func (c *cli) applyPlanFile(ctx context.Context, o *fleetOptions, path string) int {
	if o.format != "text" && o.format != "json" {
		c.errorf("--format %q: want text or json", o.format)
		return exitUsage
	}
	pf, err := reconcile.ReadPlanFile(path)
	if err != nil {
		c.errorf("read --plan: %v", err)
		return exitUsage
	}
	if len(o.check.files) > 0 {
		res, code := c.loadAndCheck(ctx, &o.check)
		if code != exitOK {
			return code
		}
		if res.denied {
			_ = c.render(c.stderr, "text", res.findings, res.m.Files)
			c.errorf("the manifest was denied; nothing was applied")
			return exitInvalid
		}
		diff, err := pf.Source.Differs(res.m)
		if err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		if len(diff) > 0 {
			c.errorf("stale plan: the manifest differs from the one %s was made from: %s; nothing was applied", path, strings.Join(diff, ", "))
			c.hintf("run accessctl plan --out again and review it")
			return exitInvalid
		}
		if res.engine.Digest != pf.Source.PolicyDigest {
			c.errorf("stale plan: the policies differ from the ones %s was checked against; nothing was applied", path)
			c.hintf("run accessctl plan --out again and review it")
			return exitInvalid
		}
	}
	p := pf.Plan
	if err := c.attachKeysBinary(o, p); err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	// Reach the hosts the plan changes, as the plan says; ssh_config, known_hosts and keys as
	// the flags say.
	var hosts []manifest.Host
	byName := map[string]*reconcile.HostPlan{}
	for _, h := range p.Hosts {
		if h.Status == reconcile.StatusOK && len(h.Changes) > 0 && h.Apply != nil {
			hosts = append(hosts, h.Apply.Host)
			byName[h.Name] = h
		}
	}
	if o.limit != "" || o.shard != "" {
		c.errorf("--limit and --shard do not apply to --plan: the plan file holds the hosts it was made for")
		return exitUsage
	}
	targets, err := inventory.Targets(&manifest.Manifest{Hosts: hosts}, inventory.Options{
		SSHConfigFile: o.sshConfig, KnownHostsFiles: o.knownHosts, IdentityFiles: o.identities,
		UseAgent:       c.getenv("SSH_AUTH_SOCK") != "" || os.Getenv("SSH_AUTH_SOCK") != "",
		ConnectTimeout: o.connectTimeout, InsecureIgnoreHostKey: o.insecure,
	})
	if err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	if o.format == "text" {
		if err := report.RenderPlan(c.stdout, "text", p.Public()); err != nil {
			c.errorf("%v", err)
			return exitHost
		}
	}
	run := &fleetRun{targets: map[string]inventory.Target{}, conns: map[string]transport.Conn{}, dials: map[string]*dialed{},
		winrm: &o.winrm, now: time.Now(), waits: reconcile.Waits{Lock: o.lockTimeout}}
	defer run.close()
	cloudsDone := c.applyClouds(ctx, c.reopenClouds(p), p)
	results := c.applyTargets(ctx, o, targets, func(ctx context.Context, t inventory.Target) reconcile.Result {
		hp := byName[t.Name]
		d, err := c.dial(ctx, run.winrm, t)
		if err != nil {
			return reconcile.Result{Host: t.Name, Outcome: reconcile.Failed, Err: err}
		}
		run.mu.Lock()
		run.conns[t.Name], run.dials[t.Name] = d.conn, d
		run.mu.Unlock()
		live, err := reconcile.ReadAgain(ctx, d.conn, hp, run.waits)
		if err != nil {
			return reconcile.Result{Host: t.Name, Outcome: reconcile.Failed, Err: err}
		}
		return c.applyTarget(ctx, run, t, hp, live)
	})
	maps.Copy(results, cloudsDone())
	return c.finishApply(o, p, results)
}

// attachKeysBinary gives pull-mode ops that install the plug-in its bytes again, from
// --keys-binary, whose digest must be the planned one (a plan file holds only the digest).
func (c *cli) attachKeysBinary(o *fleetOptions, p *reconcile.Plan) error {
	var po *reconcile.PullOptions
	for _, h := range p.Hosts {
		for i := range h.Changes {
			for j := range h.Changes[i].Ops {
				op := &h.Changes[i].Ops[j]
				if op.Pull == nil || op.Pull.BinarySHA256 == "" {
					continue
				}
				if po == nil {
					var err error
					if po, err = o.pull.options(nil, time.Now()); err != nil {
						return err
					}
				}
				if po.KeysBinary == nil {
					return fmt.Errorf("the plan installs accessctl-keys on %s: give the same binary with --keys-binary", h.Name)
				}
				if sum := reconcile.SHA256Hex(po.KeysBinary); sum != op.Pull.BinarySHA256 {
					return fmt.Errorf("--keys-binary has sha256 %s, the plan installs %s", sum, op.Pull.BinarySHA256)
				}
				op.Pull.Binary = po.KeysBinary
			}
		}
	}
	return nil
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
