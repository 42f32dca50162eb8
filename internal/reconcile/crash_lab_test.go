package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// hostSnapshot is everything an apply may touch on a lab host, with modes and owners: two
// snapshots are equal when the host is byte-for-byte as it was. Times are left out.
// The admin's home (sudo drops a marker file there) and the journal of runs (kept until the
// next run) are not part of it.
const hostSnapshot = `cat /etc/passwd /etc/shadow /etc/group /etc/gshadow
cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/sudoers.d/* 2>&1
find /etc/sudoers.d /etc/ssh /home -path /home/labadmin -prune -o \
	\( -type f -printf '%M %u %g %s %p\n' \) -o \( ! -type f -printf '%M %u %g %p\n' \) 2>/dev/null | sort
find /var/lib/accessctl -mindepth 1 -path /var/lib/accessctl/run -prune -o -printf '%M %u %g %s %p\n' 2>/dev/null | sort
for h in /home/*; do [ "$h" = /home/labadmin ] || cat "$h/.ssh/authorized_keys" 2>&1; done
ls /etc/*.lock 2>&1
/usr/sbin/sshd -T | sort
true`

// leftovers lists what a finished run must not leave: temporary files, shadow lock files,
// backups, and the files of runs that have ended.
const leftovers = `find /home /etc /var/lib/accessctl -name '.accessctl.*' -o -name '*.accessctl-restore' 2>/dev/null
ls /etc/*.lock 2>/dev/null
ls -A /var/lib/accessctl/backup 2>/dev/null
true`

// crashManifest makes every kind of Linux step on a fresh lab host: a group, three new users
// (one locked, one with a password hash), keys, sudo, a user removed and sshd settings.
func crashManifest(t *testing.T, l *lab.Lab, alicePub string) *manifest.Manifest {
	m := testManifest(t)
	m.Keypairs = append(m.Keypairs, manifest.Keypair{Name: "alice-lab", PublicKey: alicePub})
	m.Users[0].Keypairs = []manifest.Binding{{Keypair: "alice-lab"}}
	m.Users[3].UID = ptr(2104)
	m.HostGroups[0].Sshd = &manifest.Sshd{PasswordAuthentication: ptr(false), PermitRootLogin: ptr("no")}
	m.Hosts = l.ManifestHosts("web")
	return m
}

// waitRunsEnded waits until no apply process of accessctl runs on the host.
func waitRunsEnded(t *testing.T, h *lab.Host) {
	t.Helper()
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.TrimSpace(h.MustExec(t, "pgrep -f 'accessctl/run/.*[.]sh apply' || true")) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an apply run is still going on the host")
		}
	}
}

var stepRE = regexp.MustCompile(`(?m)^\tstep ([0-9]+) `)

// TestInterruptEveryStep interrupts an apply at every step of its generated script, in two
// ways: the controller's session killed (a lost CI runner, a dropped VPN: the host must roll
// back on its own and be byte-identical to before at once), and the host-side process killed
// (a crash: the next run restores it before anything else). After each interruption nothing is
// left behind; at the end a normal apply converges, the next plan is empty, and the users log
// in (or not) as the manifest says.
func TestInterruptEveryStep(t *testing.T) {
	l, host, cfg, conn := aliceHost(t, "crash")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	keyFile := filepath.Join(t.TempDir(), "alice")
	signer, err := lab.GenerateKey(keyFile, "alice@lab")
	if err != nil {
		t.Fatal(err)
	}
	m := crashManifest(t, l, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))+" alice@lab")
	host.MustExec(t, "useradd -m carol && mkdir -p /var/lib/accessctl-test")
	before := host.MustExec(t, hostSnapshot)
	o := Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now()), Now: time.Now(), Recover: true}
	redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, cfg) }
	ao := ApplyOptions{Login: l.AdminUser, Now: time.Now(), Waits: Waits{Lock: 60 * time.Second, Confirm: 20 * time.Second}}

	hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if hp.Status != StatusOK || len(hp.Changes) == 0 {
		t.Fatalf("plan: %s %s", hp.Status, hp.Error)
	}
	script, err := LinuxApplyScript(hp, "count", time.Now(), Waits{})
	if err != nil {
		t.Fatal(err)
	}
	steps := len(stepRE.FindAllString(script, -1))
	if steps < 14 {
		t.Fatalf("only %d steps in the script", steps)
	}
	for step := 1; step <= steps; step++ {
		for _, mode := range []string{"controller", "host"} {
			host.MustExec(t, fmt.Sprintf("echo '%d %s' >/var/lib/accessctl-test/fault", step, mode))
			if mode == "host" && step == 4 {
				// A useradd killed mid-way leaves shadow's lock files with its (dead) pid.
				host.MustExec(t, "echo 999999 >/etc/passwd.lock; echo 999999 >/etc/group.lock")
			}
			hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
			if hp.Status != StatusOK {
				t.Fatalf("step %d %s: plan: %s", step, mode, hp.Error)
			}
			res := ApplyHost(ctx, hp, hp.Live, conn, redial, ao)
			if res.Outcome == Applied {
				t.Fatalf("step %d %s: applied although interrupted", step, mode)
			}
			if mode == "controller" {
				// The host rolls back by itself, at once: as before, nothing left.
				waitRunsEnded(t, host)
				if got := host.MustExec(t, hostSnapshot); got != before {
					t.Fatalf("step %d: the controller went away and the host is not as before:\n%s", step, diffLines(before, got))
				}
			} else {
				waitRunsEnded(t, host)
				// The next run restores it (here: the read of an apply), before planning.
				if err := Recover(ctx, conn, false, Waits{Lock: 30 * time.Second}); err != nil {
					t.Fatalf("step %d: recover: %v", step, err)
				}
				if got := host.MustExec(t, hostSnapshot); got != before {
					t.Fatalf("step %d: the host process was killed and the next run did not restore the host:\n%s", step, diffLines(before, got))
				}
			}
			if left := strings.TrimSpace(host.MustExec(t, leftovers)); left != "" {
				t.Fatalf("step %d %s: left behind:\n%s", step, mode, left)
			}
		}
	}

	// Uninterrupted, it converges.
	hp = PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if res := ApplyHost(ctx, hp, hp.Live, conn, redial, ao); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	if hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o); len(hp.Changes) != 0 {
		t.Errorf("changes after apply: %+v", hp.Changes)
	}
	if left := strings.TrimSpace(host.MustExec(t, leftovers+"\nls -A /var/lib/accessctl/run 2>/dev/null; true")); left != "" {
		t.Errorf("left behind after apply: %s", left)
	}
	if r, err := lab.SSH(ctx, host, "alice", keyFile, "sudo -n true && echo root-ok"); err != nil || !strings.Contains(r.Stdout, "root-ok") {
		t.Errorf("alice: login and sudo: %+v %v", r, err)
	}
	// alice leaves a group the manifest no longer lists for her (the new op of issue 9's note).
	m.Users[0].Groups = nil
	hp = PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if res := ApplyHost(ctx, hp, hp.Live, conn, redial, ao); res.Outcome != Applied {
		t.Fatalf("apply without the group: %s %v", res.Outcome, res.Err)
	}
	if out := host.MustExec(t, "id -nG alice"); strings.Contains(out, "developers") {
		t.Errorf("alice is still in developers: %q", out)
	}
	if hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o); len(hp.Changes) != 0 {
		t.Errorf("changes after leaving the group: %+v", hp.Changes)
	}
	if out := host.MustExec(t, "getent passwd carol || echo gone"); out != "gone\n" {
		t.Errorf("carol: %q", out)
	}
	if out := host.MustExec(t, "/usr/sbin/sshd -T | grep -E '^(passwordauthentication|permitrootlogin) '"); out != "permitrootlogin no\npasswordauthentication no\n" {
		t.Errorf("sshd: %q", out)
	}
}

// diffLines shows the lines of b that differ from a (a short, readable failure).
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "line "+strconv.Itoa(i+1)+":\n  before: "+x+"\n  now:    "+y)
		}
		if len(out) > 10 {
			break
		}
	}
	return strings.Join(out, "\n")
}
