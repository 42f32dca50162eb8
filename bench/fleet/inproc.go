package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// loadInProcess runs plan/apply rounds inside this process through the same library calls the
// CLI makes for every host (inventory.Targets, inventory.Run, ssh Dial, reconcile.PlanHost,
// reconcile.ApplyHost with a redial for the post-apply login check), so goroutines, open file
// descriptors and the heap can be counted between rounds. It leaves out what the CLI does once
// per run and not per host (YAML load is kept; OPA policy evaluation and rendering are not).
func (b *bench) loadInProcess(l *lab.Lab, ma, mb string, par int) error {
	loginKey := xssh.FingerprintSHA256(l.AdminSigner.PublicKey())
	fmt.Printf("\nin-process rounds (library calls of plan+apply, then a no-change plan; GC before each count)\n\n")
	fmt.Printf("| round | apply s | hosts applied | plan s | goroutines | open fds | heap in use MB | RSS MB | load |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	rowf := func(r string, ap, pl float64, applied int) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fds, _ := os.ReadDir("/proc/self/fd")
		row := fmt.Sprintf("| %s | %.2f | %d | %.2f | %d | %d | %.1f | %.1f | %s |", r, ap, applied, pl,
			runtime.NumGoroutine(), len(fds), float64(ms.HeapInuse)/(1<<20), rssMB(), loadavg())
		fmt.Println(row)
		record(map[string]any{"inprocRound": r, "row": row})
	}
	rowf("before", 0, 0, 0)
	for r := 1; r <= *inproc; r++ {
		m := ma // continue the binary rounds' alternation (odd rounds A, even rounds B)
		if (*rounds+r)%2 == 0 {
			m = mb
		}
		t0 := time.Now()
		applied, err := inprocRound(m, l, par, loginKey, true)
		if err != nil {
			return fmt.Errorf("in-process round %d apply: %w", r, err)
		}
		if applied != len(l.Hosts) {
			return fmt.Errorf("in-process round %d: %d of %d hosts applied", r, applied, len(l.Hosts))
		}
		apS := time.Since(t0).Seconds()
		t1 := time.Now()
		changed, err := inprocRound(m, l, par, loginKey, false)
		if err != nil {
			return fmt.Errorf("in-process round %d plan: %w", r, err)
		}
		if changed != 0 {
			return fmt.Errorf("in-process round %d: %d hosts still have changes after apply", r, changed)
		}
		rowf(fmt.Sprint(r), apS, time.Since(t1).Seconds(), applied)
		if *heapProfile != "" && (r == 1 || r == *inproc) {
			// go tool pprof -sample_index=inuse_space -diff_base PREFIX.1 PREFIX.N: what grew.
			if err := writeHeapProfile(fmt.Sprintf("%s.%d", *heapProfile, r)); err != nil {
				return err
			}
		}
	}
	logf("after in-process rounds: %s", snapshotSystem(l))
	return nil
}

// inprocRound plans every host and, with apply, applies the ones with changes. It returns how
// many hosts were applied (apply) or had changes (plan only).
func inprocRound(path string, l *lab.Lab, par int, loginKey string, apply bool) (int, error) {
	m, diags, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		return 0, err
	}
	if len(diags) > 0 {
		return 0, fmt.Errorf("manifest: %v", diags[0])
	}
	targets, err := inventory.Targets(m, inventory.Options{
		SSHConfigFile: inventory.NoSSHConfig, KnownHostsFiles: []string{l.KnownHostsFile},
		IdentityFiles: []string{l.IdentityFile},
	})
	if err != nil {
		return 0, err
	}
	today := reconcile.DaysSinceEpoch(time.Now())
	var n atomic.Int64
	ctx := context.Background()
	errs := inventory.Run(ctx, targets, par, 5*time.Minute, func(ctx context.Context, t inventory.Target) error {
		conn, err := sshtr.Dial(ctx, *t.SSH)
		if err != nil {
			return err
		}
		defer conn.Close()
		hp := reconcile.PlanHost(ctx, m, t.Host, t.Name, conn, reconcile.Options{
			Login: t.User, LoginKeys: []string{loginKey}, LookupEnv: os.LookupEnv, Today: today,
		})
		if hp.Status != reconcile.StatusOK {
			return fmt.Errorf("%s", hp.Error)
		}
		if len(hp.Changes) == 0 {
			return nil
		}
		if !apply {
			n.Add(1)
			return nil
		}
		redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, *t.SSH) }
		res := reconcile.ApplyHost(ctx, hp, hp.Live, conn, redial, reconcile.ApplyOptions{Login: t.User, Now: time.Now()})
		if res.Outcome != reconcile.Applied {
			return fmt.Errorf("%s: %v", res.Outcome, res.Err)
		}
		n.Add(1)
		return nil
	}, nil)
	if err := inventory.Errors(errs); err != nil {
		return int(n.Load()), err
	}
	return int(n.Load()), nil
}

func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// floor is the least any per-host read can cost on this lab: connect (TCP, SSH handshake,
// publickey login: sshd forks and re-executes itself per connection) and run `sudo -n true`, on
// the first n hosts with par at once, in-process. Every lab host's sshd and sudo run on this
// machine's CPUs, so this is a floor for a no-change plan of n hosts here, whatever accessctl
// does above it.
func floor(l *lab.Lab, n, par int) (time.Duration, error) {
	specs := l.ManifestHosts("fleet")[:n]
	m := &manifest.Manifest{Hosts: specs}
	targets, err := inventory.Targets(m, inventory.Options{
		SSHConfigFile: inventory.NoSSHConfig, KnownHostsFiles: []string{l.KnownHostsFile},
		IdentityFiles: []string{l.IdentityFile},
	})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	errs := inventory.Run(context.Background(), targets, par, time.Minute, func(ctx context.Context, t inventory.Target) error {
		conn, err := sshtr.Dial(ctx, *t.SSH)
		if err != nil {
			return err
		}
		defer conn.Close()
		var out strings.Builder
		code, err := conn.Run(ctx, "sudo -n true", nil, &out, &out)
		if err == nil && code != 0 {
			err = fmt.Errorf("sudo -n true exited %d: %s", code, out.String())
		}
		return err
	}, nil)
	return time.Since(start), inventory.Errors(errs)
}

// floorCurve prints the floor (see floor) for each of -sizes, on a lab of the largest, with
// -parallel (default 32, the CLI's).
func (b *bench) floorCurve() error {
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q", s)
		}
		ns = append(ns, n)
	}
	sort.Ints(ns)
	par := *parallel
	if par == 0 {
		par = 32
	}
	l, err := startLab(ns[len(ns)-1], "fl")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Printf("\nlab floor: connect + `sudo -n true` per host, in-process, --parallel %d, best of %d\n\n", par, max(1, *repeat))
	fmt.Printf("| hosts | seconds | ms/host | load before |\n|---:|---:|---:|---|\n")
	for _, n := range ns {
		ld := loadavg()
		fl := time.Duration(1 << 62)
		for i := 0; i < max(1, *repeat); i++ {
			d, err := floor(l, n, par)
			if err != nil {
				return err
			}
			fl = min(fl, d)
		}
		fmt.Printf("| %d | %.2f | %.1f | %s |\n", n, fl.Seconds(), 1000*fl.Seconds()/float64(n), ld)
	}
	return nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
