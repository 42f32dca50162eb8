package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/policy"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

func init() {
	register("plan", "read the hosts and show what apply would change", runPlan)
}

// fleetOptions are the flags plan and apply share (SPEC §2).
type fleetOptions struct {
	check          checkOptions
	limit          string
	parallel       int
	connectTimeout time.Duration
	timeout        time.Duration
	shard          string
	format         string
	lockTimeout    time.Duration
	knownHosts     multiFlag
	identities     multiFlag
	insecure       bool
	sshConfig      string
	winrm          winrmOptions
	pull           pullFlags
	// usage: plan --usage reads login records too (stale-key); access has its own flag.
	usage bool
}

func (o *fleetOptions) bind(fs *flag.FlagSet) {
	o.check.bind(fs, true)
	fs.StringVar(&o.check.inventory, "i", "", "inventory `FILE` (hosts in the manifest format) instead of the manifest's hosts")
	fs.StringVar(&o.limit, "limit", "", "work only on hosts whose name matches one of these comma-separated `GLOB`s")
	fs.IntVar(&o.parallel, "parallel", 32, "how many hosts to work on at once")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", sshtr.DefaultConnectTimeout, "bound on connecting to a host")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on all the work on one host")
	fs.StringVar(&o.shard, "shard", "", "work on the stable `K/N` slice of the hosts")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text or json; plan also markdown (a pull-request comment)")
	fs.Var(&o.knownHosts, "known-hosts", "known_hosts `FILE` (repeatable; default ~/.ssh/known_hosts)")
	fs.Var(&o.identities, "identity", "private key `FILE` to log in with (repeatable; the ssh-agent is used too)")
	fs.BoolVar(&o.insecure, "insecure-skip-host-key-check", false, "accept any host key (INSECURE: anyone on the path can pose as the host)")
	o.winrm.bind(fs)
	fs.StringVar(&o.sshConfig, "ssh-config", "", "ssh_config `FILE` to honour (default ~/.ssh/config; \"none\" for none)")
	o.pull.bind(fs)
}

// fleetRun is a planned fleet: the plan, the findings, and the open connections apply reuses.
// conns is nil for plan, which closes each connection as soon as its host is read; apply keeps
// only the connections of hosts with changes.
type fleetRun struct {
	check    *checkResult
	plan     *reconcile.Plan
	findings []report.Finding
	denied   bool
	targets  map[string]inventory.Target
	mu       sync.Mutex
	conns    map[string]transport.Conn
	// dials hold what each host's login is (for the lockout guard apply judges again).
	dials map[string]*dialed
	winrm *winrmOptions
	pull  *reconcile.PullOptions
	now   time.Time
	waits reconcile.Waits
	usage bool
	// clouds are the cloud key-pair registries of the run (cloud.go).
	clouds *cloudRun
}

func (r *fleetRun) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// planFleet validates and checks the manifest (a denial contacts no host), reads every selected
// host in parallel, plans, and runs the policies again with input.live and input.plan. code is
// not exitOK when the caller must return it at once.
func (c *cli) planFleet(ctx context.Context, o *fleetOptions, keepConns bool) (*fleetRun, int) {
	if !c.checkFleetFormat(o.format, !keepConns) {
		return nil, exitUsage
	}
	var shard inventory.Shard
	if o.shard != "" {
		s, err := inventory.ParseShard(o.shard)
		if err != nil {
			c.errorf("%v", err)
			return nil, exitUsage
		}
		shard = s
	}
	res, code := c.loadAndCheck(ctx, &o.check)
	if code != exitOK {
		return nil, code
	}
	if res.denied {
		_ = c.render(c.stderr, "text", res.findings, res.m.Files)
		c.errorf("the manifest was denied; no host was contacted")
		return nil, exitInvalid
	}
	if code := c.discoverHosts(ctx, res.m); code != exitOK {
		return nil, code
	}
	targets, err := inventory.Targets(res.m, inventory.Options{
		Limit: o.limit, Shard: shard, SSHConfigFile: o.sshConfig, KnownHostsFiles: o.knownHosts,
		IdentityFiles: o.identities, UseAgent: c.getenv("SSH_AUTH_SOCK") != "" || os.Getenv("SSH_AUTH_SOCK") != "",
		ConnectTimeout: o.connectTimeout, InsecureIgnoreHostKey: o.insecure,
	})
	if err != nil && limitOnlyClouds(res.m, o.limit) {
		targets, err = nil, nil // --limit 'cloud *': the registries alone (cloud.go)
	}
	if err != nil {
		c.errorf("%v", err)
		return nil, exitUsage
	}
	now := time.Now()
	pull, err := o.pull.options(res.m.Files, now)
	if err != nil {
		c.errorf("%v", err)
		return nil, exitUsage
	}
	run := &fleetRun{check: res, targets: map[string]inventory.Target{}, winrm: &o.winrm, pull: pull,
		now: now, dials: map[string]*dialed{}, waits: reconcile.Waits{Lock: o.lockTimeout}, usage: o.usage}
	if keepConns {
		run.conns = map[string]transport.Conn{}
	}
	run.clouds = c.startClouds(ctx, res.m, o)
	paths := map[string]string{}
	for i, h := range res.m.Hosts {
		paths[h.Name] = fmt.Sprintf("hosts[%d]", i)
	}
	today := reconcile.DaysSinceEpoch(now)
	var plans []*reconcile.HostPlan
	var pmu sync.Mutex
	prog := c.progress("read")
	inventory.Run(ctx, targets, o.parallel, o.timeout, func(ctx context.Context, t inventory.Target) error {
		hp := c.planTarget(ctx, run, t, paths[t.Name], today)
		pmu.Lock()
		plans = append(plans, hp)
		pmu.Unlock()
		if hp.Status != reconcile.StatusOK {
			return fmt.Errorf("%s", hp.Error)
		}
		return nil
	}, prog)
	c.progressDone(prog)
	// Hosts that never ran (bad configuration, cancelled) still get a line in the plan.
	seen := map[string]bool{}
	for _, hp := range plans {
		seen[hp.Name] = true
	}
	for _, t := range targets {
		run.targets[t.Name] = t
		if !seen[t.Name] {
			err := t.Err
			if err == nil {
				err = fmt.Errorf("not read")
			}
			plans = append(plans, reconcile.ErrorPlan(t.Host, paths[t.Name], err))
		}
	}
	run.plan = reconcile.NewPlan(append(plans, run.clouds.plans(res.m)...))

	input, err := policy.BuildInput(res.m, res.base, policy.InputOptions{
		LookupEnv: c.lookupEnv, Live: run.clouds.live(reconcile.LiveInput(run.plan)), Plan: reconcile.PlanInput(run.plan),
		Usage: planUsageInput(run),
	})
	if err != nil {
		c.errorf("%v", err)
		return nil, exitInvalid
	}
	fs, err := res.engine.Eval(ctx, input, res.m)
	if err != nil {
		c.errorf("evaluate policies: %v", err)
		return nil, exitInvalid
	}
	run.findings = fs
	for _, f := range fs {
		if f.Severity == report.SeverityDeny {
			run.denied = true
		}
	}
	return run, exitOK
}

func (c *cli) planTarget(ctx context.Context, run *fleetRun, t inventory.Target, path string, today int) *reconcile.HostPlan {
	d, err := c.dial(ctx, run.winrm, t)
	if err != nil {
		return reconcile.ErrorPlan(t.Host, path, err)
	}
	conn := d.conn
	hp := reconcile.PlanHost(ctx, run.check.m, t.Host, path, conn, reconcile.Options{
		Login: d.login, LoginKeys: d.keys, LookupEnv: c.lookupEnv, Today: today, Now: run.now, Pull: run.pull,
		Recover: run.conns != nil, Waits: run.waits, Usage: run.usage,
	})
	run.mu.Lock()
	run.dials[t.Name] = &dialed{login: d.login, keys: d.keys}
	if run.conns != nil && hp.Status == reconcile.StatusOK && len(hp.Changes) > 0 {
		run.conns[t.Name] = conn
	} else {
		conn.Close()
	}
	run.mu.Unlock()
	return hp
}

// showFindings prints the plan-time findings (warnings and denials) on stderr.
func (c *cli) showFindings(run *fleetRun) {
	if len(run.findings) > 0 {
		_ = c.render(c.stderr, "text", run.findings, run.check.m.Files)
	}
}

func runPlan(c *cli, args []string) int {
	fs := c.newFlags("plan", "[-f PATH]... [-i FILE] [--limit GLOB] [--parallel N] [--out FILE] [--format text|json|markdown] [--detailed-exitcode]",
		"Read the hosts and show what apply would change. Exit 0: no changes; 1: the manifest is invalid\nor denied; 2: changes pending (with --detailed-exitcode); 3: a host could not be read.")
	var o fleetOptions
	o.bind(fs)
	out := fs.String("out", "", "also write the plan as JSON to `FILE` (for apply --plan)")
	fs.BoolVar(&o.usage, "usage", false, "also read sshd's login records and judge stale-key")
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when changes are pending")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("plan takes no arguments (got %q)", fs.Arg(0))
		return exitUsage
	}
	ctx := context.Background()
	run, code := c.planFleet(ctx, &o, false)
	if code != exitOK {
		return code
	}
	defer run.close()
	if err := report.RenderPlan(c.stdout, o.format, run.plan.Public()); err != nil {
		c.errorf("%v", err)
		return exitHost
	}
	c.showFindings(run)
	if run.denied {
		c.errorf("the plan was denied by policy")
		return exitInvalid
	}
	if *out != "" {
		src, err := reconcile.NewSource(run.check.m, run.check.engine.Digest, run.now.UTC().Format(time.RFC3339))
		if err == nil {
			err = reconcile.WritePlanFile(*out, run.plan, src)
		}
		if err != nil {
			c.errorf("write plan: %v", err)
			return exitUsage
		}
	}
	switch {
	case run.plan.Summary.HostsFailed > 0:
		return exitHost
	case *detailed && run.plan.HasChanges():
		return exitChanges
	}
	return exitOK
}
