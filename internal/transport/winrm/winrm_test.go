package winrm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/psparse"
	"github.com/accessctl/accessctl/internal/transport/winrm"
	"github.com/accessctl/accessctl/internal/winsim"
)

func cfgFor(t *testing.T, s *winsim.Server, https bool) winrm.Config {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	c := winrm.Config{Name: "win-1", Addr: u.Hostname(), Port: port, Auth: winrm.AuthBasic, User: s.Login, Password: s.Password, OperationTimeout: 5 * time.Second}
	if https {
		c.CACert = s.CACert()
		c.TLSServerName = "example.com" // httptest's certificate names example.com and 127.0.0.1
	} else {
		c.HTTP = true
	}
	return c
}

// TestRunAgainstSimulator: masterzen/winrm talks to the SIMULATOR over real HTTP and HTTPS; the
// READ script and its payload travel on stdin, larger than any command line could hold.
func TestRunAgainstSimulator(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[https], func(t *testing.T) {
			host := winsim.NewHost("WIN-SIM1", "ansible", "Winrm-Pa55!")
			host.AddUser("alice", "Alice Liu", false, true)
			var s *winsim.Server
			if https {
				s = winsim.StartTLS(host, "ansible", "Winrm-Pa55!")
			} else {
				s = winsim.Start(host, "ansible", "Winrm-Pa55!")
			}
			defer s.Close()
			ctx := context.Background()
			c, err := winrm.Dial(ctx, cfgFor(t, s, https))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// A payload far beyond the 8191-character command-line limit.
			users := []string{"alice"}
			for i := 0; i < 3000; i++ {
				users = append(users, "bob")
			}
			in, _ := json.Marshal(hoststate.WinReadRequest{Users: users})
			var out, errb bytes.Buffer
			code, err := c.Run(ctx, hoststate.ReadWindowsScript(), bytes.NewReader(in), &out, &errb)
			if err != nil || code != 0 {
				t.Fatalf("run: code %d err %v stderr %s", code, err, errb.String())
			}
			w, err := hoststate.ParseWindows(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if w.User("alice") == nil || !w.Group(hoststate.SIDRemoteDesktopUsers).HasMember(w.User("alice").SID) {
				t.Errorf("read: %+v", w)
			}
			if w.Group(hoststate.SIDAdministrators).Name != "Administratoren" {
				t.Errorf("group name %q", w.Group(hoststate.SIDAdministrators).Name)
			}
			acts := strings.Join(s.Actions(), " ")
			for _, a := range []string{"Create", "Command", "Send", "Receive", "Signal", "Delete"} {
				if !strings.Contains(acts, "/"+a) {
					t.Errorf("action %s never sent: %s", a, acts)
				}
			}
			if n := s.OpenShells(); n != 0 {
				t.Errorf("%d shells left open", n)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	host := winsim.NewHost("WIN-SIM1", "ansible", "pw")
	s := winsim.Start(host, "ansible", "pw")
	defer s.Close()
	ctx := context.Background()

	// Wrong password: an error that names the host and never the password.
	cfg := cfgFor(t, s, false)
	cfg.Password = "Sekr1t-wrong"
	_, err := winrm.Dial(ctx, cfg)
	if err == nil || strings.Contains(err.Error(), "Sekr1t") || !strings.Contains(err.Error(), "win-1") {
		t.Errorf("bad login: %v", err)
	}

	// An unknown script: the SIMULATOR says so, with a non-zero exit code.
	c, err := winrm.Dial(ctx, cfgFor(t, s, false))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, err := c.Run(ctx, "Get-Date", nil, &out, &errb)
	if err != nil || code == 0 || !strings.Contains(errb.String(), "SIMULATOR") {
		t.Errorf("unknown script: code %d err %v stderr %q", code, err, errb.String())
	}
	// The privileged no-op succeeds for an administrator.
	if code, err := c.Run(ctx, winsim.NoOpScript, nil, &out, &errb); err != nil || code != 0 {
		t.Errorf("no-op: %d %v", code, err)
	}

	// HTTPS without the CA: certificate verification fails.
	st := winsim.StartTLS(host, "ansible", "pw")
	defer st.Close()
	cfg = cfgFor(t, st, true)
	cfg.CACert = nil
	if _, err := winrm.Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified certificate accepted: %v", err)
	}
	cfg.InsecureSkipVerify = true
	if _, err := winrm.Dial(ctx, cfg); err != nil {
		t.Errorf("insecure flag: %v", err)
	}
}

// TestNTLMFallsBackToBasic: the default NTLM client against a host that offers only Basic
// (the SIMULATOR does not implement NTLM) negotiates down to Basic, as go-ntlmssp does.
func TestNTLMClientAgainstBasicOnly(t *testing.T) {
	host := winsim.NewHost("WIN-SIM1", "ansible", "pw")
	s := winsim.Start(host, "ansible", "pw")
	defer s.Close()
	cfg := cfgFor(t, s, false)
	cfg.Auth = ""
	if _, err := winrm.Dial(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestCredentials(t *testing.T) {
	env := map[string]string{
		"ACCESSCTL_WINRM_USER":                   "default",
		"ACCESSCTL_WINRM_PASSWORD":               "d-pw",
		"ACCESSCTL_WINRM_USER_WIN_1_EXAMPLE":     "special",
		"ACCESSCTL_WINRM_PASSWORD_WIN_1_EXAMPLE": "s-pw",
		"ACCESSCTL_WINRM_USER_HALF":              "x",
	}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if u, p, err := winrm.Credentials("win-1.example", look); err != nil || u != "special" || p != "s-pw" {
		t.Errorf("per host: %s %s %v", u, p, err)
	}
	if u, p, err := winrm.Credentials("other", look); err != nil || u != "default" || p != "d-pw" {
		t.Errorf("default: %s %s %v", u, p, err)
	}
	if _, _, err := winrm.Credentials("half", look); err == nil || strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "=x") {
		t.Errorf("half set: %v", err)
	}
	if _, _, err := winrm.Credentials("none", func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "ACCESSCTL_WINRM_USER_NONE") {
		t.Errorf("none: %v", err)
	}
}

func TestBootstrapFitsCommandLine(t *testing.T) {
	line := winrm.CommandLine()
	if len(line) > 8191 {
		t.Fatalf("command line is %d characters", len(line))
	}
	ps, err := winrm.DecodeCommand(strings.Fields(line)[len(strings.Fields(line))-1])
	if err != nil || ps != winrm.Bootstrap() {
		t.Fatalf("round trip: %v", err)
	}
	in := winrm.StdinFor("Write-Output 'ü'", strings.NewReader(`{"a":1}`))
	var b bytes.Buffer
	b.ReadFrom(in)
	s, data, err := winrm.SplitStdin(b.Bytes())
	if err != nil || s != "Write-Output 'ü'" || string(data) != `{"a":1}` {
		t.Fatalf("split: %q %q %v", s, data, err)
	}
}

// TestBootstrapParses parses, with a real PowerShell grammar (internal/psparse), the bootstrap as
// Go builds it and as a host gets it: decoded from the -EncodedCommand of CommandLine(), for a
// script and data sent through PowerShell(conn).
func TestBootstrapParses(t *testing.T) {
	rec := &psparse.Recorder{}
	if _, err := winrm.PowerShell(rec).Run(context.Background(), "Write-Output 'ü'", strings.NewReader(`{"a":"'$(x)`+"`"+`"}`), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	sent, err := rec.Scripts("PowerShell(conn).Run")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0].Text != winrm.Bootstrap() || sent[1].Text != "Write-Output 'ü'" {
		t.Fatalf("sent: %q", sent)
	}
	psparse.Check(t, append([]psparse.Script{{Name: "Bootstrap()", Text: winrm.Bootstrap()}}, sent...)...)
}
