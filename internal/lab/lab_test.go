package lab_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
)

func TestVariantsAndLogins(t *testing.T) {
	l := lab.New(t,
		lab.HostSpec{Name: "deb"},
		lab.HostSpec{Name: "cloud", Variant: lab.CloudInit},
		lab.HostSpec{Name: "old", Variant: lab.NoInclude},
		lab.HostSpec{Name: "human", Variant: lab.HumanUser},
	)
	ctx := context.Background()
	keys := map[string]bool{}
	for _, h := range l.Hosts {
		fp := string(h.HostKey().Marshal())
		if keys[fp] {
			t.Errorf("%s shares a host key", h.Name)
		}
		keys[fp] = true

		r, err := lab.SSH(ctx, h, l.AdminUser, l.IdentityFile, "id -un; sudo -n id -u")
		if err != nil || r.Code != 0 || r.Stdout != "labadmin\n0\n" {
			t.Errorf("%s: admin login + sudo: %+v %v", h.Name, r, err)
		}
		if r, _ := lab.SSH(ctx, h, "root", l.IdentityFile, "true"); r.Code != 255 {
			t.Errorf("%s: root login with the admin key: code %d, want 255", h.Name, r.Code)
		}
		if r, _ := lab.SSH(ctx, h, l.AdminUser, l.HumanIdentityFile, "true"); r.Code != 255 {
			t.Errorf("%s: admin login with the wrong key: code %d, want 255", h.Name, r.Code)
		}
		// Every host sees its own accounts and config, and sshd -T works inside it.
		out := h.MustExec(t, "sshd -T | grep -E '^(passwordauthentication|listenaddress) '")
		wantPW := "passwordauthentication yes" // Debian's default, and the cloud-init drop-in's
		if !strings.Contains(out, wantPW) || !strings.Contains(out, "listenaddress "+h.Addr+":22") {
			t.Errorf("%s: sshd -T:\n%s", h.Name, out)
		}
		cfg, err := h.ReadFile("/etc/ssh/sshd_config")
		if err != nil {
			t.Fatal(err)
		}
		hasInclude := bytes.Contains(cfg, []byte("\nInclude /etc/ssh/sshd_config.d/*.conf\n"))
		if hasInclude == (h.Variant == lab.NoInclude) {
			t.Errorf("%s: Include line present = %v", h.Name, hasInclude)
		}
		out = h.MustExec(t, "getent passwd | awk -F: '$3 >= 1000 && $3 < 60000 {print $1}'")
		want := "labadmin\n"
		if h.Variant == lab.HumanUser {
			want = "labadmin\ncarol\n"
		}
		if out != want {
			t.Errorf("%s: human accounts %q, want %q", h.Name, out, want)
		}
	}
	if out := l.Host("cloud").MustExec(t, "stat -c %a /etc/ssh/sshd_config.d/50-cloud-init.conf"); out != "600\n" {
		t.Errorf("50-cloud-init.conf mode %q", out)
	}
	human := l.Host("human")
	if r, _ := lab.SSH(ctx, human, lab.HumanUserName, l.HumanIdentityFile, "id -u"); r.Code != 0 || r.Stdout != "1001\n" {
		t.Errorf("human login: %+v", r)
	}

	// useradd in one host changes that host only.
	deb := l.Host("deb")
	deb.MustExec(t, "useradd -m dave && mkdir -p /var/lib/accessctl && echo x > /var/lib/accessctl/state.json")
	if out := l.Host("old").MustExec(t, "getent passwd dave; ls /var/lib/accessctl 2>&1 || true"); strings.Contains(out, "dave") || strings.Contains(out, "state.json") {
		t.Errorf("useradd leaked to another host: %q", out)
	}
	if _, err := os.Stat("/home/dave"); err == nil {
		t.Errorf("useradd leaked to this machine")
	}
	if b, err := deb.ReadFile("/var/lib/accessctl/state.json"); err != nil || string(b) != "x\n" {
		t.Errorf("ReadFile: %q %v", b, err)
	}
	if err := deb.WriteFile("/etc/motd", []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := deb.MustExec(t, "cat /etc/motd"); out != "hi\n" {
		t.Errorf("WriteFile: %q", out)
	}
	// visudo and a SIGHUP reload work as accessctl will use them.
	deb.MustExec(t, `echo 'dave ALL=(ALL) NOPASSWD: ALL' > /tmp/sudoers.cand && visudo -cf /tmp/sudoers.cand`)
	deb.MustExec(t, `sshd -t && kill -HUP "$(cat /run/sshd.pid)"`)
	// sshd re-execs on SIGHUP and listens again a moment later (longer on a loaded machine).
	var r lab.Result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r, _ = lab.SSH(ctx, deb, l.AdminUser, l.IdentityFile, "true"); r.Code == 0 {
			break
		}
	}
	if r.Code != 0 {
		t.Errorf("login after SIGHUP reload: %+v\n%s", r, deb.Log())
	}
}

func TestStopStartPauseRekey(t *testing.T) {
	l := lab.New(t, lab.Specs("h", 2, lab.Debian)...)
	ctx := context.Background()
	h := l.Hosts[0]
	h.MustExec(t, "touch /etc/kept")
	oldPID := h.PID()
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", h.HostPort(), time.Second); err == nil {
		t.Error("stopped host still accepts connections")
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(oldPID))); err == nil {
		t.Error("sshd of a stopped host still exists")
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.MustExec(t, "test -f /etc/kept")

	if err := h.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", h.HostPort(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, _ := c.Read(make([]byte, 10)); n != 0 {
		t.Error("a paused host sent its banner")
	}
	c.Close()
	if err := h.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Logf("paused probe took %v", time.Since(start))

	old := h.HostKey()
	if err := h.RegenerateHostKey(ctx); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old.Marshal(), h.HostKey().Marshal()) {
		t.Fatal("host key unchanged")
	}
	r, _ := lab.SSH(ctx, h, l.AdminUser, l.IdentityFile, "true")
	if r.Code != 255 || !strings.Contains(r.Stderr, "HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("login after rekey: %+v", r)
	}
	if err := l.WriteKnownHosts(); err != nil {
		t.Fatal(err)
	}
	if r, _ := lab.SSH(ctx, h, l.AdminUser, l.IdentityFile, "true"); r.Code != 0 {
		t.Errorf("login after WriteKnownHosts: %+v", r)
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	lab.Require(t)
	ctx := context.Background()
	start := time.Now()
	l, err := lab.Start(ctx, lab.Specs("n", 20, lab.Debian))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20 hosts started in %v", time.Since(start))
	pids := []int{}
	for _, h := range l.Hosts {
		pids = append(pids, h.PID())
	}
	// An open session must not survive Close either.
	r, err := lab.SSH(ctx, l.Hosts[0], l.AdminUser, l.IdentityFile, "sleep 60 >/dev/null 2>&1 </dev/null &")
	if err != nil || r.Code != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	dir := l.Dir
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(p))); err == nil {
			t.Errorf("pid %d survived Close", p)
		}
	}
	out, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(out), dir) {
		t.Error("lab mounts visible in the test's namespace")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("lab dir not removed")
	}
}
