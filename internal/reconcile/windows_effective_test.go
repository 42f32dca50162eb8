package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
	"github.com/accessctl/accessctl/internal/winsim"
)

// Effective access on Windows, planned against the SIMULATOR (internal/winsim): Remote Desktop
// from membership + logon rights + fDenyTSConnections, key files from sshd_config.

func findingMsgs(hp *HostPlan, rule, user string) string {
	var out []string
	for _, f := range hp.Findings {
		if f.Rule == rule && f.User == user {
			out = append(out, f.Msg)
		}
	}
	return strings.Join(out, "\n")
}

func TestWindowsRDPLoginBlocked(t *testing.T) {
	f := newWinFixture(t, "WIN-RDP1")
	m := winManifest(t, winHost("win-r1"))
	// Defaults: RDP on, SeRemoteInteractiveLogonRight for Administrators and Remote Desktop Users.
	wp := planWin(t, f, m)
	if s := findingMsgs(wp, "login-blocked", "alice") + findingMsgs(wp, "login-blocked", "bob"); s != "" {
		t.Errorf("login-blocked with the default settings:\n%s", s)
	}

	// RDP switched off by Group Policy; the logon right held by Administrators only; bob named
	// in the deny right by name (as secedit writes an account it kept by name).
	f.host.SetDWORD(hoststate.WinTSPolicyKey, hoststate.FDenyTSConnections, 1)
	f.host.SetRight(hoststate.SeRemoteInteractiveLogonRight, "*"+hoststate.SIDAdministrators)
	f.host.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight, `WIN-RDP1\bob`)
	f.host.AddUser("bob", "Bob Ng", false, true)
	wp = planWin(t, f, m)
	bob := findingMsgs(wp, "login-blocked", "bob")
	for _, want := range []string{
		`bob cannot log on through Remote Desktop: Remote Desktop is disabled: HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections = 1 (Group Policy)`,
		`SeDenyRemoteInteractiveLogonRight names WIN-RDP1\bob (bob (S-1-5-21-`,
		"SeRemoteInteractiveLogonRight is granted to none of its SIDs (it holds *S-1-5-32-544)",
		"apply does not change user rights",
		"apply does not enable Remote Desktop",
	} {
		if !strings.Contains(bob, want) {
			t.Errorf("bob's findings lack %q:\n%s", want, bob)
		}
	}
	// alice is an administrator: only the switch refuses her.
	if alice := findingMsgs(wp, "login-blocked", "alice"); strings.Count(alice, "\n") != 0 || !strings.Contains(alice, "Remote Desktop is disabled") {
		t.Errorf("alice:\n%s", alice)
	}
	if !hasFinding(wp, "login-blocked", "bob", hoststate.RightsWhere(hoststate.SeDenyRemoteInteractiveLogonRight)) {
		t.Errorf("no finding at the deny right:%s", describePlan(wp))
	}
	// carol is locked: not judged.
	if s := findingMsgs(wp, "login-blocked", "carol"); s != "" {
		t.Errorf("carol: %s", s)
	}

	// A deny entry by SID of a group (Remote Desktop Users) refuses every member.
	f.host.DeleteValue(hoststate.WinTSPolicyKey, hoststate.FDenyTSConnections)
	f.host.SetRight(hoststate.SeRemoteInteractiveLogonRight, "*"+hoststate.SIDAdministrators, "*"+hoststate.SIDRemoteDesktopUsers)
	f.host.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight, "*"+hoststate.SIDRemoteDesktopUsers)
	wp = planWin(t, f, m)
	for _, u := range []string{"alice", "bob"} {
		if s := findingMsgs(wp, "login-blocked", u); !strings.Contains(s, "SeDenyRemoteInteractiveLogonRight names *S-1-5-32-555 (Remote Desktop Users (S-1-5-32-555))") {
			t.Errorf("%s:\n%s", u, s)
		}
	}

	// Rights that cannot be read are said, not guessed.
	f.host.FailRightsExport("Zugriff verweigert")
	wp = planWin(t, f, m)
	if s := findingMsgs(wp, "login-blocked", "bob"); !strings.Contains(s, "cannot tell whether bob can log on through Remote Desktop") || !strings.Contains(s, "Zugriff verweigert") {
		t.Errorf("unreadable rights:\n%s", s)
	}
}

func TestWindowsRDPForeignAccess(t *testing.T) {
	f := newWinFixture(t, "WIN-RDP2")
	m := winManifest(t, winHost("win-r2"))
	m.Users[0].RDP = false // alice keeps sudo: Administrators can still log on through RDP
	wp := planWin(t, f, m)
	got := findingMsgs(wp, "foreign-access", "alice")
	if !strings.Contains(got, "alice has rdp: false but can log on through Remote Desktop: member of Administrators (S-1-5-32-544); SeRemoteInteractiveLogonRight granted to *S-1-5-32-544") ||
		!strings.Contains(got, `Terminal Server\fDenyTSConnections = 0`) || !strings.Contains(got, "SeDenyRemoteInteractiveLogonRight") {
		t.Errorf("alice:\n%s", got)
	}
	if s := findingMsgs(wp, "login-blocked", "alice"); s != "" {
		t.Errorf("login-blocked for a user without rdp: %s", s)
	}
	// Denied through the deny right, or RDP off: no path, no finding.
	f.host.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight, "alice")
	if wp = planWin(t, f, m); findingMsgs(wp, "foreign-access", "alice") != "" {
		t.Errorf("denied alice still reported:%s", describePlan(wp))
	}
	f.host.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight)
	f.host.SetDWORD(hoststate.WinTSKey, hoststate.FDenyTSConnections, 1)
	if wp = planWin(t, f, m); findingMsgs(wp, "foreign-access", "alice") != "" {
		t.Errorf("RDP off, alice still reported:%s", describePlan(wp))
	}
	// bob (rdp: false, no sudo) in Remote Desktop Users: the plan removes the membership; no finding.
	f.host.SetDWORD(hoststate.WinTSKey, hoststate.FDenyTSConnections, 0)
	f.host.AddUser("bob", "Bob Ng", false, true)
	m.Users[1].RDP = false
	wp = planWin(t, f, m)
	if findingMsgs(wp, "foreign-access", "bob") != "" || !strings.Contains(describePlan(wp), "delete group_membership bob:S-1-5-32-555") {
		t.Errorf("bob:%s", describePlan(wp))
	}
}

// sshd_config without the Match Group administrators block: an administrator's keys are read
// from the profile, so apply writes them there, and administrators_authorized_keys is not used.
func TestWindowsKeysWithoutAdminMatch(t *testing.T) {
	f := newWinFixture(t, "WIN-KEY1")
	f.host.SetFile(hoststate.WinSshdConfigPath, winFileText("AuthorizedKeysFile .ssh/authorized_keys\r\nSubsystem sftp sftp-server.exe\r\n"))
	m := winManifest(t, winHost("win-k1"))
	wp := planWin(t, f, m)
	if !strings.Contains(describePlan(wp), "create authorized_keys alice") || strings.Contains(describePlan(wp), "administrators_authorized_keys") {
		t.Fatalf("plan:%s", describePlan(wp))
	}
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	if res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	u := f.host.User("alice")
	if k := f.host.File(u.Profile + `\.ssh\authorized_keys`); k == nil || !strings.Contains(k.Content, readFile(t, "testdata/alice.pub")) {
		t.Errorf("alice's profile file: %+v", k)
	}
	if f.host.File(hoststate.WinAdminKeysPath) != nil {
		t.Error("administrators_authorized_keys written although sshd does not read it")
	}
	if wp := planWin(t, f, m); len(wp.Changes) != 0 {
		t.Errorf("second plan:%s", describePlan(wp))
	}
}

// The default config: a key in administrators_authorized_keys that accessctl did not install
// logs in as every administrator, and the finding names the Match block's line.
func TestWindowsAdminKeysForeignNamesMatchLine(t *testing.T) {
	f := newWinFixture(t, "WIN-KEY2")
	f.host.SetFile(hoststate.WinAdminKeysPath, winFileText(readFile(t, "testdata/bob.pub")+"\n"))
	m := winManifest(t, winHost("win-k2"))
	wp := planWin(t, f, m)
	got := findingMsgs(wp, "foreign-access", "alice")
	if !strings.Contains(got, "(not installed by accessctl) logs in as administrator alice ("+hoststate.WinSshdConfigPath+":17 (Match Group administrators))") {
		t.Errorf("alice:\n%s", got)
	}
}

// A Match User block sends a user's keys to a file apply does not write: the key change is
// blocked (apply does not start the host), and other files sshd may read are named.
func TestWindowsKeysElsewhereBlocked(t *testing.T) {
	f := newWinFixture(t, "WIN-KEY3")
	f.host.SetFile(hoststate.WinSshdConfigPath, winFileText("AuthorizedKeysFile .ssh/authorized_keys\r\n"+
		"Match User bob\r\n  AuthorizedKeysFile C:/keys/%u\r\n"+
		"Match Address 192.168.0.0/16 Group administrators\r\n  AuthorizedKeysFile C:/vpn/admins\r\n"+
		"Match Group administrators\r\n  AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\r\n"))
	m := winManifest(t, winHost("win-k3"))
	wp := planWin(t, f, m)
	b := Blocked(wp)
	if len(b) != 1 || !strings.Contains(b[0], "authorized_keys bob") || !strings.Contains(b[0], hoststate.WinSshdConfigPath+":3 (Match User bob)") {
		t.Fatalf("blocked: %v%s", b, describePlan(wp))
	}
	if !strings.Contains(findingMsgs(wp, "foreign-access", "alice"), `sshd also reads keys of alice from C:\vpn\admins`) {
		t.Errorf("alice:%s", describePlan(wp))
	}
	ctx := context.Background()
	conn, _ := f.dial(ctx)
	if res := ApplyHost(ctx, wp, wp.Live, conn, f.dial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome == Applied || f.host.Applied != 0 {
		t.Fatalf("a host with a blocked change was applied: %s %v", res.Outcome, res.Err)
	}
}

func TestWindowsGuardProfileKeys(t *testing.T) {
	ops := []Change{{Ops: []Op{{Kind: OpWindows, Windows: &WindowsOp{Change: winChange("writeKeys", "ansible", "user", ManagedHeader+"\n")}}}}}
	if g := WindowsGuard(ops, "ansible", false, []string{"SHA256:x"}); !g.LoginKeysRemoved {
		t.Errorf("guard: %+v", g)
	}
}

func winFileText(s string) winsim.File {
	return winsim.File{Content: s, Owner: hoststate.SIDAdministrators, ACL: []string{hoststate.SIDAdministrators, hoststate.SIDSystem}, Protected: true}
}

func winChange(op, user, file, content string) winapply.Change {
	return winapply.Change{Op: op, User: user, File: file, Content: content}
}
