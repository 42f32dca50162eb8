package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/reconcile"
)

// More of the zoo, through the CLI: real-world host setups of the same classes as issue 10's
// list (key files sshd reads, Match blocks, who may log in, sudoers layouts, odd key files),
// each on its own lab host. For each: plan, apply, plan again; the result is proven by real
// logins (key, password, keyboard-interactive) and `sudo -l -U`, never by reading what
// accessctl wrote. What apply cannot do must be in the plan (blocked, with the reason) and the
// host left untouched (exit 3).

const zmCarolPassword = "Carol-Pass-2026!x"

type zooMore struct {
	t        *testing.T
	l        *lab.Lab
	foreign  string // a key file no manifest grants
	alice    string // alice's key file
	carolPub string
	alicePub string
	forPub   string
	hash     string // crypt hash of zmCarolPassword
}

func newZooMore(t *testing.T, specs ...lab.HostSpec) *zooMore {
	l := lab.New(t, specs...)
	z := &zooMore{t: t, l: l, foreign: filepath.Join(l.Dir, "id_foreign"), alice: filepath.Join(l.Dir, "id_alice")}
	if _, err := lab.GenerateKey(z.foreign, "foreign@elsewhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.GenerateKey(z.alice, "alice@lab"); err != nil {
		t.Fatal(err)
	}
	z.carolPub = zmPub(t, l.HumanIdentityFile)
	z.alicePub = zmPub(t, z.alice)
	z.forPub = zmPub(t, z.foreign)
	var err error
	if z.hash, err = reconcile.NewSHA512Hash(zmCarolPassword); err != nil {
		t.Fatal(err)
	}
	return z
}

func zmPub(t *testing.T, keyFile string) string {
	f := strings.Fields(readString(t, keyFile+".pub"))
	return f[0] + " " + f[1]
}

// zmHost is one host's CLI fixture: its own manifest directory holding only that host.
type zmHost struct {
	z   *zooMore
	t   *testing.T
	h   *lab.Host
	dir string
}

func (z *zooMore) host(t *testing.T, name string) *zmHost {
	h := z.l.Host(name)
	if h == nil {
		t.Fatalf("no lab host %s", name)
	}
	return &zmHost{z: z, t: t, h: h, dir: t.TempDir()}
}

// manifest writes the host's access.yaml: users is the users: section (YAML, indented by two),
// groupUsers the web group's user list, sshd the group's sshd: section body (indented by six)
// or "".
func (x *zmHost) manifest(users, groupUsers, sshd string) {
	x.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: accessctl/v1\nkeypairs:\n  - name: carol-lab\n    publicKey: %s\n  - name: alice-lab\n    publicKey: %s\n", x.z.carolPub, x.z.alicePub)
	b.WriteString("users:\n" + users)
	fmt.Fprintf(&b, "hostGroups:\n  - name: web\n    users: [%s]\n", groupUsers)
	if sshd != "" {
		b.WriteString("    sshd:\n" + sshd)
	}
	fmt.Fprintf(&b, "hosts:\n  - name: %s\n    address: %s\n    port: %d\n    os: linux\n    user: %s\n    groups: [web]\n",
		x.h.Name, x.h.Addr, x.h.Port, x.z.l.AdminUser)
	if err := os.WriteFile(filepath.Join(x.dir, "access.yaml"), []byte(b.String()), 0o644); err != nil {
		x.t.Fatal(err)
	}
}

// run runs an accessctl command in-process against the host's manifest.
func (x *zmHost) run(args ...string) (int, string) {
	x.t.Helper()
	code, stdout, stderr := runCLI(nil, []string{"--known-hosts", x.z.l.KnownHostsFile, "--identity", x.z.l.IdentityFile,
		"--ssh-config", "none", "-f", filepath.Join(x.dir, "access.yaml")}, args...)
	out := stdout + stderr
	x.t.Logf("accessctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return code, out
}

// converge: plan shows changes, apply succeeds, the next plan is empty.
func (x *zmHost) converge() (plan, apply string) {
	x.t.Helper()
	code, plan := x.run("plan", "--detailed-exitcode")
	if code != exitChanges && code != exitOK {
		x.t.Fatalf("plan: exit %d\n%s", code, plan)
	}
	code, apply = x.run("apply", "--yes")
	if code != exitOK {
		x.t.Fatalf("apply: exit %d\n%s", code, apply)
	}
	x.planEmpty()
	return plan, apply
}

func (x *zmHost) planEmpty() {
	x.t.Helper()
	if code, out := x.run("plan", "--detailed-exitcode"); code != exitOK {
		x.t.Errorf("the plan after apply is not empty: exit %d\n%s", code, out)
	}
}

// blocked: plan shows the reason, apply exits 3 with it and the host is unchanged.
func (x *zmHost) blocked(snapshot string, reasons ...string) {
	x.t.Helper()
	before := x.exec(snapshot)
	code, plan := x.run("plan", "--detailed-exitcode")
	if code != exitChanges && code != exitHost {
		x.t.Errorf("plan: exit %d\n%s", code, plan)
	}
	for _, r := range reasons {
		if !strings.Contains(plan, r) {
			x.t.Errorf("plan does not say %q:\n%s", r, plan)
		}
	}
	if !strings.Contains(plan, "BLOCKED") {
		x.t.Errorf("plan shows no blocked change:\n%s", plan)
	}
	code, apply := x.run("apply", "--yes")
	if code != exitHost {
		x.t.Errorf("apply: exit %d, want %d\n%s", code, exitHost, apply)
	}
	for _, r := range reasons {
		if !strings.Contains(apply, r) {
			x.t.Errorf("apply does not say %q:\n%s", r, apply)
		}
	}
	if after := x.exec(snapshot); after != before {
		x.t.Errorf("the host changed although its plan was blocked:\n%s\n---\n%s", before, after)
	}
}

func (x *zmHost) exec(script string) string {
	x.t.Helper()
	return x.h.MustExec(x.t, script)
}

// restart makes sshd read its changed configuration (as a reboot would).
func (x *zmHost) restart() {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := x.h.Stop(); err != nil {
		x.t.Fatal(err)
	}
	if err := x.h.Start(ctx); err != nil {
		x.t.Fatal(err)
	}
}

func (x *zmHost) keyLogin(user, keyFile string) bool {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := lab.SSH(ctx, x.h, user, keyFile, "true")
	if err != nil {
		x.t.Fatal(err)
	}
	return r.Code == 0
}

// passwordLogin tries the "password" method, kbdLogin "keyboard-interactive" (PAM), both
// answering with pw.
func (x *zmHost) passwordLogin(user, pw string) bool {
	return x.authLogin(user, xssh.Password(pw))
}

func (x *zmHost) kbdLogin(user, pw string) bool {
	return x.authLogin(user, xssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
		a := make([]string, len(qs))
		for i := range a {
			a[i] = pw
		}
		return a, nil
	}))
}

func (x *zmHost) authLogin(user string, m xssh.AuthMethod) bool {
	cfg := &xssh.ClientConfig{User: user, Auth: []xssh.AuthMethod{m},
		HostKeyCallback: xssh.FixedHostKey(x.h.HostKey()), Timeout: 10 * time.Second}
	c, err := xssh.Dial("tcp", net.JoinHostPort(x.h.Addr, strconv.Itoa(x.h.Port)), cfg)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (x *zmHost) sudoL(user string) string {
	return x.exec("sudo -l -U " + user + " 2>&1 || true")
}

func zq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

const (
	zmCarol      = "  - name: carol\n    keypairs: [carol-lab]\n"
	zmAlice      = "  - name: alice\n    keypairs: [alice-lab]\n"
	zmNoPassword = "      passwordAuthentication: false\n      kbdInteractiveAuthentication: false\n      pubkeyAuthentication: true\n"
)

func (x *zmHost) carolWithPassword(extra string) string {
	return "  - name: carol\n    keypairs: [carol-lab]\n    password:\n      hash: \"" + x.z.hash + "\"\n" + extra
}

func TestZooMoreCLI(t *testing.T) {
	names := []string{"akf-h", "akf-uid", "etc-nodir", "muser-akf", "mgroup-join", "mgroup-only", "maddr-list",
		"early-global", "early-match", "early-match-other", "maddr-other", "deny", "allow-at", "nologin", "expired", "hash-includedir",
		"wheel", "user-alias", "foreign-dropin", "dotted-dropin", "kbd", "symlink-ssh", "crlf",
		"bom", "keys2-options"}
	var specs []lab.HostSpec
	for _, n := range names {
		specs = append(specs, lab.HostSpec{Name: n, Variant: lab.HumanUser})
	}
	z := newZooMore(t, specs...)
	sub := func(name string, f func(x *zmHost)) {
		t.Run(name, func(t *testing.T) { f(z.host(t, name)) })
	}

	// AuthorizedKeysFile with the home spelled out (%h): the same file as .ssh/authorized_keys.
	sub("akf-h", func(x *zmHost) {
		x.exec("echo 'AuthorizedKeysFile %h/.ssh/authorized_keys' >>/etc/ssh/sshd_config; cat " + zq(x.z.foreign+".pub") + " >>/home/carol/.ssh/authorized_keys")
		x.restart()
		if !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: the foreign key does not log in")
		}
		x.manifest(zmCarol+zmAlice, "carol, alice", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "foreign@elsewhere") || !strings.Contains(plan, "in /home/carol/.ssh/authorized_keys") {
			x.t.Errorf("the plan does not show the foreign key and its file")
		}
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) || !x.keyLogin("alice", x.z.alice) {
			x.t.Error("carol or alice does not log in with her key")
		}
	})

	// Keys outside home named by uid (%U), beside the home file.
	sub("akf-uid", func(x *zmHost) {
		x.exec("echo 'AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%U' >>/etc/ssh/sshd_config; mkdir -p /etc/ssh/keys; cat " + zq(x.z.foreign+".pub") + " >/etc/ssh/keys/1001")
		x.restart()
		if !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: the foreign key does not log in")
		}
		x.manifest(zmCarol+zmAlice, "carol, alice", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "/etc/ssh/keys/1001") {
			x.t.Errorf("the plan does not name /etc/ssh/keys/1001")
		}
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key in /etc/ssh/keys/1001 still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) || !x.keyLogin("alice", x.z.alice) {
			x.t.Error("carol or alice does not log in with her key")
		}
	})

	// Keys only in /etc/ssh/authorized_keys/%u, a directory that does not exist yet (the login
	// user keeps his home file through a Match block).
	sub("etc-nodir", func(x *zmHost) {
		x.exec("printf 'AuthorizedKeysFile /etc/ssh/authorized_keys/%%u\\nMatch User labadmin\\n\\tAuthorizedKeysFile .ssh/authorized_keys\\n' >>/etc/ssh/sshd_config")
		x.restart()
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Fatal("setup: carol's home key still logs in")
		}
		x.manifest(zmCarol+zmAlice, "carol, alice", "")
		x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) || !x.keyLogin("alice", x.z.alice) {
			x.t.Error("carol or alice does not log in with her key")
		}
	})

	// Match User carol with its own AuthorizedKeysFile, holding a foreign key.
	sub("muser-akf", func(x *zmHost) {
		x.exec("printf '\\nMatch User carol\\n\\tAuthorizedKeysFile /etc/ssh/carol_keys\\n' >>/etc/ssh/sshd_config; cat " + zq(x.z.foreign+".pub") + " >/etc/ssh/carol_keys")
		x.restart()
		if !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: the foreign key does not log in")
		}
		x.manifest(zmCarol, "carol", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "/etc/ssh/carol_keys") {
			x.t.Errorf("the plan does not name /etc/ssh/carol_keys")
		}
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// Match Group admins reads a second key file; carol joins admins through the manifest, so
	// after apply sshd reads that file for her: a foreign key there must not log in.
	sub("mgroup-join", func(x *zmHost) {
		x.exec("groupadd -g 1600 admins; printf '\\nMatch Group admins\\n\\tAuthorizedKeysFile .ssh/authorized_keys /etc/ssh/admin_keys/%%u\\n' >>/etc/ssh/sshd_config; mkdir -p /etc/ssh/admin_keys; cat " + zq(x.z.foreign+".pub") + " >/etc/ssh/admin_keys/carol")
		x.restart()
		x.manifest("  - name: carol\n    groups: [admins]\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.exec("id -Gn carol"); !strings.Contains(out, "admins") {
			x.t.Fatalf("carol is not in admins: %s", out)
		}
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key in /etc/ssh/admin_keys/carol logs in as carol after she joined admins")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// Match Group admins reads ONLY /etc/ssh/admin_keys/%u: carol joins admins through the
	// manifest, so her key must go there (not to ~/.ssh/authorized_keys, which sshd then no
	// longer reads for her); when the manifest drops admins, it must go back to her home file.
	sub("mgroup-only", func(x *zmHost) {
		x.exec("groupadd -g 1600 admins; printf '\\nMatch Group admins\\n\\tAuthorizedKeysFile /etc/ssh/admin_keys/%%u\\n' >>/etc/ssh/sshd_config")
		x.restart()
		x.manifest("  - name: carol\n    groups: [admins]\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.exec("id -Gn carol"); !strings.Contains(out, "admins") {
			x.t.Fatalf("carol is not in admins: %s", out)
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key once in admins")
		}
		x.manifest("  - name: carol\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.exec("id -Gn carol"); strings.Contains(out, "admins") {
			x.t.Fatalf("carol is still in admins: %s", out)
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key after leaving admins")
		}
	})

	// Match Address with a list holding IPv6 and the lab's range.
	sub("maddr-list", func(x *zmHost) {
		x.exec("printf '\\nMatch Address 2001:db8::/32,::1,127.0.0.0/8\\n\\tPasswordAuthentication yes\\n' >>/etc/ssh/sshd_config; echo 'carol:" + x.z.hash + "' | chpasswd -e")
		x.restart()
		if !x.passwordLogin("carol", zmCarolPassword) {
			x.t.Fatal("setup: carol's password does not log in")
		}
		x.manifest(x.carolWithPassword(""), "carol", zmNoPassword)
		x.converge()
		if x.passwordLogin("carol", zmCarolPassword) {
			x.t.Error("carol still logs in with her password")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// A drop-in that sorts before accessctl's 00-accessctl.conf sets PasswordAuthentication yes
	// globally: accessctl's value cannot win there. The plan says so (blocked), nothing changes.
	sub("early-global", func(x *zmHost) {
		x.exec("echo 'PasswordAuthentication yes' >/etc/ssh/sshd_config.d/00-aaa-legacy.conf; echo 'carol:" + x.z.hash + "' | chpasswd -e")
		x.restart()
		x.manifest(x.carolWithPassword(""), "carol", zmNoPassword)
		x.blocked("cat /etc/ssh/sshd_config; ls -A /etc/ssh/sshd_config.d; cat /etc/passwd /etc/shadow", "/etc/ssh/sshd_config.d/00-aaa-legacy.conf:1")
		if !x.passwordLogin("carol", zmCarolPassword) {
			x.t.Error("carol's password login changed on a host apply did not start")
		}
	})

	// A Match Group block in a drop-in that sorts before accessctl's: it comes before accessctl's
	// Match all section, so it cannot be beaten: blocked in the plan, named, nothing changes.
	sub("early-match", func(x *zmHost) {
		x.exec("groupadd -g 1601 pwusers; usermod -aG pwusers carol; printf 'Match Group pwusers\n\tPasswordAuthentication yes\n' >/etc/ssh/sshd_config.d/00-00-legacy.conf; echo 'carol:" + x.z.hash + "' | chpasswd -e")
		x.restart()
		if !x.passwordLogin("carol", zmCarolPassword) {
			x.t.Fatal("setup: carol's password does not log in")
		}
		x.manifest(x.carolWithPassword("    groups: [pwusers]\n"), "carol", zmNoPassword)
		x.blocked("cat /etc/ssh/sshd_config; ls -A /etc/ssh/sshd_config.d; cat /etc/passwd /etc/shadow", "/etc/ssh/sshd_config.d/00-00-legacy.conf:2 (Match Group pwusers)")
		if _, out := x.run("plan"); strings.Contains(out, "apply overrides it") {
			x.t.Error("the plan promises to override a Match block it cannot beat")
		}
		if !x.passwordLogin("carol", zmCarolPassword) {
			x.t.Error("carol's password login changed on a host apply did not start")
		}
		// Moved after accessctl's drop-in, the same block is beaten.
		x.exec("mv /etc/ssh/sshd_config.d/00-00-legacy.conf /etc/ssh/sshd_config.d/50-legacy.conf")
		x.converge()
		if x.passwordLogin("carol", zmCarolPassword) {
			x.t.Error("carol still logs in with her password")
		}
	})

	// The same for a user the manifest does not manage: "passwordAuthentication: false" is
	// about every connection.
	sub("early-match-other", func(x *zmHost) {
		x.exec("printf 'Match User backup\n\tPasswordAuthentication yes\n' >/etc/ssh/sshd_config.d/00-00-legacy.conf")
		x.manifest(zmCarol, "carol", zmNoPassword)
		x.blocked("cat /etc/ssh/sshd_config; ls -A /etc/ssh/sshd_config.d", "/etc/ssh/sshd_config.d/00-00-legacy.conf:2 (Match User backup)")
	})

	// Match Address naming only addresses the lab never uses: no connection of the lab gets a
	// password, and the plan names the block with an address inside it, not a client it does
	// not match.
	sub("maddr-other", func(x *zmHost) {
		x.exec("printf '\nMatch Address 192.0.2.0/24\n\tPasswordAuthentication yes\n' >>/etc/ssh/sshd_config")
		x.manifest(zmCarol, "carol", zmNoPassword)
		plan, _ := x.converge()
		if strings.Contains(plan, "from 198.51.100.7") {
			x.t.Error("the plan says a Match Address 192.0.2.0/24 block grants a password login from 198.51.100.7")
		}
		if out := x.exec("sshd -T -C user=carol,host=192.0.2.1,addr=192.0.2.1 | grep ^passwordauthentication"); out != "passwordauthentication no\n" {
			x.t.Errorf("sshd -T -C from 192.0.2.1: %q", out)
		}
	})

	// DenyUsers and DenyGroups; alice enters the denied group through the manifest.
	sub("deny", func(x *zmHost) {
		x.exec("printf 'DenyUsers carol\\nDenyGroups contractors\\n' >>/etc/ssh/sshd_config")
		x.restart()
		x.manifest(zmCarol+"  - name: alice\n    groups: [contractors]\n    keypairs: [alice-lab]\n", "carol, alice", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "login-blocked") || !strings.Contains(plan, "DenyUsers") {
			x.t.Errorf("the plan does not warn that DenyUsers blocks carol")
		}
		if !strings.Contains(plan, "DenyGroups") {
			x.t.Errorf("the plan does not warn that DenyGroups blocks alice")
		}
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) || x.keyLogin("alice", x.z.alice) {
			x.t.Error("a denied user logs in")
		}
	})

	// AllowUsers with user@address patterns: carol may come from loopback, alice is not listed.
	sub("allow-at", func(x *zmHost) {
		x.exec("echo 'AllowUsers labadmin carol@127.0.0.0/8' >>/etc/ssh/sshd_config")
		x.restart()
		x.manifest(zmCarol+zmAlice, "carol, alice", "")
		plan, _ := x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in")
		}
		if x.keyLogin("alice", x.z.alice) {
			x.t.Error("alice logs in although AllowUsers does not list her")
		}
		if !strings.Contains(plan, "login-blocked") || !strings.Contains(plan, "alice") {
			x.t.Errorf("no login-blocked warning for alice")
		}
		for _, l := range strings.Split(plan, "\n") {
			if strings.Contains(l, "login-blocked") && strings.Contains(l, "carol") {
				x.t.Errorf("carol, who logs in, is reported blocked: %s", l)
			}
		}
	})

	// A nologin shell: carol's is set on the host, alice's by the manifest.
	sub("nologin", func(x *zmHost) {
		x.exec("usermod -s /usr/sbin/nologin carol")
		x.manifest(zmCarol+"  - name: alice\n    shell: /usr/sbin/nologin\n    keypairs: [alice-lab]\n", "carol, alice", "")
		plan, _ := x.converge()
		if strings.Count(plan, "login-blocked") < 2 || !strings.Contains(plan, "nologin") {
			x.t.Errorf("the plan does not warn that both shells refuse logins")
		}
		if r, _ := lab.SSH(context.Background(), x.h, "carol", x.z.l.HumanIdentityFile, "echo in"); strings.Contains(r.Stdout, "in") {
			x.t.Error("carol runs a command with a nologin shell")
		}
	})

	// An expired account (chage -E 1), desired present.
	sub("expired", func(x *zmHost) {
		x.exec("chage -E 1 carol")
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Fatal("setup: the expired carol logs in")
		}
		x.manifest(zmCarol, "carol", "")
		plan, _ := x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) && !(strings.Contains(plan, "login-blocked") && strings.Contains(plan, "expire")) {
			x.t.Error("carol cannot log in and the plan did not warn that her account is expired")
		}
	})

	// sudoers with the old spelling #includedir.
	sub("hash-includedir", func(x *zmHost) {
		x.exec("sed -i 's|^@includedir /etc/sudoers.d|#includedir /etc/sudoers.d|' /etc/sudoers; grep -q '^#includedir' /etc/sudoers")
		before := x.exec("cat /etc/sudoers")
		x.manifest("  - name: carol\n    sudo: nopasswd\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD: ALL") {
			x.t.Errorf("sudo -l -U carol:\n%s", out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if r, _ := lab.SSH(ctx, x.h, "carol", x.z.l.HumanIdentityFile, "sudo -n id -u"); r.Stdout != "0\n" {
			x.t.Errorf("carol's sudo -n: %+v", r)
		}
		if after := x.exec("cat /etc/sudoers"); after != before {
			x.t.Errorf("/etc/sudoers was changed although it includes sudoers.d:\n%s", after)
		}
	})

	// RHEL style: %wheel grants sudo; carol is in wheel.
	sub("wheel", func(x *zmHost) {
		x.exec("groupadd -g 10 wheel 2>/dev/null || groupadd wheel; usermod -aG wheel carol; echo '%wheel ALL=(ALL) ALL' >/etc/sudoers.d/wheel; chmod 0440 /etc/sudoers.d/wheel; visudo -c >/dev/null")
		if out := x.sudoL("carol"); !strings.Contains(out, "(ALL) ALL") {
			x.t.Fatalf("setup: %s", out)
		}
		x.manifest(zmCarol, "carol", "")
		x.blocked("cat /etc/group /etc/sudoers; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "wheel")
		x.manifest("  - name: carol\n    sudo: true\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "(ALL) ALL") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// A User_Alias in a sudoers.d file accessctl does not own grants carol NOPASSWD.
	sub("user-alias", func(x *zmHost) {
		x.exec("printf 'User_Alias OPS = carol, dave\\nOPS ALL=(ALL) NOPASSWD: ALL\\n' >/etc/sudoers.d/ops; chmod 0440 /etc/sudoers.d/ops; visudo -c >/dev/null")
		x.manifest(zmCarol, "carol", "")
		x.blocked("cat /etc/sudoers; cat /etc/sudoers.d/*; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "sudo")
		x.manifest("  - name: carol\n    sudo: nopasswd\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD: ALL") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// A foreign drop-in grants carol NOPASSWD; the manifest says sudo: true (with password).
	sub("foreign-dropin", func(x *zmHost) {
		x.exec("echo 'carol ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/90-carol; chmod 0440 /etc/sudoers.d/90-carol")
		x.manifest("  - name: carol\n    sudo: true\n    keypairs: [carol-lab]\n", "carol", "")
		x.blocked("cat /etc/sudoers /etc/sudoers.d/*; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "90-carol")
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// A drop-in whose name has a dot is skipped by sudo: it grants nothing.
	sub("dotted-dropin", func(x *zmHost) {
		x.exec("echo 'carol ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/carol.conf; chmod 0440 /etc/sudoers.d/carol.conf")
		if out := x.sudoL("carol"); !strings.Contains(out, "not allowed") {
			x.t.Fatalf("setup: carol has sudo: %s", out)
		}
		x.manifest(zmCarol, "carol", "")
		x.converge()
		x.manifest("  - name: carol\n    sudo: nopasswd\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD: ALL") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// Keyboard-interactive through PAM (UsePAM yes) for carol, from a Match block: a password
	// login by another name.
	sub("kbd", func(x *zmHost) {
		x.exec("printf '\\nMatch User carol\\n\\tKbdInteractiveAuthentication yes\\n' >>/etc/ssh/sshd_config; echo 'carol:" + x.z.hash + "' | chpasswd -e")
		x.restart()
		if !x.kbdLogin("carol", zmCarolPassword) {
			x.t.Fatal("setup: carol's keyboard-interactive login fails")
		}
		x.manifest(x.carolWithPassword(""), "carol", zmNoPassword)
		x.converge()
		if x.kbdLogin("carol", zmCarolPassword) || x.passwordLogin("carol", zmCarolPassword) {
			x.t.Error("carol still logs in with her password")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// ~/.ssh is a symlink (to a directory carol owns) holding a foreign key.
	sub("symlink-ssh", func(x *zmHost) {
		x.exec("mv /home/carol/.ssh /var/lib/carol-ssh && ln -s /var/lib/carol-ssh /home/carol/.ssh && cat " + zq(x.z.foreign+".pub") + " >>/var/lib/carol-ssh/authorized_keys")
		if !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: the foreign key does not log in")
		}
		x.manifest(zmCarol, "carol", "")
		code, plan := x.run("plan", "--detailed-exitcode")
		if strings.Contains(plan, "BLOCKED") {
			x.blocked("stat -c '%n %a %U %s' /home/carol /var/lib/carol-ssh /var/lib/carol-ssh/*; cat /var/lib/carol-ssh/*", "symlink")
			return
		}
		if code != exitChanges {
			x.t.Errorf("plan: exit %d", code)
		}
		x.converge()
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// authorized_keys written on Windows: CRLF line ends, a foreign key among them.
	sub("crlf", func(x *zmHost) {
		x.exec("{ printf '%s carol@lab\\r\\n' " + zq(x.z.carolPub) + "; printf '%s foreign\\r\\n' " + zq(x.z.forPub) + "; } >/home/carol/.ssh/authorized_keys")
		if !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: the foreign key does not log in")
		}
		x.manifest(zmCarol, "carol", "")
		x.converge()
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key")
		}
	})

	// authorized_keys with a UTF-8 byte order mark before carol's key line.
	sub("bom", func(x *zmHost) {
		x.exec("printf '\\357\\273\\277%s carol@lab\\n' " + zq(x.z.carolPub) + " >/home/carol/.ssh/authorized_keys")
		before := x.keyLogin("carol", x.z.l.HumanIdentityFile)
		x.t.Logf("before apply, carol's key behind a BOM logs in: %v", before)
		x.manifest(zmCarol, "carol", "")
		x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key after apply")
		}
	})

	// carol's own key only in authorized_keys2, restricted by options; a foreign key with a
	// forced command beside it.
	sub("keys2-options", func(x *zmHost) {
		x.exec("rm /home/carol/.ssh/authorized_keys; { printf 'from=\"192.0.2.1\" %s carol@lab\\n' " + zq(x.z.carolPub) + "; printf 'command=\"/bin/true\",from=\"127.0.0.0/8\" %s foreign\\n' " + zq(x.z.forPub) + "; } >/home/carol/.ssh/authorized_keys2; chown carol: /home/carol/.ssh/authorized_keys2; chmod 600 /home/carol/.ssh/authorized_keys2")
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) || !x.keyLogin("carol", x.z.foreign) {
			x.t.Fatal("setup: carol's key logs in from loopback or the foreign key does not")
		}
		x.manifest(zmCarol, "carol", "")
		x.converge()
		if x.keyLogin("carol", x.z.foreign) {
			x.t.Error("the foreign key still logs in as carol")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol's key (bound without from=) does not log in from loopback after apply")
		}
	})
}

// TestZooMoreCLIAuth: what sshd and sudo decide beyond the keywords accessctl writes
// (AuthenticationMethods, user@host patterns, sudo Defaults), dropbear and a login whose sudo
// needs a password, through the CLI.
func TestZooMoreCLIAuth(t *testing.T) {
	z := newZooMore(t,
		lab.HostSpec{Name: "authmethods-user", Variant: lab.HumanUser},
		lab.HostSpec{Name: "deny-at", Variant: lab.HumanUser},
		lab.HostSpec{Name: "noauth", Variant: lab.HumanUser},
		lab.HostSpec{Name: "noauth-user", Variant: lab.HumanUser},
		lab.HostSpec{Name: "sudoers-include", Variant: lab.HumanUser},
		lab.HostSpec{Name: "dropbear", Variant: lab.Dropbear},
		lab.HostSpec{Name: "sudopw", Variant: lab.SudoPassword},
		lab.HostSpec{Name: "allowgroups-join", Variant: lab.HumanUser},
		lab.HostSpec{Name: "muser-nopubkey", Variant: lab.HumanUser},
		lab.HostSpec{Name: "directory", Variant: lab.Directory},
		lab.HostSpec{Name: "home-gw", Variant: lab.HumanUser},
		lab.HostSpec{Name: "keys-root-owned", Variant: lab.HumanUser},
		lab.HostSpec{Name: "group-grants-sudo", Variant: lab.HumanUser},
	)
	sub := func(name string, f func(x *zmHost)) {
		t.Run(name, func(t *testing.T) { f(z.host(t, name)) })
	}

	// Two factors for carol: key then password. With password authentication off for every
	// connection, sshd cannot satisfy the list: carol, whose key the manifest binds, cannot log
	// in at all. The plan must say so (login-blocked, naming the line) before anything changes.
	sub("authmethods-user", func(x *zmHost) {
		x.exec("printf '\\nMatch User carol\\n\\tAuthenticationMethods publickey,password\\n\\tPasswordAuthentication yes\\n' >>/etc/ssh/sshd_config; echo 'carol:" + x.z.hash + "' | chpasswd -e")
		x.manifest(x.carolWithPassword(""), "carol", zmNoPassword)
		plan, _ := x.converge()
		if !strings.Contains(plan, "login-blocked") || !strings.Contains(plan, "AuthenticationMethods publickey,password") || !strings.Contains(plan, "/etc/ssh/sshd_config:129") {
			x.t.Errorf("the plan does not warn that AuthenticationMethods keeps carol out once passwords are off (sshd_config:129)")
		}
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol logs in with her key alone despite AuthenticationMethods publickey,password")
		}
		// With passwords left on, the list can be met: no warning.
		x.manifest(x.carolWithPassword(""), "carol", "      passwordAuthentication: true\n      pubkeyAuthentication: true\n")
		if _, plan := x.run("plan"); strings.Contains(plan, "AuthenticationMethods") {
			x.t.Errorf("AuthenticationMethods reported although password authentication stays on")
		}
	})

	// DenyUsers for one network only: carol logs in from everywhere else.
	sub("deny-at", func(x *zmHost) {
		x.exec("echo 'DenyUsers *@203.0.113.0/24' >>/etc/ssh/sshd_config")
		x.restart()
		x.manifest(zmCarol, "carol", "")
		plan, _ := x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Fatal("carol does not log in")
		}
		if strings.Contains(plan, "carol cannot log in") {
			x.t.Errorf("the plan says carol cannot log in, but she does (DenyUsers names another network)")
		}
	})

	// `Defaults !authenticate`: every sudo rule runs without a password, so "sudo: true" would
	// really be NOPASSWD: blocked, named; "sudo: nopasswd" converges.
	sub("noauth", func(x *zmHost) {
		x.exec("echo 'Defaults !authenticate' >/etc/sudoers.d/00-noauth; chmod 0440 /etc/sudoers.d/00-noauth; visudo -c >/dev/null")
		x.manifest("  - name: carol\n    sudo: true\n    keypairs: [carol-lab]\n", "carol", "")
		x.blocked("cat /etc/sudoers /etc/sudoers.d/*; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "/etc/sudoers.d/00-noauth:1")
		x.manifest("  - name: carol\n    sudo: nopasswd\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if r, _ := lab.SSH(ctx, x.h, "carol", x.z.l.HumanIdentityFile, "sudo -n id -u"); r.Stdout != "0\n" {
			x.t.Errorf("carol's sudo -n: %+v", r)
		}
	})

	// `Defaults:carol !authenticate` while no rule names carol yet: sudo -l -U shows no Defaults
	// for her, so the read finds the line itself; "sudo: true" is blocked on the FIRST plan.
	sub("noauth-user", func(x *zmHost) {
		x.exec("echo 'Defaults:carol !authenticate' >/etc/sudoers.d/00-noauth; chmod 0440 /etc/sudoers.d/00-noauth; visudo -c >/dev/null")
		x.manifest("  - name: carol\n    sudo: true\n    keypairs: [carol-lab]\n", "carol", "")
		x.blocked("cat /etc/sudoers /etc/sudoers.d/*; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "/etc/sudoers.d/00-noauth:1")
		x.manifest("  - name: carol\n    sudo: nopasswd\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD") && !strings.Contains(out, "!authenticate") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// A sudoers #include of a single file that grants carol NOPASSWD; the manifest says none.
	sub("sudoers-include", func(x *zmHost) {
		x.exec("echo 'carol ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.local; chmod 0440 /etc/sudoers.local; echo '#include /etc/sudoers.local' >>/etc/sudoers; visudo -c >/dev/null")
		x.manifest(zmCarol, "carol", "")
		x.blocked("cat /etc/sudoers /etc/sudoers.local; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "carol")
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	// dropbear: a locked user with keys loses key login, and gets it back when present again.
	sub("dropbear", func(x *zmHost) {
		x.manifest("  - name: carol\n    state: locked\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("locked carol logs in with her key on dropbear")
		}
		x.manifest(zmCarol, "carol", "")
		x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol, present again, does not log in with her key on dropbear")
		}
		// sshd settings cannot be made on dropbear: blocked, with the reason.
		x.manifest(zmCarol, "carol", zmNoPassword)
		x.blocked("cat /etc/passwd /etc/shadow; ls -A /var/lib/accessctl 2>/dev/null; true", "dropbear")
	})

	// The login's sudo needs a password (and the host name does not resolve): the host fails
	// with sudo's real cause, naming the host.
	sub("sudopw", func(x *zmHost) {
		x.manifest(zmCarol, "carol", "")
		code, out := x.run("plan", "--detailed-exitcode")
		if code != exitHost || !strings.Contains(out, "sudopw") || !strings.Contains(out, "a password is required") {
			x.t.Errorf("plan: exit %d, want %d naming the host and sudo's cause", code, exitHost)
		}
		code, out = x.run("apply", "--yes")
		if code != exitHost || !strings.Contains(out, "a password is required") {
			x.t.Errorf("apply: exit %d, want %d with sudo's cause", code, exitHost)
		}
	})

	// AllowGroups: alice enters an allowed group through the manifest (not blocked, logs in);
	// carol is in none (warned, kept out).
	sub("allowgroups-join", func(x *zmHost) {
		x.exec("echo 'AllowGroups sudo sshusers' >>/etc/ssh/sshd_config")
		x.restart()
		x.manifest(zmCarol+"  - name: alice\n    groups: [sshusers]\n    keypairs: [alice-lab]\n", "carol, alice", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "carol cannot log in: in none of AllowGroups") {
			x.t.Error("no login-blocked warning for carol")
		}
		if strings.Contains(plan, "alice cannot log in") {
			x.t.Error("alice, who joins sshusers, is reported blocked")
		}
		if !x.keyLogin("alice", x.z.alice) || x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("AllowGroups: alice should log in, carol should not")
		}
	})

	// Match User carol turns public keys off; the manifest says pubkeyAuthentication: true.
	sub("muser-nopubkey", func(x *zmHost) {
		x.exec("printf '\\nMatch User carol\\n\\tPubkeyAuthentication no\\n' >>/etc/ssh/sshd_config")
		x.restart()
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Fatal("setup: carol logs in with her key")
		}
		x.manifest(zmCarol, "carol", zmNoPassword)
		x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in with her key after apply")
		}
	})

	// A directory (systemd-userdb) account with keys and sudo: no useradd, real login and sudo.
	sub("directory", func(x *zmHost) {
		x.manifest("  - name: dora\n    sudo: nopasswd\n    keypairs: [alice-lab]\n", "dora", "")
		plan, _ := x.converge()
		if strings.Contains(plan, "+ user dora") {
			x.t.Error("the plan creates the directory account dora")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if r, _ := lab.SSH(ctx, x.h, "dora", x.z.alice, "sudo -n id -u"); r.Stdout != "0\n" {
			x.t.Errorf("dora's key login and sudo: %+v", r)
		}
		if out := x.exec("grep -c '^dora:' /etc/passwd || true"); out != "0\n" {
			x.t.Error("dora was added to /etc/passwd")
		}
	})

	// carol's home is group-writable (umask 002 images): sshd's StrictModes ignores her keys,
	// and apply refuses to write there. The plan must say so (blocked) and leave the host, so
	// alice, on the same host, is not rolled back with her.
	sub("home-gw", func(x *zmHost) {
		x.exec("chmod 0775 /home/carol")
		x.manifest("  - name: carol\n    keypairs: [carol-lab, alice-lab]\n"+zmAlice, "carol, alice", "")
		x.blocked("cat /etc/passwd /etc/shadow; ls -A /home /home/carol/.ssh; stat -c '%n %a %U %s' /home/carol /home/carol/.ssh /home/carol/.ssh/*; cat /home/carol/.ssh/authorized_keys", "/home/carol", "writable by group or others")
		// (Debian's OpenSSH accepts a home writable by the user's own group: carol's key still
		// logs in, so the plan must not claim she cannot.)
		if _, plan := x.run("plan"); strings.Contains(plan, "carol cannot log in") && x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("the plan says carol cannot log in, but she does")
		}
		// World-writable: every OpenSSH ignores her keys; the plan warns.
		x.exec("chmod 0777 /home/carol")
		if _, plan := x.run("plan"); !strings.Contains(plan, "login-blocked") || x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("a world-writable home: no login-blocked warning, or carol still logs in")
		}
		// Fixed on the host, the same manifest converges and both keys log in.
		x.exec("chmod 0755 /home/carol")
		x.converge()
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) || !x.keyLogin("carol", x.z.alice) || !x.keyLogin("alice", x.z.alice) {
			x.t.Error("after chmod go-w and apply, a key does not log in")
		}
	})

	// carol's authorized_keys holds exactly her key, but someone wrote it with `sudo tee`:
	// root-owned 0600, which sshd (reading it as carol) cannot open. The files say "in sync";
	// real access says carol cannot log in.
	sub("keys-root-owned", func(x *zmHost) {
		x.exec("chown root:root /home/carol/.ssh/authorized_keys; chmod 0600 /home/carol/.ssh/authorized_keys")
		if x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Fatal("setup: carol logs in with a root-owned 0600 authorized_keys")
		}
		x.manifest(zmCarol, "carol", "")
		plan, _ := x.converge()
		if !strings.Contains(plan, "sshd reads it as carol and cannot") {
			x.t.Error("the plan does not say why carol's authorized_keys is rewritten")
		}
		if !x.keyLogin("carol", x.z.l.HumanIdentityFile) {
			x.t.Error("carol does not log in after apply")
		}
	})

	// The manifest puts carol in Debian's sudo group but says sudo: false; %sudo would give her
	// sudo. And RHEL style: %wheel with NOPASSWD for a user the manifest gives sudo: true.
	sub("group-grants-sudo", func(x *zmHost) {
		x.manifest("  - name: carol\n    groups: [sudo]\n    keypairs: [carol-lab]\n", "carol", "")
		x.blocked("cat /etc/group /etc/sudoers; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "%sudo", "/etc/sudoers:")
		if out := x.sudoL("carol"); !strings.Contains(out, "not allowed") {
			x.t.Errorf("carol got sudo: %s", out)
		}
		x.exec("groupadd wheel; echo '%wheel ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/wheel; chmod 0440 /etc/sudoers.d/wheel")
		x.manifest("  - name: carol\n    sudo: true\n    groups: [wheel]\n    keypairs: [carol-lab]\n", "carol", "")
		x.blocked("cat /etc/group; ls -A /etc/sudoers.d /var/lib/accessctl 2>/dev/null; true", "/etc/sudoers.d/wheel:1")
		// Said in the manifest, it converges.
		x.manifest("  - name: carol\n    sudo: nopasswd\n    groups: [wheel]\n    keypairs: [carol-lab]\n", "carol", "")
		x.converge()
		if out := x.sudoL("carol"); !strings.Contains(out, "NOPASSWD: ALL") {
			x.t.Errorf("sudo -l -U carol: %s", out)
		}
	})
}
