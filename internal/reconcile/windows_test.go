package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	"github.com/accessctl/accessctl/internal/transport/winrm"
	"github.com/accessctl/accessctl/internal/winsim"
)

// Windows plan and apply against the SIMULATOR (internal/winsim) over real HTTP with
// masterzen/winrm. The simulator implements the READ/APPLY JSON contract; it runs no PowerShell.

const winLogin, winPassword = "ansible", "Winrm-Pa55word!"

type winFixture struct {
	host *winsim.Host
	srv  *winsim.Server
	cfg  winrm.Config
}

func newWinFixture(t *testing.T, computer string) *winFixture {
	t.Helper()
	h := winsim.NewHost(computer, winLogin, winPassword)
	s := winsim.Start(h, winLogin, winPassword)
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	port, _ := strconv.Atoi(u.Port())
	return &winFixture{host: h, srv: s, cfg: winrm.Config{Name: computer, Addr: u.Hostname(), Port: port, HTTP: true,
		Auth: winrm.AuthBasic, User: winLogin, Password: winPassword, OperationTimeout: 5 * time.Second}}
}

func (f *winFixture) dial(ctx context.Context) (transport.Conn, error) { return winrm.Dial(ctx, f.cfg) }

func winManifest(t *testing.T, hosts ...manifest.Host) *manifest.Manifest {
	return &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs: []manifest.Keypair{
			{Name: "alice-laptop", PublicKey: readFile(t, "testdata/alice.pub")},
			{Name: "bob-desk", PublicKey: readFile(t, "testdata/bob.pub")},
		},
		Users: []manifest.User{
			{Name: "alice", FullName: "Alice Liu", Sudo: manifest.SudoPassword, RDP: true, State: manifest.StatePresent,
				Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}, Password: &manifest.Password{Env: "ALICE_PW"}},
			{Name: "bob", FullName: "Bob Ng", Sudo: manifest.SudoNone, RDP: true, State: manifest.StatePresent,
				Keypairs: []manifest.Binding{{Keypair: "bob-desk", From: []string{"10.0.0.0/8"}}}},
			{Name: "carol", Sudo: manifest.SudoNone, State: manifest.StateLocked},
			{Name: "dave", Sudo: manifest.SudoNone, State: manifest.StateAbsent},
		},
		HostGroups: []manifest.HostGroup{{Name: "win", Users: []string{"alice", "bob", "carol"}}},
		Hosts:      hosts,
	}
}

func winHost(name string) manifest.Host {
	return manifest.Host{Name: name, Address: "127.0.0.1", OS: "windows", Transport: "winrm", Port: 5986, User: winLogin, Groups: []string{"win"}}
}

func winEnv(k string) (string, bool) {
	if k == "ALICE_PW" {
		return "Correct-Horse-42!", true
	}
	return "", false
}

func planWin(t *testing.T, f *winFixture, m *manifest.Manifest) *HostPlan {
	t.Helper()
	ctx := context.Background()
	conn, err := f.dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wp := PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: winLogin, LookupEnv: winEnv})
	if wp.Status != StatusOK {
		t.Fatalf("plan: %s", wp.Error)
	}
	return wp
}

func TestWindowsPlanApplyAgainstSimulator(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM1")
	f.host.AddUser("dave", "", false, true) // absent in the manifest
	f.host.AddUser("erin", "Erin", false, false)
	m := winManifest(t, winHost("win-1"))

	wp := planWin(t, f, m)
	view, _ := json.MarshalIndent(map[string]any{"changes": NewPlan([]*HostPlan{wp}).Public().Hosts[0].Changes, "unmanaged": wp.Unmanaged, "guard": wp.Guard}, "", "  ")
	golden(t, "windows_plan.golden.json", append(view, '\n'))

	// The payload APPLY gets, passwords redacted: a reviewed diff like the scripts.
	set, err := WindowsChangeSet(wp, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), winEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mustJSON(set), "Correct-Horse-42!") {
		t.Error("the payload lacks alice's password")
	}
	red := set.Redacted()
	for i := range red.Changes { // salted stamps differ per run
		if red.Changes[i].Op == winapply.OpWriteState {
			red.Changes[i].Content = "<state.json>"
		}
	}
	if strings.Contains(mustJSON(red), "Correct-Horse") || strings.Contains(mustJSON(wp), "Correct-Horse") {
		t.Error("a password leaked into the redacted payload or the plan")
	}
	payload, _ := json.MarshalIndent(red, "", "  ")
	golden(t, "windows_apply_payload.golden.json", append(payload, '\n'))

	ctx := context.Background()
	conn, _ := f.dial(ctx)
	if res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	h := f.host
	if !h.IsMember(hoststate.SIDAdministrators, "alice") || !h.IsMember(hoststate.SIDRemoteDesktopUsers, "alice") {
		t.Error("alice is not in Administrators and Remote Desktop Users")
	}
	if h.IsMember(hoststate.SIDAdministrators, "bob") || !h.IsMember(hoststate.SIDRemoteDesktopUsers, "bob") {
		t.Error("bob's groups")
	}
	if u := h.User("alice"); u == nil || u.Password != "Correct-Horse-42!" || u.FullName != "Alice Liu" {
		t.Errorf("alice: %+v", u)
	}
	if u := h.User("carol"); u == nil || u.Enabled {
		t.Errorf("carol is not disabled: %+v", u)
	}
	if h.User("dave") != nil || h.User("erin") == nil {
		t.Errorf("users: %v", h.Users())
	}
	ak := h.File(hoststate.WinAdminKeysPath)
	if ak == nil || !strings.Contains(ak.Content, readFile(t, "testdata/alice.pub")) || !ak.Protected || ak.Owner != hoststate.SIDAdministrators {
		t.Errorf("administrators_authorized_keys: %+v", ak)
	}
	bk := h.File(`C:\Users\bob\.ssh\authorized_keys`)
	if bk == nil || !strings.HasPrefix(bk.Content, ManagedHeader+"\nfrom=\"10.0.0.0/8\" ") || bk.Owner != h.User("bob").SID {
		t.Errorf("bob's keys: %+v", bk)
	}
	st := h.File(hoststate.WinStatePath)
	if st == nil || !strings.Contains(st.Content, `"alice"`) || strings.Contains(st.Content, "Correct-Horse") {
		t.Errorf("state.json: %+v", st)
	}

	// In sync now: the same manifest plans no change.
	if wp := planWin(t, f, m); len(wp.Changes) != 0 {
		t.Errorf("second plan: %+v", wp.Changes)
	}

	// A changed password is noticed through the stamp; the plan never shows it.
	m2 := winManifest(t, winHost("win-1"))
	m2.Users[0].Password = &manifest.Password{Env: "OTHER"}
	conn2, _ := f.dial(ctx)
	wp2 := PlanWindowsHost(ctx, m2, m2.Hosts[0], "hosts[0]", conn2, Options{Login: winLogin, LookupEnv: func(k string) (string, bool) {
		return "An0ther-Passw0rd!", k == "OTHER"
	}})
	if len(wp2.Changes) != 1 || wp2.Changes[0].Resource != ResPassword || strings.Contains(mustJSON(wp2), "An0ther") {
		t.Errorf("password change: %+v", wp2.Changes)
	}
}

func TestWindowsRollbackOnFailedChange(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM2")
	m := winManifest(t, winHost("win-2"))
	wp := planWin(t, f, m)
	before := f.host.Users()
	f.host.FailOn(winapply.OpAddMember, "bob", "Zugriff verweigert (SIMULATOR fault)")
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv})
	if res.Outcome != RolledBack || !strings.Contains(res.Err.Error(), "addMember bob") {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if got := f.host.Users(); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("users after rollback %v, before %v", got, before)
	}
	if f.host.File(hoststate.WinStatePath) != nil || f.host.File(hoststate.WinAdminKeysPath) != nil {
		t.Error("files left after rollback")
	}
}

func TestWindowsWayInFailureRestores(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM3")
	m := winManifest(t, winHost("win-3"))
	wp := planWin(t, f, m)
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	failing := func(context.Context) (transport.Conn, error) { return nil, errors.New("simulated: refused") }
	res := ApplyHost(ctx, wp, wp.Live, conn, failing, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv})
	if res.Outcome != RolledBack || !strings.Contains(res.Err.Error(), "could not log in again") {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if f.host.User("alice") != nil || f.host.User("bob") != nil {
		t.Errorf("created users not removed: %v", f.host.Users())
	}
}

func TestWindowsLockoutGuard(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM4")
	m := winManifest(t, winHost("win-4"))
	// The login account itself is named absent: the plan says so, and apply refuses.
	m.Users = append(m.Users, manifest.User{Name: winLogin, Sudo: manifest.SudoNone, State: manifest.StateAbsent})
	wp := planWin(t, f, m)
	if !wp.Guard.LoginUserRemoved || !wp.Guard.LoginSudoRemoved {
		t.Fatalf("guard: %+v", wp.Guard)
	}
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	if res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Failed || !strings.Contains(res.Err.Error(), "lockout") {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if f.host.User(winLogin) == nil || f.host.Applied != 0 {
		t.Error("the host was changed")
	}
	// Desired without sudo: removing the login from Administrators is flagged too.
	m = winManifest(t, winHost("win-4"))
	m.Users = append(m.Users, manifest.User{Name: winLogin, Sudo: manifest.SudoNone, State: manifest.StatePresent})
	m.HostGroups[0].Users = append(m.HostGroups[0].Users, winLogin)
	if wp := planWin(t, f, m); !wp.Guard.LoginSudoRemoved || wp.Guard.LoginUserRemoved {
		t.Fatalf("guard: %+v", wp.Guard)
	}
}

func TestWindowsOrphanedSIDAndLocalisedNames(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM5")
	f.host.OrphanSID(hoststate.SIDAdministrators)
	m := winManifest(t, winHost("win-5"))
	wp := planWin(t, f, m)
	if g := wp.Live.Windows.Group(hoststate.SIDAdministrators); g.Via != "wmi" || g.Name != "Administratoren" {
		t.Fatalf("group read: %+v", g)
	}
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	if res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	if !f.host.IsMember(hoststate.SIDAdministrators, "alice") {
		t.Error("alice not added by SID")
	}
}

func TestWindowsRejectsLongNamesAndHashes(t *testing.T) {
	f := newWinFixture(t, "WIN-SIM6")
	m := winManifest(t, winHost("win-6"))
	m.Users[1].Name = "bob_with_a_very_long_name"
	m.HostGroups[0].Users[1] = m.Users[1].Name
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	wp := PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: winLogin, LookupEnv: winEnv})
	if wp.Status != StatusError || !strings.Contains(wp.Error, "at most 20") {
		t.Errorf("long name: %s %s", wp.Status, wp.Error)
	}
	m = winManifest(t, winHost("win-6"))
	m.Users[0].Password = &manifest.Password{Hash: "$6$x$y"}
	wp = PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: winLogin, LookupEnv: winEnv})
	if wp.Status != StatusError || !strings.Contains(wp.Error, "hash cannot be set on Windows") {
		t.Errorf("hash: %s %s", wp.Status, wp.Error)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
