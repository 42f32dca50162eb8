package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// TestApplyRollsBackWhenWayInFails applies a real host, then makes the fresh-connection check
// fail: the host must be restored to exactly what it was.
func TestApplyRollsBackWhenWayInFails(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "rb", Variant: lab.NoInclude})
	host := l.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := sshtr.Config{Name: host.Name, Addr: host.Addr, Port: host.Port, User: l.AdminUser,
		KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}}
	conn, err := sshtr.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	m := testManifest(t)
	m.Users = append(m.Users[:1], m.Users[3]) // alice and dave
	m.Users[1].Password = &manifest.Password{Hash: daveHash}
	m.HostGroups[0].Users = []string{"alice", "dave"}
	m.Hosts = l.ManifestHosts("web")
	snapshot := "cat /etc/passwd /etc/shadow /etc/group /etc/ssh/sshd_config; ls -a /home /etc/sudoers.d; ls /var/lib/accessctl 2>&1; true"
	before := host.MustExec(t, snapshot)

	o := Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now())}
	hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if hp.Status != StatusOK || len(hp.Changes) == 0 {
		t.Fatalf("plan: %s %s %v", hp.Status, hp.Error, hp.Changes)
	}
	failing := func(context.Context) (transport.Conn, error) { return nil, errors.New("simulated: refused") }
	res := ApplyHost(ctx, hp, hp.Live, conn, failing, ApplyOptions{Login: l.AdminUser, Now: time.Now()})
	if res.Outcome != RolledBack || res.Err == nil || !strings.Contains(res.Err.Error(), "could not log in again") {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if after := host.MustExec(t, snapshot); after != before {
		t.Errorf("host not restored:\n--- before\n%s\n--- after\n%s", before, after)
	}

	// The same plan with a working way in applies, and dave can log in with his key.
	hp = PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, cfg) }
	if res := ApplyHost(ctx, hp, hp.Live, conn, redial, ApplyOptions{Login: l.AdminUser, Now: time.Now()}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	if got := host.MustExec(t, "getent shadow dave | cut -d: -f2"); strings.TrimSpace(got) != daveHash {
		t.Errorf("dave's hash %q", got)
	}
	hp = PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if len(hp.Changes) != 0 {
		t.Errorf("changes after apply: %+v", hp.Changes)
	}
}

// TestConcurrentApplyRefused holds the host's apply lock (as a still-running earlier apply
// would) and checks a second apply fails clearly and changes nothing.
func TestConcurrentApplyRefused(t *testing.T) {
	l, host, cfg, conn := aliceHost(t, "lock")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := aliceManifest(t, l)
	o := Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now())}
	hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if hp.Status != StatusOK || len(hp.Changes) == 0 {
		t.Fatalf("plan: %s %s", hp.Status, hp.Error)
	}
	// An earlier apply still holds the lock for a few seconds.
	go host.Exec(ctx, "exec flock /run/accessctl-apply.lock sleep 8", nil)
	deadline := time.Now().Add(5 * time.Second)
	for host.MustExec(t, "flock -n /run/accessctl-apply.lock true && echo free || echo held") != "held\n" {
		if time.Now().After(deadline) {
			t.Fatal("the lock holder did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, cfg) }
	res := ApplyHost(ctx, hp, hp.Live, conn, redial, ApplyOptions{Login: l.AdminUser, Now: time.Now(), Waits: Waits{Lock: 2 * time.Second}})
	if res.Outcome == Applied || res.Err == nil || !strings.Contains(res.Err.Error(), "another accessctl apply held the host's lock for 2s") {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if out := host.MustExec(t, "getent passwd alice || echo none"); out != "none\n" {
		t.Errorf("alice was created despite the lock: %q", out)
	}
}

// TestCommitRemovesInterruptedBackups leaves the backup directory of a run that was killed
// mid-apply on a host; the next successful apply removes it at commit (it holds a copy of
// /etc/shadow).
func TestCommitRemovesInterruptedBackups(t *testing.T) {
	l, host, cfg, conn := aliceHost(t, "bk")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host.MustExec(t, "mkdir -p /var/lib/accessctl/backup/20200101T000000Z-dead && cp /etc/shadow /var/lib/accessctl/backup/20200101T000000Z-dead/1")
	m := aliceManifest(t, l)
	if hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now())}); hp.Status != StatusError || !strings.Contains(hp.Error, "killed mid-way") {
		t.Errorf("plan of a host with an interrupted run: %s %s", hp.Status, hp.Error)
	}
	hp := PlanHost(ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now()), Recover: true})
	redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, cfg) }
	if res := ApplyHost(ctx, hp, hp.Live, conn, redial, ApplyOptions{Login: l.AdminUser, Now: time.Now()}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	if out := host.MustExec(t, "ls -A /var/lib/accessctl/backup 2>/dev/null; true"); out != "" {
		t.Errorf("backups left after a committed apply: %q", out)
	}
}

// aliceHost starts a one-host lab and logs in to it as the lab's admin.
func aliceHost(t *testing.T, name string) (*lab.Lab, *lab.Host, sshtr.Config, *sshtr.Conn) {
	t.Helper()
	l := lab.New(t, lab.HostSpec{Name: name})
	host := l.Hosts[0]
	cfg := sshtr.Config{Name: host.Name, Addr: host.Addr, Port: host.Port, User: l.AdminUser,
		KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := sshtr.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return l, host, cfg, conn
}

// aliceManifest is testManifest with only alice, on the lab's hosts.
func aliceManifest(t *testing.T, l *lab.Lab) *manifest.Manifest {
	m := testManifest(t)
	m.Users = m.Users[:1] // alice
	m.HostGroups[0].Users = []string{"alice"}
	m.Hosts = l.ManifestHosts("web")
	return m
}
