package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// TestMixedFleet plans and applies one manifest across a real Linux lab host (sshd, useradd,
// sudo) and two SIMULATED Windows hosts (WinRM over real HTTP), through the reconcile API: the
// CLI's dispatch on host OS is not wired to Windows yet (see docs/windows.md).
func TestMixedFleet(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "lin"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w1, w2 := newWinFixture(t, "WIN-A"), newWinFixture(t, "WIN-B")

	linHosts := l.ManifestHosts("win") // the Linux host joins the same group
	m := winManifest(t, append(linHosts, winHost("win-a"), winHost("win-b"))...)
	m.Users[0].Password = nil // alice: keys only, so the Linux side needs no hash
	lin := l.Hosts[0]
	cfg := sshtr.Config{Name: lin.Name, Addr: lin.Addr, Port: lin.Port, User: l.AdminUser,
		KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}}
	redialLin := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, cfg) }
	linConn, err := sshtr.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer linConn.Close()

	// Plan every host of the manifest; one plan for the fleet.
	var hps []*HostPlan
	wins := map[string]*HostPlan{}
	fixtures := map[string]*winFixture{"win-a": w1, "win-b": w2}
	for i, h := range m.Hosts {
		path := "hosts[" + string(rune('0'+i)) + "]"
		if h.OS == "windows" {
			f := fixtures[h.Name]
			conn, err := f.dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wp := PlanWindowsHost(ctx, m, h, path, conn, Options{Login: winLogin})
			wins[h.Name] = wp
			hps = append(hps, wp)
			continue
		}
		hps = append(hps, PlanHost(ctx, m, h, path, linConn, Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now())}))
	}
	plan := NewPlan(hps)
	if plan.Summary.HostsFailed != 0 || len(plan.Hosts) != 3 {
		for _, h := range plan.Hosts {
			t.Logf("%s: %s %s", h.Name, h.Status, h.Error)
		}
		t.Fatalf("plan: %+v", plan.Summary)
	}
	for _, h := range plan.Hosts {
		if len(h.Changes) == 0 {
			t.Errorf("%s: no changes planned", h.Name)
		}
	}

	// Apply every host.
	for _, hp := range plan.Hosts {
		var res Result
		if wp := wins[hp.Name]; wp != nil {
			f := fixtures[hp.Name]
			conn, _ := f.dial(ctx)
			res = ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv})
		} else {
			res = ApplyHost(ctx, hp, hp.Live, linConn, redialLin, ApplyOptions{Login: l.AdminUser, Now: time.Now()})
		}
		if res.Outcome != Applied {
			t.Errorf("%s: %s %v", hp.Name, res.Outcome, res.Err)
		}
	}
	if out := lin.MustExec(t, "id -nG alice; getent passwd bob carol | cut -d: -f1"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Errorf("linux host: %s", out)
	}
	for _, f := range []*winFixture{w1, w2} {
		if !f.host.IsMember(hoststate.SIDAdministrators, "alice") || f.host.User("carol").Enabled {
			t.Errorf("%s not applied", f.host.Computer)
		}
	}
	// The fleet is in sync: a second plan has no change anywhere.
	for _, h := range m.Hosts {
		if h.OS == "windows" {
			conn, _ := fixtures[h.Name].dial(ctx)
			if wp := PlanWindowsHost(ctx, m, h, "", conn, Options{Login: winLogin}); len(wp.Changes) != 0 {
				t.Errorf("%s: %+v", h.Name, wp.Changes)
			}
			continue
		}
		if hp := PlanHost(ctx, m, h, "", linConn, Options{Login: l.AdminUser, Today: DaysSinceEpoch(time.Now())}); len(hp.Changes) != 0 {
			t.Errorf("%s: %+v", h.Name, hp.Changes)
		}
	}
	_ = manifest.StatePresent
}
