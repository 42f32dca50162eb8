package reconcile

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	"github.com/accessctl/accessctl/internal/transport/winrm"
)

// localPS runs scripts with this machine's Windows PowerShell 5.1 through the same bootstrap and
// stdin framing as the WinRM and SSH transports.
type localPS struct{}

func (localPS) Run(ctx context.Context, script string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	args := strings.Fields(winrm.CommandLine())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = winrm.StdinFor(script, stdin), stdout, stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	return cmd.ProcessState.ExitCode(), err
}

func (localPS) Close() error { return nil }

// TestRealWindows runs the real READ and APPLY scripts against the Windows machine it runs on
// (the windows-latest runner of .github/workflows/windows.yml), as an administrator. It creates
// and then removes a local account. It runs only with ACCESSCTL_REAL_WINDOWS=1, which nothing
// but that workflow sets; this project's own CI runs on Linux and never runs it.
func TestRealWindows(t *testing.T) {
	if os.Getenv("ACCESSCTL_REAL_WINDOWS") != "1" {
		t.Skip("ACCESSCTL_REAL_WINDOWS=1 not set: needs a real, disposable Windows machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var conn transport.Conn = localPS{}
	live, err := hoststate.ReadWindows(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %s, PowerShell %s, login %s, Administrators named %q (via %s)", live.Computer, live.PSVersion, live.Login.Name, live.Group(hoststate.SIDAdministrators).Name, live.Group(hoststate.SIDAdministrators).Via)
	// Effective-access facts as a real host reports them (the simulator's are from the docs).
	if live.RDP == nil || live.RDP.RightsError != "" {
		t.Errorf("user rights not exported: %+v", live.RDP)
	} else if rights, err := hoststate.ParseUserRights(live.RDP.UserRights); err != nil {
		t.Errorf("secedit export: %v\n%s", err, live.RDP.UserRights)
	} else {
		on, at := live.RDP.Enabled()
		t.Logf("RDP enabled %v (%s); %s = %v; sshd_config %s", on, at, hoststate.SeRemoteInteractiveLogonRight,
			hoststate.Right(rights, hoststate.SeRemoteInteractiveLogonRight), live.SshdConfig.Kind)
	}

	os.Setenv("ACCESSCTL_CI_PW", "Ci-Only-Passw0rd!"+time.Now().Format("150405"))
	m := &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs:   []manifest.Keypair{{Name: "ci", PublicKey: readFile(t, "testdata/alice.pub")}},
		Users: []manifest.User{{Name: "actl_ci_user", FullName: "accessctl CI", Sudo: manifest.SudoNone, RDP: true, State: manifest.StatePresent,
			Keypairs: []manifest.Binding{{Keypair: "ci"}}, Password: &manifest.Password{Env: "ACCESSCTL_CI_PW"}}},
		HostGroups: []manifest.HostGroup{{Name: "ci", Users: []string{"actl_ci_user"}}},
		Hosts:      []manifest.Host{{Name: "runner", OS: "windows", Groups: []string{"ci"}}},
	}
	o := Options{Login: live.Login.Name, LookupEnv: os.LookupEnv}
	redial := func(context.Context) (transport.Conn, error) { return localPS{}, nil }
	wp := PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if wp.Status != StatusOK {
		t.Fatal(wp.Error)
	}
	if res := ApplyHost(ctx, wp, wp.Live, conn, redial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Applied {
		t.Fatalf("apply: %s %v", res.Outcome, res.Err)
	}
	after, err := hoststate.ReadWindows(ctx, conn, []string{"actl_ci_user"})
	if err != nil {
		t.Fatal(err)
	}
	u := after.User("actl_ci_user")
	if u == nil || !after.Group(hoststate.SIDRemoteDesktopUsers).HasMember(u.SID) {
		t.Fatalf("user or membership missing: %+v", u)
	}
	if k := after.UserKeys["actl_ci_user"]; k.Kind != hoststate.KindFile || !k.ACLOK {
		t.Errorf("key file: %+v", k)
	}
	if wp := PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o); len(wp.Changes) != 0 {
		t.Errorf("not in sync after apply: %+v", wp.Changes)
	}
	// Clean up through accessctl itself.
	m.Users[0].State = manifest.StateAbsent
	wp = PlanWindowsHost(ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if res := ApplyHost(ctx, wp, wp.Live, conn, redial, ApplyOptions{Login: winLogin, Now: time.Now(), LookupEnv: winEnv}); res.Outcome != Applied {
		t.Fatalf("cleanup: %s %v", res.Outcome, res.Err)
	}
}
