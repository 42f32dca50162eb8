package ssh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"github.com/accessctl/accessctl/internal/transport"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/accessctl/accessctl/internal/lab"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// One lab for the package; tests that break a host (stop, pause, rekey) each get their own.
var testLab *lab.Lab

func TestMain(m *testing.M) {
	if err := lab.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	l, err := lab.Start(ctx, []lab.HostSpec{
		{Name: "a"}, {Name: "b"}, {Name: "rekey"}, {Name: "pause"}, {Name: "down"},
		{Name: "human", Variant: lab.HumanUser},
	})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testLab = l
	code := m.Run()
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func config(h *lab.Host) sshtr.Config {
	return sshtr.Config{
		Name:            h.Name,
		Addr:            h.Addr,
		Port:            h.Port,
		User:            lab.AdminUser,
		KnownHostsFiles: []string{h.Lab().KnownHostsFile},
		IdentityFiles:   []string{h.Lab().IdentityFile},
		ConnectTimeout:  5 * time.Second,
	}
}

func dial(t *testing.T, cfg sshtr.Config) *sshtr.Conn {
	t.Helper()
	c, err := sshtr.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *sshtr.Conn, cmd, stdin string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	code, err := c.Run(context.Background(), cmd, in, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestRunExitCodesStdin(t *testing.T) {
	h := testLab.Host("a")
	c := dial(t, config(h))
	if out, _, code := run(t, c, "echo hi; id -un", ""); out != "hi\nlabadmin\n" || code != 0 {
		t.Errorf("echo: %q %d", out, code)
	}
	if _, errOut, code := run(t, c, "echo oops >&2; exit 3", ""); code != 3 || errOut != "oops\n" {
		t.Errorf("exit 3: %q %d", errOut, code)
	}
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB through stdin
	if out, _, code := run(t, c, "wc -c", big); strings.TrimSpace(out) != fmt.Sprint(len(big)) || code != 0 {
		t.Errorf("stdin: %q %d", out, code)
	}
	if _, _, code := run(t, c, "kill -TERM $$", ""); code != 128+15 {
		t.Errorf("killed by TERM: code %d, want 143", code)
	}
	// Sessions are independent and may run at once.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			code, err := c.Run(context.Background(), fmt.Sprintf("echo %d", i), nil, &out, nil)
			if err != nil || code != 0 || out.String() != fmt.Sprintf("%d\n", i) {
				t.Errorf("parallel run %d: %q %d %v", i, out.String(), code, err)
			}
		}()
	}
	wg.Wait()

	if !bytes.Equal(c.HostKey().Marshal(), h.HostKey().Marshal()) {
		t.Error("HostKey is not the host's key")
	}
	if k := c.AuthKey(); k == nil || !bytes.Equal(k.Marshal(), testLab.AdminSigner.PublicKey().Marshal()) {
		t.Errorf("AuthKey = %v, want the lab key", k)
	}
	if n := len(c.OfferedKeys()); n != 1 {
		t.Errorf("offered %d keys", n)
	}
}

func TestRunContextCancel(t *testing.T) {
	h := testLab.Host("a")
	c := dial(t, config(h))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var out bytes.Buffer
	_, err := c.Run(ctx, "echo started; sleep 30", nil, &out, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Run = %v after %v", err, time.Since(start))
	}
	// The connection stays usable.
	if out, _, code := run(t, c, "echo still", ""); out != "still\n" || code != 0 {
		t.Errorf("after cancel: %q %d", out, code)
	}
}

func TestPrivileged(t *testing.T) {
	h := testLab.Host("a")
	c := dial(t, config(h))
	hostile := []string{
		"plain", "", "it's", `"double"`, "$(id -u)", "`id -u`", "a; echo pwned", "a\nb\n", `back\slash\`,
		"*", "$HOME ${PATH}", "'; echo pwned; '", "!!", "--", "-n", "\t tab", "é ü 中",
	}
	for _, s := range hostile {
		cmd := transport.Privileged{}.Command("id -u; printf %s " + transport.ShellQuote(s))
		out, errOut, code := run(t, c, cmd, "")
		if code != 0 || out != "0\n"+s {
			t.Errorf("Privileged with %q: out %q stderr %q code %d", s, out, errOut, code)
		}
	}
	// A script on stdin of a root shell.
	out, _, code := run(t, c, transport.Privileged{}.Command("/bin/sh -s"), "id -u\ncat /etc/sudoers.d/labadmin >/dev/null && echo readable\n")
	if code != 0 || out != "0\nreadable\n" {
		t.Errorf("PrivilegedShell: %q %d", out, code)
	}
	// sudo -n never waits for a password: the human user has no sudo and fails at once.
	hc := testLab.Host("human")
	cfg := config(hc)
	cfg.User, cfg.IdentityFiles = lab.HumanUserName, []string{testLab.HumanIdentityFile}
	c2 := dial(t, cfg)
	start := time.Now()
	_, errOut, code := run(t, c2, transport.Privileged{}.Command("id -u"), "")
	if code == 0 || !strings.Contains(errOut, "password is required") || time.Since(start) > 5*time.Second {
		t.Errorf("sudo -n without rights: code %d stderr %q after %v", code, errOut, time.Since(start))
	}
}

func TestUnknownHostKeyRefused(t *testing.T) {
	h := testLab.Host("b")
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o644)
	before := h.Log()
	for _, files := range [][]string{{empty}, {filepath.Join(t.TempDir(), "missing")}, nil} {
		cfg := config(h)
		cfg.KnownHostsFiles = files
		_, err := sshtr.Dial(context.Background(), cfg)
		var hke *sshtr.HostKeyError
		if !errors.As(err, &hke) || hke.Kind != sshtr.HostKeyUnknown {
			t.Fatalf("Dial with known_hosts %v = %v, want unknown host key", files, err)
		}
		if want := xssh.FingerprintSHA256(h.HostKey()); hke.Fingerprint != want || !strings.Contains(err.Error(), want) {
			t.Errorf("fingerprint %s, message %q, want %s", hke.Fingerprint, err, want)
		}
	}
	// Nothing but the key exchange reached sshd: no login was attempted.
	time.Sleep(100 * time.Millisecond)
	if after := strings.TrimPrefix(h.Log(), before); strings.Contains(after, "user") || strings.Contains(after, "Accepted") {
		t.Errorf("sshd saw a login attempt:\n%s", after)
	}
	// Insecure mode connects anyway.
	cfg := config(h)
	cfg.KnownHostsFiles, cfg.InsecureIgnoreHostKey = []string{empty}, true
	dial(t, cfg)
}

func TestChangedHostKeyRefused(t *testing.T) {
	h := testLab.Host("rekey")
	old := h.HostKey()
	dial(t, config(h))
	if err := h.RegenerateHostKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := sshtr.Dial(context.Background(), config(h))
	var hke *sshtr.HostKeyError
	if !errors.As(err, &hke) || hke.Kind != sshtr.HostKeyChanged {
		t.Fatalf("Dial = %v, want changed host key", err)
	}
	if len(hke.Known) != 1 || !bytes.Equal(hke.Known[0].Key.Marshal(), old.Marshal()) {
		t.Errorf("Known = %v", hke.Known)
	}
	msg := err.Error()
	if !strings.Contains(msg, "host key for rekey changed") || !strings.Contains(msg, xssh.FingerprintSHA256(h.HostKey())) {
		t.Errorf("message %q", msg)
	}
	t.Log(msg)

	// known_hosts holding only a key of another type (RSA) for the host: still "changed", not
	// a protocol error about host key algorithms.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rpub, _ := xssh.NewPublicKey(&rk.PublicKey)
	rsaKH := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(rsaKH, []byte(h.Addr+" "+string(xssh.MarshalAuthorizedKey(rpub))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config(h)
	cfg.KnownHostsFiles = []string{rsaKH}
	_, err = sshtr.Dial(context.Background(), cfg)
	if !errors.As(err, &hke) || hke.Kind != sshtr.HostKeyChanged || hke.Known[0].Key.Type() != "ssh-rsa" {
		t.Errorf("known_hosts with an RSA key only: %v", err)
	}
	if err := testLab.WriteKnownHosts(); err != nil {
		t.Fatal(err)
	}
	dial(t, config(h))
}

func TestWrongKeyAndUserRefused(t *testing.T) {
	h := testLab.Host("b")
	cfg := config(h)
	cfg.IdentityFiles = []string{testLab.HumanIdentityFile}
	if _, err := sshtr.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("wrong key: %v", err)
	}
	cfg = config(h)
	cfg.User = "root"
	if _, err := sshtr.Dial(context.Background(), cfg); err == nil {
		t.Error("root logged in with the admin key")
	}
	cfg = config(h)
	cfg.IdentityFiles = []string{filepath.Join(t.TempDir(), "nope")}
	if _, err := sshtr.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "identity file") {
		t.Errorf("missing identity file: %v", err)
	}
	cfg = config(h)
	cfg.IdentityFiles = nil
	if _, err := sshtr.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("no keys: %v", err)
	}
}

func TestConnectTimeoutOnHungHost(t *testing.T) {
	h := testLab.Host("pause")
	if err := h.Pause(); err != nil {
		t.Fatal(err)
	}
	defer h.Resume()
	cfg := config(h)
	cfg.ConnectTimeout = time.Second
	start := time.Now()
	_, err := sshtr.Dial(context.Background(), cfg)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "connect timeout") || took > 3*time.Second {
		t.Fatalf("Dial to a hung host = %v after %v", err, took)
	}
	t.Logf("%v after %v", err, took)
	// A cancelled context ends the handshake as well.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cfg.ConnectTimeout = time.Minute
	start = time.Now()
	if _, err := sshtr.Dial(ctx, cfg); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Dial with a cancelled ctx = %v after %v", err, time.Since(start))
	}
}

func TestHostDown(t *testing.T) {
	h := testLab.Host("down")
	c := dial(t, config(h))
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	defer h.Start(context.Background())
	if _, err := c.Run(context.Background(), "true", nil, nil, nil); err == nil {
		t.Error("Run on a connection to a stopped host succeeded")
	}
	start := time.Now()
	_, err := sshtr.Dial(context.Background(), config(h))
	var op *net.OpError
	if !errors.As(err, &op) || time.Since(start) > 2*time.Second {
		t.Errorf("Dial to a stopped host = %v after %v", err, time.Since(start))
	}
}

func TestProxyJump(t *testing.T) {
	jump, target := testLab.Host("a"), testLab.Host("b")
	cfg := config(target)
	cfg.ProxyJump = []sshtr.Config{config(jump)}
	before := strings.Count(jump.Log(), "Accepted publickey")
	c := dial(t, cfg)
	out, _, code := run(t, c, "cat /etc/ssh/sshd_config | grep ^ListenAddress", "")
	if code != 0 || out != "ListenAddress "+target.Addr+"\n" {
		t.Errorf("through the jump host: %q %d", out, code)
	}
	if after := strings.Count(jump.Log(), "Accepted publickey"); after != before+1 {
		t.Errorf("the jump host saw %d logins, want 1", after-before)
	}
	// A jump host whose key is unknown fails the dial, naming the jump host.
	bad := config(jump)
	bad.KnownHostsFiles = nil
	cfg.ProxyJump = []sshtr.Config{bad}
	_, err := sshtr.Dial(context.Background(), cfg)
	var hke *sshtr.HostKeyError
	if !errors.As(err, &hke) || hke.Host != "a" {
		t.Errorf("unknown jump host key: %v", err)
	}
}

func TestAgent(t *testing.T) {
	h := testLab.Host("a")
	keyring := agent.NewKeyring()
	pem, _ := os.ReadFile(testLab.IdentityFile)
	raw, err := xssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	cfg := config(h)
	cfg.IdentityFiles, cfg.UseAgent, cfg.AgentSocket = nil, true, sock
	c := dial(t, cfg)
	if out, _, _ := run(t, c, "id -un", ""); out != "labadmin\n" {
		t.Errorf("agent login: %q", out)
	}
	if !bytes.Equal(c.AuthKey().Marshal(), testLab.AdminSigner.PublicKey().Marshal()) {
		t.Error("AuthKey is not the agent's key")
	}
	// IdentitiesOnly with another identity file filters the agent key out.
	cfg.IdentityFiles, cfg.IdentitiesOnly = []string{testLab.HumanIdentityFile}, true
	if _, err := sshtr.Dial(context.Background(), cfg); err == nil {
		t.Error("IdentitiesOnly did not filter the agent key")
	}
}
