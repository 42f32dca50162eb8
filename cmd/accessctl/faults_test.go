package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/lab"
)

// This file proves SPEC §7 under faults on a lab of REAL OpenSSH hosts (issue 6 item 4): one host
// unreachable, hanging, with a changed host key, with a full disk, without sudo, with its
// connection cut mid-apply, and accessctl itself SIGKILLed mid-apply. In each case the other hosts
// finish, the JSON report says what happened to the faulty one, and nothing is half-written.

// rig is a lab plus the files a manifest needs; the helpers of faults_test.go, hostile_test.go and
// secrets_test.go share it.
type rig struct {
	lab  *lab.Lab
	dir  string
	pub  map[string]string // key pair name -> public key line
	priv map[string]string // key pair name -> private key file
	env  map[string]string // what the CLI sees through getenv
}

var rigKeypairs = []string{"alice-laptop", "bob-desk", "carl-ci"}

func newRig(t *testing.T, specs ...lab.HostSpec) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), pub: map[string]string{}, priv: map[string]string{}, env: map[string]string{}}
	if len(specs) > 0 {
		r.lab = lab.New(t, specs...)
	}
	for _, k := range rigKeypairs {
		p := filepath.Join(r.dir, k)
		if _, err := lab.GenerateKey(p, k+"@test"); err != nil {
			t.Fatal(err)
		}
		r.priv[k] = p
		r.pub[k] = strings.TrimSpace(readString(t, p+".pub"))
	}
	return r
}

// manifest writes access.yaml: the rig's key pairs, users (the users: section as YAML), one host
// group "all" with groupUsers and Debian-style sshd settings, and every lab host (or none).
func (r *rig) manifest(t *testing.T, users, groupUsers string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: accessctl/v1\nkeypairs:\n")
	for _, k := range rigKeypairs {
		fmt.Fprintf(&b, "  - name: %s\n    publicKey: %s\n", k, r.pub[k])
	}
	b.WriteString("users:\n" + users)
	fmt.Fprintf(&b, "hostGroups:\n  - name: all\n    users: [%s]\n    sshd:\n      passwordAuthentication: false\n      pubkeyAuthentication: true\n      kbdInteractiveAuthentication: false\n      permitRootLogin: \"no\"\n", groupUsers)
	if r.lab != nil {
		b.WriteString("hosts:\n")
		for _, h := range r.lab.ManifestHosts("all") {
			fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [all]\n", h.Name, h.Address, h.Port, h.User)
		}
	}
	return r.write(t, "access.yaml", b.String())
}

func (r *rig) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleetArgs are the connection flags every plan/apply against the lab needs.
func (r *rig) fleetArgs() []string {
	return []string{"--known-hosts", r.lab.KnownHostsFile, "--identity", r.lab.IdentityFile, "--ssh-config", "none",
		"--connect-timeout", "2s", "--timeout", "20s"}
}

// cli runs accessctl in-process: args[0] is the command; nothing from the process environment
// except what r.env holds (and SSH_AUTH_SOCK, which the tests clear).
func (r *rig) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return r.env[k] }}
	cmd, ok := commands[args[0]]
	if !ok {
		t.Fatalf("no command %q", args[0])
	}
	code := cmd.run(c, args[1:])
	return code, stdout.String(), stderr.String()
}

// fleet runs plan or apply against the lab with the rig's manifest.
func (r *rig) fleet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	full := append([]string{args[0]}, r.fleetArgs()...)
	full = append(full, "-f", filepath.Join(r.dir, "access.yaml"))
	return r.cli(t, append(full, args[1:]...)...)
}

// jsonReport is the part of the JSON plan/apply report the tests read.
type jsonReport struct {
	FormatVersion string `json:"formatVersion"`
	Hosts         []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Error   string `json:"error"`
		Changes []struct {
			Action, Resource, Name, Reason string
		} `json:"changes"`
	} `json:"hosts"`
	Summary struct {
		Create, Update, Delete, HostsFailed int
	} `json:"summary"`
}

func parseReport(t *testing.T, out string) *jsonReport {
	t.Helper()
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return &rep
}

// status returns a host's status and error in the report.
func (rep *jsonReport) status(name string) (string, string) {
	for _, h := range rep.Hosts {
		if h.Name == name {
			return h.Status, h.Error
		}
	}
	return "(missing)", ""
}

// wantHosts checks every host's status: want maps a host to its status and a substring of its
// error ("" for none); hosts not in want must be "applied".
func (rep *jsonReport) wantHosts(t *testing.T, want map[string][2]string) {
	t.Helper()
	for _, h := range rep.Hosts {
		w, ok := want[h.Name]
		if !ok {
			w = [2]string{"applied", ""}
		}
		if h.Status != w[0] || (w[1] != "" && !strings.Contains(h.Error, w[1])) || (w[1] == "" && h.Error != "") {
			t.Errorf("host %s: status %q error %q; want status %q error containing %q", h.Name, h.Status, h.Error, w[0], w[1])
		}
	}
	if len(rep.Hosts) == 0 {
		t.Error("report lists no host")
	}
	// The closing summary counts every host that failed or was rolled back (issue 11).
	failed := 0
	for _, h := range rep.Hosts {
		if h.Status != "applied" && h.Status != "ok" {
			failed++
		}
	}
	if rep.Summary.HostsFailed != failed {
		t.Errorf("summary.hostsFailed = %d, want %d (hosts not applied)", rep.Summary.HostsFailed, failed)
	}
}

// execOK runs a script on a lab host and returns its stdout, failing the test on a non-zero exit.
func execOK(t *testing.T, h *lab.Host, script string) string {
	t.Helper()
	return h.MustExec(t, script)
}

// acceptedLogins counts the successful logins sshd logged for the lab admin.
func acceptedLogins(h *lab.Host) int {
	return strings.Count(h.Log(), "Accepted publickey for "+lab.AdminUser)
}

// consistent asserts nothing on h is half-written: every authorized_keys accessctl manages parses
// whole and starts with its header, the sudoers tree passes visudo -c, sshd -t passes, and no
// temporary file of accessctl is left beside a target.
func consistent(t *testing.T, h *lab.Host, users ...string) {
	t.Helper()
	for _, u := range users {
		home := strings.TrimSpace(execOK(t, h, "getent passwd "+hoststate.ShellQuote(u)+" | cut -d: -f6"))
		if home == "" {
			continue
		}
		b, err := h.ReadFile(home + "/.ssh/authorized_keys")
		if err != nil {
			continue // never written: fine
		}
		keys, invalid := hoststate.ParseAuthorizedKeys(string(b))
		if invalid != 0 || !strings.HasPrefix(string(b), "# managed by accessctl\n") || !strings.HasSuffix(string(b), "\n") {
			t.Errorf("%s: %s's authorized_keys is not whole (%d keys, %d invalid lines):\n%s", h.Name, u, len(keys), invalid, b)
		}
	}
	out := execOK(t, h, `visudo -c >/dev/null 2>&1 && echo sudoers-ok; mkdir -p /run/sshd; /usr/sbin/sshd -t && echo sshd-ok
for f in /etc/sudoers.d/.accessctl.* /etc/ssh/.accessctl.* /etc/ssh/sshd_config.d/.accessctl.* /var/lib/accessctl/.accessctl.* /home/*/.ssh/.accessctl.*; do [ -e "$f" ] && echo "temp file left: $f"; done; true`)
	if !strings.Contains(out, "sudoers-ok") || !strings.Contains(out, "sshd-ok") {
		t.Errorf("%s: sudoers or sshd configuration broken: %s", h.Name, out)
	}
	if strings.Contains(out, "temp file left") {
		t.Errorf("%s: %s", h.Name, out)
	}
	if b, err := h.ReadFile(hoststate.StatePath); err == nil && !json.Valid(b) {
		t.Errorf("%s: state.json is not whole JSON:\n%s", h.Name, b)
	}
}

// faultUsers is the users: section of the fault tests: alice (sudo), bob, and extra, which
// changes per sub-test so that every apply has something to do on every host.
func faultUsers(extra string, sudo bool) string {
	s := "  - name: alice\n    sudo: nopasswd\n    keypairs: [alice-laptop]\n  - name: bob\n    keypairs: [bob-desk]\n"
	s += "  - name: " + extra + "\n    keypairs: [carl-ci]\n"
	if sudo {
		s += "    sudo: true\n"
	}
	return s
}

// TestFaults: one lab of three hosts; in each sub-test host "f1" suffers a fault during an apply
// that changes every host, and the report (JSON, exit 3) says what happened to it while "f2"
// and "f3" are applied.
func TestFaults(t *testing.T) {
	r := newRig(t, lab.HostSpec{Name: "f1"}, lab.HostSpec{Name: "f2"}, lab.HostSpec{Name: "f3"})
	f1 := r.lab.Host("f1")
	ctx := context.Background()

	r.manifest(t, faultUsers("u0", false), "alice, bob, u0")
	if code, out, errOut := r.fleet(t, "apply", "--yes"); code != exitOK {
		t.Fatalf("initial apply: exit %d\n%s\n%s", code, out, errOut)
	}
	step := 0
	// applyFault writes a manifest with a new extra user and applies it as JSON.
	applyFault := func(t *testing.T, sudo bool) (int, *jsonReport, string, time.Duration) {
		t.Helper()
		step++
		u := fmt.Sprintf("u%d", step)
		r.manifest(t, faultUsers(u, sudo), "alice, bob, "+u)
		start := time.Now()
		code, out, errOut := r.fleet(t, "apply", "--yes", "--format", "json")
		took := time.Since(start)
		t.Logf("apply (%v): exit %d\nstderr:\n%s", took.Round(time.Millisecond), code, errOut)
		return code, parseReport(t, out), errOut, took
	}
	// healed re-applies after the fault is gone: every host converges, the next plan is empty.
	healed := func(t *testing.T) {
		t.Helper()
		if code, out, errOut := r.fleet(t, "apply", "--yes"); code != exitOK {
			t.Fatalf("apply after the fault: exit %d\n%s\n%s", code, out, errOut)
		}
		if code, out, errOut := r.fleet(t, "plan", "--detailed-exitcode"); code != exitOK {
			t.Fatalf("plan after the fault: exit %d\n%s\n%s", code, out, errOut)
		}
		for _, h := range r.lab.Hosts {
			consistent(t, h, "alice", "bob", fmt.Sprintf("u%d", step))
		}
	}

	t.Run("unreachable", func(t *testing.T) {
		if err := f1.Stop(); err != nil {
			t.Fatal(err)
		}
		code, rep, _, _ := applyFault(t, false)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"error", "connection refused"}})
		if err := f1.Start(ctx); err != nil {
			t.Fatal(err)
		}
		healed(t)
	})

	t.Run("hanging", func(t *testing.T) {
		if err := f1.Pause(); err != nil {
			t.Fatal(err)
		}
		defer f1.Resume()
		code, rep, _, took := applyFault(t, false)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"error", "connect timeout (2s)"}})
		if took > 15*time.Second {
			t.Errorf("a hanging host held the run for %v despite --connect-timeout 2s", took)
		}
		f1.Resume()
		healed(t)
	})

	t.Run("host-key-changed", func(t *testing.T) {
		if err := f1.RegenerateHostKey(ctx); err != nil {
			t.Fatal(err)
		}
		before := acceptedLogins(f1)
		code, rep, _, _ := applyFault(t, false)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"error", "host key"}})
		// Nothing was sent: the client never authenticated, so sshd logged no login.
		if after := acceptedLogins(f1); after != before {
			t.Errorf("f1 accepted %d logins with a changed host key", after-before)
		}
		if out := execOK(t, f1, "getent passwd u"+strconv.Itoa(step)+" || echo absent"); out != "absent\n" {
			t.Errorf("user created on the host whose key changed: %s", out)
		}
		if err := r.lab.WriteKnownHosts(); err != nil {
			t.Fatal(err)
		}
		healed(t)
	})

	t.Run("sudo-refused", func(t *testing.T) {
		sudoers, err := f1.ReadFile("/etc/sudoers.d/labadmin")
		if err != nil {
			t.Fatal(err)
		}
		execOK(t, f1, "rm /etc/sudoers.d/labadmin")
		code, rep, _, _ := applyFault(t, false)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"error", "passwordless sudo"}})
		if err := f1.WriteFile("/etc/sudoers.d/labadmin", sudoers, 0o440); err != nil {
			t.Fatal(err)
		}
		healed(t)
	})

	t.Run("sudo-missing", func(t *testing.T) {
		// sudo is not installed: a mount inside f1 only hides the binary.
		execOK(t, f1, "printf '#!/bin/sh\\necho \"sh: 1: sudo: not found\" >&2\\nexit 127\\n' >/run/nosudo && chmod 755 /run/nosudo && mount --bind /run/nosudo /usr/bin/sudo")
		code, rep, _, _ := applyFault(t, false)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"error", "sudo: not found"}})
		execOK(t, f1, "umount /usr/bin/sudo")
		healed(t)
	})

	t.Run("disk-full", func(t *testing.T) {
		// alice's ~/.ssh on f1 becomes a full 16 KiB tmpfs holding her current file.
		old, err := f1.ReadFile("/home/alice/.ssh/authorized_keys")
		if err != nil {
			t.Fatal(err)
		}
		execOK(t, f1, `set -e
cp -a /home/alice/.ssh/authorized_keys /run/ak
mount -t tmpfs -o size=16k,mode=700,uid=$(id -u alice),gid=$(id -g alice) tmpfs /home/alice/.ssh
cp -a /run/ak /home/alice/.ssh/authorized_keys
dd if=/dev/zero of=/home/alice/.ssh/filler bs=1k count=64 2>/dev/null || true`)
		defer f1.Exec(ctx, "umount /home/alice/.ssh", nil)
		// The change: alice gets a second key.
		step++
		u := fmt.Sprintf("u%d", step)
		users := strings.Replace(faultUsers(u, false), "keypairs: [alice-laptop]", "keypairs: [alice-laptop, carl-ci]", 1)
		r.manifest(t, users, "alice, bob, "+u)
		code, out, errOut := r.fleet(t, "apply", "--yes", "--format", "json")
		t.Logf("apply: exit %d\n%s", code, errOut)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		parseReport(t, out).wantHosts(t, map[string][2]string{"f1": {"rolled back", "/home/alice/.ssh/authorized_keys"}})
		if now, _ := f1.ReadFile("/home/alice/.ssh/authorized_keys"); !bytes.Equal(now, old) {
			t.Errorf("authorized_keys changed on a full disk:\n%s\nwas:\n%s", now, old)
		}
		if out := execOK(t, f1, "getent passwd "+u+" || echo absent; ls -A /home/alice/.ssh"); out != "absent\nauthorized_keys\nfiller\n" {
			t.Errorf("after the rollback: %s", out)
		}
		execOK(t, f1, "umount /home/alice/.ssh")
		healed(t)
	})

	t.Run("connection-cut", func(t *testing.T) {
		// visudo on f1 takes 3 s (a wrapper bound over it in f1 only), so the apply is slow there;
		// meanwhile the test kills f1's sshd session processes: the connection drops mid-apply.
		execOK(t, f1, `set -e
cp /usr/sbin/visudo /run/visudo.real
printf '#!/bin/sh\ntouch /run/slow-started\nsleep 3\nexec /run/visudo.real "$@"\n' >/run/visudo.slow
chmod 755 /run/visudo.slow
rm -f /run/slow-started
mount --bind /run/visudo.slow /usr/sbin/visudo`)
		defer f1.Exec(ctx, "umount /usr/sbin/visudo", nil)
		var wg sync.WaitGroup
		var killed []int
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := f1.ReadFile("/run/slow-started"); err == nil {
					killed = killSessions(f1)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		code, rep, _, _ := applyFault(t, true)
		wg.Wait()
		if len(killed) == 0 {
			t.Fatal("the apply never reached visudo on f1; nothing was cut")
		}
		t.Logf("killed sshd session processes %v", killed)
		if code != exitHost {
			t.Errorf("exit %d, want %d", code, exitHost)
		}
		rep.wantHosts(t, map[string][2]string{"f1": {"failed", "the host finishes or rolls back run"}})
		// Let the orphaned script on f1 end (it outlives its session), then check nothing is half-written.
		time.Sleep(4 * time.Second)
		consistent(t, f1, "alice", "bob", fmt.Sprintf("u%d", step))
		execOK(t, f1, "umount /usr/sbin/visudo")
		healed(t)
	})
}

// killSessions SIGKILLs the sshd processes of h other than its listener: every open SSH
// connection to h drops, as when a network path dies.
func killSessions(h *lab.Host) []int {
	listener := h.PID()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", listener))
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var killed []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == listener {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err != nil || l != ns {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if c := strings.TrimSpace(string(comm)); c == "sshd" || c == "sshd-session" {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = append(killed, pid)
			}
		}
	}
	return killed
}

// TestKilledMidApply runs `accessctl apply --yes` as a separate process (this test binary, which
// TestMain turns into accessctl), waits until the apply script is running on a host (its backup
// directory appears), SIGKILLs accessctl after various further delays, and checks that the hosts
// are never half-written and that the next apply converges (a second plan is empty).
func TestKilledMidApply(t *testing.T) {
	r := newRig(t, lab.HostSpec{Name: "k1"}, lab.HostSpec{Name: "k2"}, lab.HostSpec{Name: "k3"}, lab.HostSpec{Name: "k4"})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Manifests alternate, so every run has work on every host: users, keys, sudoers.
	variants := []struct{ users, group string }{
		{faultUsers("v1", true), "alice, bob, v1"},
		{strings.Replace(faultUsers("v2", false), "keypairs: [bob-desk]", "keypairs: [bob-desk, alice-laptop]", 1), "alice, bob, v2"},
	}
	// Fixed moments, and random ones (the seed is logged to replay a failure).
	seed := time.Now().UnixNano()
	rnd := rand.New(rand.NewSource(seed))
	t.Logf("random kill delays from seed %d", seed)
	delays := []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond,
		time.Duration(rnd.Int63n(int64(time.Second))), time.Duration(rnd.Int63n(int64(1500 * time.Millisecond)))}
	midApply := 0
	for i, delay := range delays {
		v := variants[i%len(variants)]
		r.manifest(t, v.users, v.group)
		args := append([]string{"apply"}, r.fleetArgs()...)
		args = append(args, "-f", filepath.Join(r.dir, "access.yaml"), "--yes")
		cmd := &exec.Cmd{Path: exe, Args: append([]string{"accessctl"}, args...), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir}}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		seen := map[string]bool{}
		for _, h := range r.lab.Hosts {
			ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/root/var/lib/accessctl/backup", h.PID()))
			for _, e := range ents {
				seen[h.Name+"/"+e.Name()] = true
			}
		}
		started := false
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !started; {
			for _, h := range r.lab.Hosts {
				ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/root/var/lib/accessctl/backup", h.PID()))
				for _, e := range ents {
					if !seen[h.Name+"/"+e.Name()] {
						started = true
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(delay)
		running := 0
		for _, h := range r.lab.Hosts {
			running += len(hostProcs(h, ".sh apply"))
		}
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if !started {
			t.Fatalf("delay %v: the apply never started on a host: %v\n%s", delay, err, out.String())
		}
		if running > 0 {
			midApply++
		}
		t.Logf("delay %v: killed %v after start (%d apply processes running on the hosts at the kill)", delay, time.Since(t0).Round(time.Millisecond), running)
		t1 := time.Now()
		// A host-side run the kill left goes on by itself and rolls back (its controller is gone).
		// After the fixed delays, wait for it: then nothing may be half-written. After the random
		// ones, re-run at once: the re-run waits for the host's lock.
		if i < 3 {
			for _, h := range r.lab.Hosts {
				for deadline := time.Now().Add(40 * time.Second); len(hostProcs(h, ".sh apply")) > 0 && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				consistent(t, h, "alice", "bob", "v1", "v2")
			}
			t.Logf("orphans gone after %v", time.Since(t1).Round(time.Millisecond))
		}
		if code, out, errOut := r.fleet(t, "apply", "--yes"); code != exitOK {
			t.Fatalf("delay %v: apply after the kill: exit %d\n%s\n%s", delay, code, out, errOut)
		}
		if code, out, errOut := r.fleet(t, "plan", "--detailed-exitcode"); code != exitOK {
			t.Fatalf("delay %v: plan after the re-run is not empty: exit %d\n%s\n%s", delay, code, out, errOut)
		}
		for _, h := range r.lab.Hosts {
			consistent(t, h, "alice", "bob", "v1", "v2")
			if c := loginCode(t, h, "alice", r.priv["alice-laptop"]); c != 0 {
				t.Errorf("delay %v: %s: alice cannot log in after the re-run (exit %d)", delay, h.Name, c)
			}
		}
	}
	if midApply == 0 {
		t.Error("no kill landed while an apply script ran on a host; the test proved nothing")
	}
}

// hostProcs lists the processes of lab host h whose command line contains substr.
func hostProcs(h *lab.Host, substr string) []int {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", h.PID()))
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err != nil || l != ns {
			continue
		}
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(strings.ReplaceAll(string(cl), "\x00", " "), substr) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func loginCode(t *testing.T, h *lab.Host, user, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := lab.SSH(ctx, h, user, key, "true")
	if err != nil {
		t.Fatal(err)
	}
	return res.Code
}
