package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// profile answers "where does the first apply's time go": it runs the CLI's per-host steps
// in-process on fresh hosts with every remote command timed (dial, read, apply script, fresh
// login for the check, sudo -n true, commit), then traces the apply script of one more fresh
// host line by line (bash -x with $EPOCHREALTIME, run as root inside the host).
func (b *bench) profile() error {
	H, U := *nHosts, *nUsers
	par := *parallel
	if par == 0 {
		par = H
	}
	us, err := makeUsers(b.work, U, "a")
	if err != nil {
		return err
	}
	l, err := startLab(H+1, "pr")
	if err != nil {
		return err
	}
	defer l.Close()
	path := b.work + "/access.yaml"
	if err := writeManifest(path, us, l.ManifestHosts("fleet")[:H]); err != nil {
		return err
	}
	m, diags, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil || len(diags) > 0 {
		return fmt.Errorf("manifest: %v %v", err, diags)
	}
	targets, err := inventory.Targets(m, inventory.Options{
		SSHConfigFile: inventory.NoSSHConfig, KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile},
	})
	if err != nil {
		return err
	}
	loginKey := xssh.FingerprintSHA256(l.AdminSigner.PublicKey())
	var mu sync.Mutex
	phases := map[string][]time.Duration{}
	add := func(p string, d time.Duration) {
		mu.Lock()
		phases[p] = append(phases[p], d)
		mu.Unlock()
	}
	start := time.Now()
	load0 := loadavg()
	errs := inventory.Run(context.Background(), targets, par, 5*time.Minute, func(ctx context.Context, t inventory.Target) error {
		t0 := time.Now()
		c, err := sshtr.Dial(ctx, *t.SSH)
		if err != nil {
			return err
		}
		add("1 dial (TCP, SSH handshake, publickey auth)", time.Since(t0))
		conn := &timedConn{Conn: c, add: add, prefix: ""}
		defer conn.Close()
		t1 := time.Now()
		hp := reconcile.PlanHost(ctx, m, t.Host, t.Name, conn, reconcile.Options{Login: t.User, LoginKeys: []string{loginKey}, LookupEnv: os.LookupEnv, Today: reconcile.DaysSinceEpoch(time.Now())})
		add("2 PlanHost total (read + diff)", time.Since(t1))
		if hp.Status != reconcile.StatusOK {
			return fmt.Errorf("%s", hp.Error)
		}
		redial := func(ctx context.Context) (transport.Conn, error) {
			t3 := time.Now()
			c, err := sshtr.Dial(ctx, *t.SSH)
			add("5 check: fresh dial (each attempt; sshd re-execs after SIGHUP)", time.Since(t3))
			if err != nil {
				return nil, err
			}
			return &timedConn{Conn: c, add: add, prefix: "check: "}, nil
		}
		t2 := time.Now()
		res := reconcile.ApplyHost(ctx, hp, hp.Live, conn, redial, reconcile.ApplyOptions{Login: t.User, Now: time.Now()})
		add("9 ApplyHost total", time.Since(t2))
		add("0 host total", time.Since(t0))
		if res.Outcome != reconcile.Applied {
			return fmt.Errorf("%s: %v", res.Outcome, res.Err)
		}
		return nil
	}, nil)
	wall := time.Since(start)
	if err := inventory.Errors(errs); err != nil {
		return err
	}
	fmt.Printf("\nfirst apply, in-process, %d hosts x %d users, --parallel %d: wall %.2f s (load before: %s)\n\n", H, U, par, wall.Seconds(), load0)
	fmt.Printf("| phase (per host) | mean s | max s | count |\n|---|---:|---:|---:|\n")
	keys := make([]string, 0, len(phases))
	for k := range phases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ds := phases[k]
		var sum, mx time.Duration
		for _, d := range ds {
			sum += d
			mx = max(mx, d)
		}
		fmt.Printf("| %s | %.3f | %.3f | %d |\n", k, (sum / time.Duration(len(ds))).Seconds(), mx.Seconds(), len(ds))
	}
	if *cpuProfile != "" {
		// A no-change plan of the same hosts, in-process, under the CPU profiler: what the
		// controller spends per host (SSH crypto, parsing, diffing), without OPA and rendering.
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		t := time.Now()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		changed, err := inprocRound(path, l, par, loginKey, false)
		pprof.StopCPUProfile()
		f.Close()
		if err != nil {
			return err
		}
		fmt.Printf("\nin-process no-change plan of %d hosts: %.2f s wall, %d hosts with changes; CPU profile in %s (go tool pprof -top %s)\n",
			H, time.Since(t).Seconds(), changed, *cpuProfile, *cpuProfile)
	}
	return b.traceScript(l, l.Hosts[H], us, loginKey)
}

// timedConn times every remote command by its first words.
type timedConn struct {
	transport.Conn
	add    func(string, time.Duration)
	prefix string
}

func (c *timedConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	t := time.Now()
	code, err := c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
	name := cmd
	switch {
	case strings.Contains(cmd, "-- apply"):
		name = "4 apply script (sudo -n sh -s -- apply)"
	case strings.Contains(cmd, "-- commit"):
		name = "7 commit script"
	case strings.Contains(cmd, "-- rollback"):
		name = "8 rollback script"
	case strings.Contains(cmd, "true") && c.prefix != "":
		name = "6 check: " + cmd
	default:
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		name = "3 read: " + name
	}
	c.add(name, time.Since(t))
	return code, err
}

// traceScript plans one fresh host and runs its apply script under bash -x inside the host, then
// sums the time per script line (the top 15 lines).
func (b *bench) traceScript(l *lab.Lab, h *lab.Host, us []benchUser, loginKey string) error {
	path := b.work + "/access-one.yaml"
	hosts := l.ManifestHosts("fleet")
	one := []manifest.Host{hosts[len(hosts)-1]}
	if err := writeManifest(path, us, one); err != nil {
		return err
	}
	m, _, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		return err
	}
	ts, err := inventory.Targets(m, inventory.Options{SSHConfigFile: inventory.NoSSHConfig, KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}})
	if err != nil {
		return err
	}
	ctx := context.Background()
	c, err := sshtr.Dial(ctx, *ts[0].SSH)
	if err != nil {
		return err
	}
	defer c.Close()
	rec := &recordConn{Conn: c}
	hp := reconcile.PlanHost(ctx, m, ts[0].Host, "hosts[0]", rec, reconcile.Options{Login: ts[0].User, LoginKeys: []string{loginKey}, LookupEnv: os.LookupEnv, Today: reconcile.DaysSinceEpoch(time.Now())})
	if hp.Status != reconcile.StatusOK {
		return fmt.Errorf("trace: %s", hp.Error)
	}
	// The read script, as PlanHost sent it: "sudo -n sh -s -- ARGS" with the script on stdin.
	if _, args, ok := strings.Cut(rec.cmd, " -s -- "); ok {
		if err := traceRun(h, fmt.Sprintf("read script of one host (%d users)", len(us)), args, rec.stdin); err != nil {
			return err
		}
	}
	runID := reconcile.NewRunID(time.Now())
	script, err := reconcile.LinuxApplyScript(hp, runID, time.Now(), reconcile.Waits{})
	if err != nil {
		return err
	}
	return traceRun(h, fmt.Sprintf("apply script of one fresh host (%d users)", len(us)), "apply", script)
}

// recordConn keeps the first command run and its stdin.
type recordConn struct {
	transport.Conn
	cmd, stdin string
}

func (c *recordConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if c.cmd == "" {
		c.cmd = cmd
		if stdin != nil {
			b, _ := io.ReadAll(stdin)
			c.stdin = string(b)
			stdin = strings.NewReader(c.stdin)
		}
	}
	return c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
}

// traceRun runs script with args under bash -x inside the host, as root, and prints the time per
// command name (the top 15), the CPU time and the number of traced lines.
func traceRun(h *lab.Host, label, args, script string) error {
	ctx := context.Background()
	t := time.Now()
	// The trace goes to its own file (BASH_XTRACEFD): the scripts redirect stderr of their steps.
	r, err := h.Exec(ctx, `exec 9>/root/trace; BASH_XTRACEFD=9 exec /usr/bin/time -o /root/cpu -f '%U %S' bash -s -- `+args,
		strings.NewReader("PS4='+@$EPOCHREALTIME@ '; set -x\n"+script)) // bash as root ignores PS4 from the environment
	if err != nil {
		return err
	}
	total := time.Since(t)
	trace, err := h.ReadFile("/root/trace")
	if err != nil {
		return err
	}
	cpu := "?"
	if b, err := h.ReadFile("/root/cpu"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			u, _ := strconv.ParseFloat(f[0], 64)
			s, _ := strconv.ParseFloat(f[1], 64)
			cpu = fmt.Sprintf("%.3f", u+s)
		}
	}
	if os.Getenv("BENCH_TRACE") != "" {
		logf("trace (%d bytes), stdout %q:\n%s", len(trace), tail(r.Stdout, 500), tail(string(trace), 1500))
	}
	// Each trace line starts with its time; the time until the next trace line is its cost.
	type ev struct {
		at   float64
		line string
	}
	var evs []ev
	sc := bufio.NewScanner(strings.NewReader(string(trace)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		s := strings.TrimLeft(sc.Text(), "+")
		if !strings.HasPrefix(s, "@") {
			continue
		}
		at, rest, ok := strings.Cut(s[1:], "@ ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(at, 64)
		if err != nil {
			continue
		}
		evs = append(evs, ev{f, rest})
	}
	cost := map[string]float64{}
	count := map[string]int{}
	for i := 0; i+1 < len(evs); i++ {
		k := evs[i].line
		if f := strings.Fields(k); len(f) > 0 {
			k = f[0] // group by command name
			if len(f) > 1 && (k == "sudo" || k == "env" || k == "command") {
				k += " " + f[1]
			}
		}
		cost[k] += evs[i+1].at - evs[i].at
		count[k]++
	}
	type kv struct {
		k string
		v float64
	}
	var kvs []kv
	for k, v := range cost {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
	fmt.Printf("\n%s traced with bash -x, run as root inside the host: %.3f s wall, %s s CPU (user+sys of bash and its children), %d trace lines, exit %d, load %s\n\n",
		label, total.Seconds(), cpu, len(evs), r.Code, loadavg())
	fmt.Printf("| command in the script | seconds (sum) | times run |\n|---|---:|---:|\n")
	for i, e := range kvs {
		if i == 15 {
			break
		}
		fmt.Printf("| `%s` | %.3f | %d |\n", strings.ReplaceAll(e.k, "|", "\\|"), e.v, count[e.k])
	}
	return nil
}
