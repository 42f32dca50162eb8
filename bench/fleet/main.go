// Command fleet benchmarks accessctl plan/apply on a lab of real OpenSSH hosts (internal/lab),
// against Ansible doing the same work, and under load. Not run by CI (it needs root and minutes);
// `go vet ./...` compiles it. See BENCHMARKS.md for the figures and bench/run.sh for every run.
//
//	go run ./bench/fleet -mode compare -hosts 20 -users 10        accessctl vs Ansible (issue 3)
//	go run ./bench/fleet -mode scale -sizes 10,50,100,250 -users 50   plan time and peak RSS (issue 5)
//	go run ./bench/fleet -mode load -hosts 200 -rounds 10 -parallel 64  leak check (issue 6)
//
// Every accessctl figure is the built binary (go build ./cmd/accessctl) run as a child process:
// wall time from fork to exit, peak RSS from the child's rusage (the "Maximum resident set size"
// that /usr/bin/time -v prints). The load average is read from /proc/loadavg before each run.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
)

var (
	mode        = flag.String("mode", "compare", "compare (accessctl vs Ansible), scale (plan curve) or load (rounds, leak check)")
	nHosts      = flag.Int("hosts", 20, "lab hosts (compare, load)")
	nUsers      = flag.Int("users", 10, "manifest users")
	parallel    = flag.Int("parallel", 0, "accessctl --parallel (default: the number of hosts, like Ansible's forks)")
	binFlag     = flag.String("bin", "", "accessctl binary to run (default: go build ./cmd/accessctl into the work dir)")
	noAnsible   = flag.Bool("no-ansible", false, "compare: skip the Ansible half")
	sizes       = flag.String("sizes", "10,50,100,250", "scale: host counts to plan (one lab of the largest)")
	repeat      = flag.Int("repeat", 3, "scale, compare: runs of each no-change plan (the best is reported with the median)")
	rounds      = flag.Int("rounds", 10, "load: apply/plan rounds")
	inproc      = flag.Int("inproc-rounds", 10, "load: in-process plan/apply rounds after the binary rounds (0: none)")
	facts       = flag.Bool("ansible-facts", false, "compare: let Ansible gather facts (its default; the playbook needs none)")
	heapProfile = flag.String("heapprofile", "", "load: write heap profiles PREFIX.1 and PREFIX.N after the first and last in-process rounds")
	cpuProfile  = flag.String("cpuprofile", "", "profile: write a CPU profile of an in-process no-change plan to this file")
	jsonOut     = flag.String("json", "", "also append the results as JSON lines to this file")
)

func main() {
	flag.Parse()
	if err := lab.Check(); err != nil {
		fatalf("%v", err)
	}
	work, err := os.MkdirTemp("", "accessctl-bench-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(work)
	bin := *binFlag
	if bin == "" && *mode != "profile" && *mode != "floor" { // profile runs the library in-process
		bin = filepath.Join(work, "accessctl")
		logf("building %s", bin)
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/accessctl").CombinedOutput(); err != nil {
			fatalf("go build ./cmd/accessctl (run from the module root): %v\n%s", err, out)
		}
	}
	b := &bench{bin: bin, work: work}
	switch *mode {
	case "compare":
		err = b.compare()
	case "scale":
		err = b.scale()
	case "load":
		err = b.load()
	case "profile":
		err = b.profile()
	case "floor":
		err = b.floorCurve()
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fatalf("%v", err)
	}
}

type bench struct {
	bin, work string
}

// ---- users and manifests -------------------------------------------------------------------

type benchUser struct {
	Name    string `json:"name"`
	UID     int    `json:"uid"`
	Sudo    string `json:"sudo"` // "false", "true", "nopasswd"
	Keypair string `json:"keypair"`
	Key     string `json:"key"`     // public key line
	KeyFile string `json:"keyFile"` // private key, for the login check
}

// makeUsers makes n users, each with a fresh ed25519 key pair; one in four has sudo, one in eight
// NOPASSWD sudo. gen names the key generation (load mode rotates keys between rounds).
func makeUsers(dir string, n int, gen string) ([]benchUser, error) {
	us := make([]benchUser, n)
	for i := range us {
		name := fmt.Sprintf("bench%03d", i)
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		spub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, name+"@bench")
		if err != nil {
			return nil, err
		}
		kf := filepath.Join(dir, "id_"+name+"_"+gen)
		if err := os.WriteFile(kf, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, err
		}
		sudo := "false"
		switch {
		case i%8 == 0:
			sudo = "nopasswd"
		case i%4 == 0:
			sudo = "true"
		}
		us[i] = benchUser{
			Name: name, UID: 20000 + i, Sudo: sudo, Keypair: name + "-" + gen,
			Key:     strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub))) + " " + name + "@bench",
			KeyFile: kf,
		}
	}
	return us, nil
}

// writeManifest writes one manifest: the users, one host group "fleet" with every user and the
// sshd settings, and the hosts.
// also lists users whose key pairs are defined but not bound (load mode: the other
// generation's keys, which bound-keypair-delete forbids deleting while they are installed).
func writeManifest(path string, us []benchUser, hosts []manifest.Host, also ...benchUser) error {
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\nkeypairs:\n")
	for _, u := range append(append([]benchUser(nil), us...), also...) {
		fmt.Fprintf(&b, "  - name: %s\n    publicKey: %s\n", u.Keypair, u.Key)
	}
	b.WriteString("users:\n")
	for _, u := range us {
		fmt.Fprintf(&b, "  - name: %s\n    uid: %d\n    shell: /bin/bash\n    sudo: %s\n    keypairs: [%s]\n", u.Name, u.UID, u.Sudo, u.Keypair)
	}
	b.WriteString("hostGroups:\n  - name: fleet\n    sshd: {passwordAuthentication: false, kbdInteractiveAuthentication: false, permitRootLogin: \"no\"}\n    users: [")
	for i, u := range us {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(u.Name)
	}
	b.WriteString("]\nhosts:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - {name: %s, address: %s, port: %d, user: %s, groups: [fleet]}\n", h.Name, h.Address, h.Port, h.User)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// ---- running and measuring -----------------------------------------------------------------

type runResult struct {
	What     string  `json:"what"`
	Hosts    int     `json:"hosts"`
	Users    int     `json:"users"`
	Seconds  float64 `json:"seconds"`
	CPU      float64 `json:"cpuSeconds"` // user+sys of the child (and its children)
	MaxRSSMB float64 `json:"maxRssMB"`
	Code     int     `json:"exit"`
	Load     string  `json:"loadavg"` // /proc/loadavg's 1, 5, 15 minute figures, before the run
	stdout   string
	stderr   string
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// run runs a command and measures it.
func run(what string, env []string, name string, args ...string) runResult {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := runResult{What: what, Load: loadavg()}
	start := time.Now()
	err := cmd.Run()
	r.Seconds = time.Since(start).Seconds()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		r.Code = -1
		r.stderr += err.Error()
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		r.MaxRSSMB = float64(ru.Maxrss) / 1024
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return r
}

func (b *bench) accessctl(what string, nh, nu int, args ...string) runResult {
	r := run(what, nil, b.bin, args...)
	r.Hosts, r.Users = nh, nu
	logf("%-34s %3d hosts %3d users  %7.2f s  cpu %6.2f s  rss %6.1f MB  exit %d  load %s",
		what, nh, nu, r.Seconds, r.CPU, r.MaxRSSMB, r.Code, r.Load)
	record(r)
	return r
}

func record(v any) {
	if *jsonOut == "" {
		return
	}
	f, err := os.OpenFile(*jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		logf("json: %v", err)
		return
	}
	defer f.Close()
	_ = json.NewEncoder(f).Encode(v)
}

func fleetArgs(cmd, manifestPath string, l *lab.Lab, par int, extra ...string) []string {
	a := []string{cmd, "-f", manifestPath, "--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile,
		"--ssh-config", "none", "--parallel", strconv.Itoa(par)}
	return append(a, extra...)
}

func expect(r runResult, codes ...int) error {
	if slices.Contains(codes, r.Code) {
		return nil
	}
	return fmt.Errorf("%s exited %d (want %v)\nstdout:\n%s\nstderr:\n%s", r.What, r.Code, codes, tail(r.stdout, 3000), tail(r.stderr, 3000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func startLab(n int, prefix string) (*lab.Lab, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	l, err := lab.Start(ctx, lab.Specs(prefix, n, lab.Debian))
	for try := 1; err != nil && try < 3; try++ {
		// On a shared machine a host's sshd can lose its address to a lab that is just shutting
		// down (ours or another test's): wait and start again.
		logf("lab: %v; retrying", strings.TrimSpace(err.Error()))
		time.Sleep(5 * time.Second)
		l, err = lab.Start(ctx, lab.Specs(prefix, n, lab.Debian))
	}
	if err != nil {
		return nil, err
	}
	logf("lab: %d hosts up in %.1f s", n, time.Since(start).Seconds())
	return l, nil
}

// verify proves the work was done on a host: a bench user logs in with its key (real ssh client)
// and sshd's effective settings are the manifest's.
func verify(l *lab.Lab, h *lab.Host, u benchUser) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := lab.SSH(ctx, h, u.Name, u.KeyFile, "id -un")
	if err != nil || r.Code != 0 || strings.TrimSpace(r.Stdout) != u.Name {
		return fmt.Errorf("%s: %s cannot log in with its key: %v %d %s", h.Name, u.Name, err, r.Code, r.Stderr)
	}
	r, err = h.Exec(ctx, "/usr/sbin/sshd -T | grep -Ei '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) '", nil)
	if err != nil {
		return err
	}
	got := strings.Fields(r.Stdout)
	want := map[string]string{"passwordauthentication": "no", "permitrootlogin": "no", "kbdinteractiveauthentication": "no"}
	for i := 0; i+1 < len(got); i += 2 {
		if want[got[i]] == got[i+1] {
			delete(want, got[i])
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("%s: sshd -T does not show %v:\n%s", h.Name, want, r.Stdout)
	}
	return nil
}

// ---- compare: accessctl vs Ansible ---------------------------------------------------------

func (b *bench) compare() error {
	H, U := *nHosts, *nUsers
	par := *parallel
	if par == 0 {
		par = H
	}
	us, err := makeUsers(b.work, U, "a")
	if err != nil {
		return err
	}

	// accessctl on fresh hosts.
	l, err := startLab(H, "acc")
	if err != nil {
		return err
	}
	mpath := filepath.Join(b.work, "access.yaml")
	if err := writeManifest(mpath, us, l.ManifestHosts("fleet")); err != nil {
		l.Close()
		return err
	}
	first := b.accessctl("accessctl first apply", H, U, fleetArgs("apply", mpath, l, par, "--yes")...)
	if err := expect(first, 0); err != nil {
		l.Close()
		return err
	}
	var plans []runResult
	for i := 0; i < max(1, *repeat); i++ {
		p := b.accessctl("accessctl no-change plan", H, U, fleetArgs("plan", mpath, l, par, "--detailed-exitcode")...)
		if err := expect(p, 0); err != nil {
			l.Close()
			return err
		}
		plans = append(plans, p)
	}
	for _, h := range []*lab.Host{l.Hosts[0], l.Hosts[len(l.Hosts)-1]} {
		if err := verify(l, h, us[len(us)-1]); err != nil {
			l.Close()
			return fmt.Errorf("after accessctl: %w", err)
		}
	}
	// Ansible writes exactly the files accessctl wrote.
	sudoers, err1 := l.Hosts[0].ReadFile("/etc/sudoers.d/accessctl")
	dropin, err2 := l.Hosts[0].ReadFile("/etc/ssh/sshd_config.d/00-accessctl.conf")
	if err := errors.Join(err1, err2, l.Close()); err != nil {
		return err
	}
	row := []runResult{first, best(plans)}
	if *noAnsible {
		printCompare(H, U, row, nil)
		return nil
	}

	// Ansible on other fresh hosts.
	l, err = startLab(H, "ans")
	if err != nil {
		return err
	}
	defer l.Close()
	ans, err := b.ansible(l, us, string(sudoers), string(dropin), H)
	if err != nil {
		return err
	}
	for _, h := range []*lab.Host{l.Hosts[0], l.Hosts[len(l.Hosts)-1]} {
		if err := verify(l, h, us[len(us)-1]); err != nil {
			return fmt.Errorf("after ansible: %w", err)
		}
	}
	printCompare(H, U, row, ans)
	return nil
}

func best(rs []runResult) runResult {
	return slices.MinFunc(rs, func(a, b runResult) int {
		switch {
		case a.Seconds < b.Seconds:
			return -1
		case a.Seconds > b.Seconds:
			return 1
		}
		return 0
	})
}

func median(rs []runResult) float64 {
	s := make([]float64, len(rs))
	for i, r := range rs {
		s[i] = r.Seconds
	}
	sort.Float64s(s)
	return s[len(s)/2]
}

var recapRE = regexp.MustCompile(`(?m)^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// ansible runs bench/ansible/site.yml twice (first run, no-change run) on the lab.
func (b *bench) ansible(l *lab.Lab, us []benchUser, sudoers, dropin string, forks int) ([]runResult, error) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		return nil, fmt.Errorf("ansible-playbook not found (apt-get install -y ansible): %w", err)
	}
	playbook, err := filepath.Abs("bench/ansible/site.yml")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.work, "ansible")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var inv strings.Builder
	inv.WriteString("[fleet]\n")
	for _, h := range l.Hosts {
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_port=%d\n", h.Name, h.Addr, h.Port)
	}
	fmt.Fprintf(&inv, "\n[fleet:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n", l.AdminUser, l.IdentityFile)
	cfg := fmt.Sprintf(`[defaults]
inventory = %[1]s/inventory.ini
forks = %[2]d
host_key_checking = True
gathering = explicit
retry_files_enabled = False
interpreter_python = /usr/bin/python3
remote_tmp = /tmp/.ansible-${USER}/tmp

[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=%[3]s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
control_path_dir = %[1]s/cp
`, dir, forks, l.KnownHostsFile)
	vars := map[string]any{"bench_users": us, "bench_sudoers": sudoers, "bench_sshd_dropin": dropin, "bench_gather_facts": *facts}
	vj, _ := json.Marshal(vars)
	for name, data := range map[string]string{"inventory.ini": inv.String(), "ansible.cfg": cfg, "vars.json": string(vj)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	env := []string{"ANSIBLE_CONFIG=" + filepath.Join(dir, "ansible.cfg"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCAL_TEMP=" + filepath.Join(dir, "tmp")}
	var out []runResult
	for i, what := range []string{"ansible first run", "ansible no-change run"} {
		r := run(what, env, "ansible-playbook", "-e", "@"+filepath.Join(dir, "vars.json"), playbook)
		r.Hosts, r.Users = len(l.Hosts), len(us)
		changed, failed := 0, 0
		for _, m := range recapRE.FindAllStringSubmatch(r.stdout, -1) {
			c, _ := strconv.Atoi(m[2])
			u, _ := strconv.Atoi(m[3])
			f, _ := strconv.Atoi(m[4])
			changed += c
			failed += u + f
		}
		logf("%-34s %3d hosts %3d users  %7.2f s  cpu %6.2f s  rss %6.1f MB  exit %d  load %s  (changed=%d failed=%d)",
			what, r.Hosts, r.Users, r.Seconds, r.CPU, r.MaxRSSMB, r.Code, r.Load, changed, failed)
		record(r)
		if err := expect(r, 0); err != nil {
			return nil, err
		}
		if failed > 0 || (i == 0 && changed == 0) || (i == 1 && changed != 0) {
			return nil, fmt.Errorf("%s: changed=%d failed=%d\n%s", what, changed, failed, tail(r.stdout, 4000))
		}
		out = append(out, r)
	}
	return out, nil
}

func printCompare(H, U int, acc, ans []runResult) {
	fmt.Printf("\n%d hosts x %d users, load average before each run (1/5/15 min)\n\n", H, U)
	fmt.Printf("| run | wall s | CPU s | peak RSS MB | load |\n|---|---:|---:|---:|---|\n")
	for _, r := range append(append([]runResult(nil), acc...), ans...) {
		fmt.Printf("| %s | %.2f | %.2f | %.1f | %s |\n", r.What, r.Seconds, r.CPU, r.MaxRSSMB, r.Load)
	}
	if len(ans) == 2 {
		fmt.Printf("\n| comparison | ratio (Ansible / accessctl) | goal |\n|---|---:|---|\n")
		fmt.Printf("| first run: ansible first run / accessctl first apply | %.1fx | >= 20x |\n", ans[0].Seconds/acc[0].Seconds)
		fmt.Printf("| no change: ansible no-change run / accessctl no-change plan | %.1fx | >= 20x |\n", ans[1].Seconds/acc[1].Seconds)
	}
}

// ---- scale: plan time and memory against the number of hosts -------------------------------

func (b *bench) scale() error {
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q", s)
		}
		ns = append(ns, n)
	}
	sort.Ints(ns)
	H, U := ns[len(ns)-1], *nUsers
	us, err := makeUsers(b.work, U, "a")
	if err != nil {
		return err
	}
	l, err := startLab(H, "s")
	if err != nil {
		return err
	}
	defer l.Close()
	hosts := l.ManifestHosts("fleet")
	full := filepath.Join(b.work, "access-all.yaml")
	if err := writeManifest(full, us, hosts); err != nil {
		return err
	}
	par := *parallel
	if par == 0 {
		par = 32 // the CLI's default
	}
	first := b.accessctl("accessctl first apply", H, U, fleetArgs("apply", full, l, par, "--yes")...)
	if err := expect(first, 0); err != nil {
		return err
	}
	type point struct {
		hosts          int
		best, med, rss float64
		cpu, floor     float64
		load           string
	}
	var pts []point
	for _, n := range ns {
		mp := filepath.Join(b.work, fmt.Sprintf("access-%d.yaml", n))
		if err := writeManifest(mp, us, hosts[:n]); err != nil {
			return err
		}
		var rs []runResult
		for i := 0; i < max(1, *repeat); i++ {
			r := b.accessctl("accessctl no-change plan", n, U, fleetArgs("plan", mp, l, par, "--detailed-exitcode")...)
			if err := expect(r, 0); err != nil {
				return err
			}
			rs = append(rs, r)
		}
		bst := best(rs)
		rss := slices.MaxFunc(rs, func(a, b runResult) int { return int(a.MaxRSSMB*1000 - b.MaxRSSMB*1000) }).MaxRSSMB
		fl := time.Duration(1 << 62)
		for i := 0; i < max(1, *repeat); i++ {
			d, err := floor(l, n, par)
			if err != nil {
				return err
			}
			fl = min(fl, d)
		}
		logf("floor (dial + sudo -n true) %3d hosts: %.2f s", n, fl.Seconds())
		pts = append(pts, point{n, bst.Seconds, median(rs), rss, bst.CPU, fl.Seconds(), bst.Load})
	}
	if err := verify(l, l.Hosts[H-1], us[U-1]); err != nil {
		return err
	}
	fmt.Printf("\nno-change plan, %d users, --parallel %d, best and median of %d runs; first apply of %d hosts: %.2f s (rss %.1f MB)\n\n",
		U, par, max(1, *repeat), H, first.Seconds, first.MaxRSSMB)
	fmt.Printf("| hosts | best s | median s | accessctl CPU s (best run) | ms/host | peak RSS MB | lab floor s (dial + sudo -n true) | load before best run |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range pts {
		fmt.Printf("| %d | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %s |\n", p.hosts, p.best, p.med, p.cpu, 1000*p.best/float64(p.hosts), p.rss, p.floor, p.load)
	}
	return nil
}

// ---- load: rounds of apply and plan, looking for growth ------------------------------------

func (b *bench) load() error {
	H, U := *nHosts, *nUsers
	par := *parallel
	if par == 0 {
		par = 64
	}
	ua, err := makeUsers(b.work, U, "a")
	if err != nil {
		return err
	}
	ub, err := makeUsers(b.work, U, "b")
	if err != nil {
		return err
	}
	// Manifest B differs from A on every host: every user's key is rotated and sudo moves
	// (a user with sudo loses it, one in four without gains NOPASSWD). Both manifests define
	// both generations of key pairs and bind one.
	for i := range ub {
		ub[i].UID = ua[i].UID
		switch {
		case ua[i].Sudo != "false":
			ub[i].Sudo = "false"
		case i%4 == 1:
			ub[i].Sudo = "nopasswd"
		default:
			ub[i].Sudo = "false"
		}
	}
	l, err := startLab(H, "ld")
	if err != nil {
		return err
	}
	defer l.Close()
	ma, mb := filepath.Join(b.work, "access-a.yaml"), filepath.Join(b.work, "access-b.yaml")
	if err := errors.Join(writeManifest(ma, ua, l.ManifestHosts("fleet"), ub...), writeManifest(mb, ub, l.ManifestHosts("fleet"), ua...)); err != nil {
		return err
	}
	base := snapshotSystem(l)
	logf("before: %s", base)
	fmt.Printf("\n%d hosts x %d users, --parallel %d, binary rounds (each: apply --yes of the other manifest, then a no-change plan)\n\n", H, U, par)
	fmt.Printf("| round | apply s | apply RSS MB | plan s | plan RSS MB | processes in lab hosts | sshd sessions | machine processes | harness fds | host temp/backup files | load |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var rows []string
	for r := 1; r <= *rounds; r++ {
		m, us := ma, ua
		if r%2 == 0 {
			m, us = mb, ub
		}
		ap := b.accessctl(fmt.Sprintf("round %d apply", r), H, U, fleetArgs("apply", m, l, par, "--yes")...)
		if err := expect(ap, 0); err != nil {
			return err
		}
		if !strings.Contains(ap.stdout, fmt.Sprintf("%d hosts applied", H)) {
			return fmt.Errorf("round %d: apply did not change every host:\n%s", r, tail(ap.stdout, 2000))
		}
		pl := b.accessctl(fmt.Sprintf("round %d plan", r), H, U, fleetArgs("plan", m, l, par, "--detailed-exitcode")...)
		if err := expect(pl, 0); err != nil {
			return err
		}
		if err := verify(l, l.Hosts[r%H], us[r%U]); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		s := snapshotSystem(l)
		for i := 0; i < 20 && s.SSHDSessions > 0; i++ {
			// verify's own ssh login may still be closing on the host: let it settle before
			// counting what accessctl left behind.
			time.Sleep(100 * time.Millisecond)
			s = snapshotSystem(l)
		}
		record(map[string]any{"round": r, "system": s})
		row := fmt.Sprintf("| %d | %.2f | %.1f | %.2f | %.1f | %d | %d | %d | %d | %d | %s |", r, ap.Seconds, ap.MaxRSSMB, pl.Seconds, pl.MaxRSSMB,
			s.LabProcs, s.SSHDSessions, s.MachineProcs, s.HarnessFDs, s.HostFiles, ap.Load)
		rows = append(rows, row)
		fmt.Println(row)
	}
	logf("after binary rounds: %s", snapshotSystem(l))
	if *inproc > 0 {
		return b.loadInProcess(l, ma, mb, par)
	}
	return nil
}

// sysSnapshot is what could leak between rounds, outside the accessctl process.
type sysSnapshot struct {
	LabProcs     int // processes in the lab hosts' mount namespaces (one sshd each when idle)
	SSHDSessions int // of those, sshd processes other than the listener (open sessions)
	MachineProcs int // every process on this machine (other jobs share it: noisy)
	HarnessFDs   int
	HostFiles    int // entries under /var/lib/accessctl other than state.json, plus stray files in ~/.ssh and /etc/sudoers.d on every host
}

func (s sysSnapshot) String() string {
	return fmt.Sprintf("lab processes %d, sshd sessions %d, machine processes %d, harness fds %d, host stray files %d",
		s.LabProcs, s.SSHDSessions, s.MachineProcs, s.HarnessFDs, s.HostFiles)
}

func snapshotSystem(l *lab.Lab) sysSnapshot {
	var s sysSnapshot
	nss := map[string]int{} // mount namespace -> listener pid
	for _, h := range l.Hosts {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", h.PID())); err == nil {
			nss[ns] = h.PID()
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s.MachineProcs++
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil {
			continue
		}
		listener, ok := nss[ns]
		if !ok {
			continue
		}
		s.LabProcs++
		if pid != listener {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.HasPrefix(string(comm), "sshd") {
				s.SSHDSessions++
			}
		}
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	s.HarnessFDs = len(fds)
	for _, h := range l.Hosts {
		root := fmt.Sprintf("/proc/%d/root", h.PID())
		if es, err := os.ReadDir(root + "/var/lib/accessctl"); err == nil {
			for _, e := range es {
				if e.Name() != "state.json" {
					s.HostFiles++
				}
			}
		}
		if es, err := os.ReadDir(root + "/etc/sudoers.d"); err == nil {
			for _, e := range es {
				if n := e.Name(); n != "accessctl" && n != "labadmin" && n != "README" {
					s.HostFiles++
				}
			}
		}
		homes, _ := filepath.Glob(root + "/home/*/.ssh")
		for _, d := range homes {
			es, _ := os.ReadDir(d)
			for _, e := range es {
				if e.Name() != "authorized_keys" {
					s.HostFiles++
				}
			}
		}
	}
	return s
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fleet: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(1)
}
