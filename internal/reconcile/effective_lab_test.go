package reconcile

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// The zoo, end to end: for each host set up like a real one where files and effective access
// differ (internal/lab zoo.go), plan and apply a manifest and prove the result by real logins
// (by key and by password) and real `sudo -l`, never by reading the files accessctl wrote; then
// the next plan is empty.

const carolPassword = "Carol-Pass-2026!x"

type zoo struct {
	t        *testing.T
	l        *lab.Lab
	ctx      context.Context
	foreign  string // a key file no manifest grants (its .pub beside it)
	alice    string // alice's key file
	carolPub string
	alicePub string
	hash     string
}

func newZoo(t *testing.T, specs ...lab.HostSpec) *zoo {
	l := lab.New(t, specs...)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	z := &zoo{t: t, l: l, ctx: ctx, foreign: filepath.Join(l.Dir, "id_foreign"), alice: filepath.Join(l.Dir, "id_alice")}
	if _, err := lab.GenerateKey(z.foreign, "foreign@elsewhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.GenerateKey(z.alice, "alice@lab"); err != nil {
		t.Fatal(err)
	}
	z.carolPub = pubLine(t, l.HumanIdentityFile)
	z.alicePub = pubLine(t, z.alice)
	var err error
	if z.hash, err = NewSHA512Hash(carolPassword); err != nil {
		t.Fatal(err)
	}
	return z
}

func pubLine(t *testing.T, keyFile string) string {
	b, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return f[0] + " " + f[1]
}

// manifest is one host's manifest: users in group "web" with sshd settings (nil: none managed).
func (z *zoo) manifest(h *lab.Host, sshd *manifest.Sshd, users ...manifest.User) *manifest.Manifest {
	var names []string
	for i := range users {
		if users[i].State == "" {
			users[i].State = manifest.StatePresent
		}
		if users[i].Sudo == "" {
			users[i].Sudo = manifest.SudoNone
		}
		names = append(names, users[i].Name)
	}
	var host manifest.Host
	for _, mh := range z.l.ManifestHosts("web") {
		if mh.Name == h.Name {
			host = mh
		}
	}
	return &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs: []manifest.Keypair{
			{Name: "carol-lab", PublicKey: z.carolPub},
			{Name: "alice-lab", PublicKey: z.alicePub},
		},
		Users:      users,
		HostGroups: []manifest.HostGroup{{Name: "web", Users: names, Sshd: sshd}},
		Hosts:      []manifest.Host{host},
	}
}

func (z *zoo) carol(mods ...func(*manifest.User)) manifest.User {
	u := manifest.User{Name: lab.HumanUserName, Keypairs: []manifest.Binding{{Keypair: "carol-lab"}}}
	for _, m := range mods {
		m(&u)
	}
	return u
}

var noPasswords = &manifest.Sshd{PasswordAuthentication: ptr(false), PubkeyAuthentication: ptr(true)}

func (z *zoo) cfg(h *lab.Host) sshtr.Config {
	return sshtr.Config{Name: h.Name, Addr: h.Addr, Port: h.Port, User: z.l.AdminUser,
		KnownHostsFiles: []string{z.l.KnownHostsFile}, IdentityFiles: []string{z.l.IdentityFile}}
}

func (z *zoo) plan(h *lab.Host, m *manifest.Manifest) *HostPlan {
	z.t.Helper()
	conn, err := sshtr.Dial(z.ctx, z.cfg(h))
	if err != nil {
		z.t.Fatal(err)
	}
	defer conn.Close()
	return PlanHost(z.ctx, m, m.Hosts[0], "hosts[0]", conn, Options{Login: z.l.AdminUser, Today: DaysSinceEpoch(time.Now())})
}

// apply plans and applies; it returns the plan and the result.
func (z *zoo) apply(h *lab.Host, m *manifest.Manifest) (*HostPlan, Result) {
	z.t.Helper()
	conn, err := sshtr.Dial(z.ctx, z.cfg(h))
	if err != nil {
		z.t.Fatal(err)
	}
	defer conn.Close()
	o := Options{Login: z.l.AdminUser, Today: DaysSinceEpoch(time.Now())}
	hp := PlanHost(z.ctx, m, m.Hosts[0], "hosts[0]", conn, o)
	if hp.Status != StatusOK {
		z.t.Fatalf("%s: plan: %s", h.Name, hp.Error)
	}
	redial := func(ctx context.Context) (transport.Conn, error) { return sshtr.Dial(ctx, z.cfg(h)) }
	return hp, ApplyHost(z.ctx, hp, hp.Live, conn, redial, ApplyOptions{Login: z.l.AdminUser, Now: time.Now()})
}

// converge applies m, which must apply (or find nothing to change), and checks the next plan is
// empty.
func (z *zoo) converge(h *lab.Host, m *manifest.Manifest) *HostPlan {
	z.t.Helper()
	hp, res := z.apply(h, m)
	if res.Outcome != Applied && (res.Outcome != Unchanged || len(hp.Changes) != 0) {
		z.t.Fatalf("%s: apply: %s %v\nplan: %s", h.Name, res.Outcome, res.Err, describePlan(hp))
	}
	if again := z.plan(h, m); len(again.Changes) != 0 || again.Status != StatusOK {
		z.t.Errorf("%s: the plan after apply is not empty: %s %s", h.Name, again.Error, describePlan(again))
	}
	return hp
}

func describePlan(hp *HostPlan) string {
	var b strings.Builder
	for _, c := range hp.Changes {
		b.WriteString("\n  " + string(c.Action) + " " + c.Resource + " " + c.Name + ": " + c.Reason)
		if c.Blocked != "" {
			b.WriteString(" [blocked: " + c.Blocked + "]")
		}
	}
	for _, f := range hp.Findings {
		b.WriteString("\n  finding " + f.Rule + ": " + f.Msg)
	}
	return b.String()
}

// keyLogin: a real OpenSSH client logs in as user with keyFile only.
func (z *zoo) keyLogin(h *lab.Host, user, keyFile string) bool {
	r, err := lab.SSH(z.ctx, h, user, keyFile, "true")
	if err != nil {
		z.t.Fatal(err)
	}
	return r.Code == 0
}

// passwordLogin: an SSH client logs in as user with the password only.
func (z *zoo) passwordLogin(h *lab.Host, user, pw string) bool {
	cfg := &xssh.ClientConfig{User: user, Auth: []xssh.AuthMethod{xssh.Password(pw)},
		HostKeyCallback: xssh.FixedHostKey(h.HostKey()), Timeout: 10 * time.Second}
	c, err := xssh.Dial("tcp", net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), cfg)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (z *zoo) sudoL(h *lab.Host, user string) string {
	return h.MustExec(z.t, "sudo -l -U "+user+" 2>&1 || true")
}

func hasFinding(hp *HostPlan, rule, user, where string) bool {
	for _, f := range hp.Findings {
		if f.Rule == rule && f.User == user && strings.Contains(f.Where, where) {
			return true
		}
	}
	return false
}

func TestLabEffectiveZoo(t *testing.T) {
	specs := []lab.HostSpec{
		{Name: "keys2", Variant: lab.KeysFile2},
		{Name: "etckeys", Variant: lab.EtcKeys},
		{Name: "etcandhome", Variant: lab.EtcKeysAndHome},
		{Name: "muser", Variant: lab.MatchUser},
		{Name: "mgroup", Variant: lab.MatchGroup},
		{Name: "maddr", Variant: lab.MatchAddress},
		{Name: "noinc", Variant: lab.NoInclude},
		{Name: "allow", Variant: lab.AllowUsers},
		{Name: "allowg", Variant: lab.AllowGroups},
		{Name: "noincdir", Variant: lab.NoIncludedir},
		{Name: "gsudo", Variant: lab.GroupSudo},
		{Name: "dir", Variant: lab.Directory},
		{Name: "nohome", Variant: lab.MissingHome},
		{Name: "linkhome", Variant: lab.SymlinkHome},
		{Name: "notools", Variant: lab.NoAccountTools},
		{Name: "dropbear", Variant: lab.Dropbear},
		{Name: "openssh", Variant: lab.HumanUser},
		{Name: "sudopw", Variant: lab.SudoPassword},
		{Name: "early", Variant: lab.HumanUser},
		{Name: "lport", Variant: lab.HumanUser},
	}
	z := newZoo(t, specs...)
	host := func(name string) *lab.Host { return z.l.Host(name) }

	t.Run("authorized_keys2", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("keys2")
		h.MustExec(t, "cat "+shq(z.foreign+".pub")+" >>/home/carol/.ssh/authorized_keys2")
		if !z.keyLogin(h, "carol", z.foreign) {
			t.Fatal("the foreign key does not log in before apply")
		}
		hp := z.converge(h, z.manifest(h, nil, z.carol()))
		if !hasFinding(hp, "foreign-access", "carol", "/home/carol/.ssh/authorized_keys2") {
			t.Errorf("no foreign-access finding:%s", describePlan(hp))
		}
		if z.keyLogin(h, "carol", z.foreign) {
			t.Error("the foreign key in authorized_keys2 still logs in")
		}
		if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol's key does not log in")
		}
	})

	t.Run("keys under /etc only", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("etckeys")
		h.MustExec(t, "cat "+shq(z.foreign+".pub")+" >>/etc/ssh/authorized_keys/carol")
		z.converge(h, z.manifest(h, nil, z.carol()))
		if z.keyLogin(h, "carol", z.foreign) {
			t.Error("the foreign key still logs in")
		}
		if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol's key does not log in (written where sshd does not read?)")
		}
	})

	t.Run("keys under /etc and home", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("etcandhome")
		h.MustExec(t, "cat "+shq(z.foreign+".pub")+" >/etc/ssh/authorized_keys/carol")
		z.converge(h, z.manifest(h, nil, z.carol()))
		if z.keyLogin(h, "carol", z.foreign) {
			t.Error("the foreign key in /etc/ssh/authorized_keys/carol still logs in")
		}
		if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol's key does not log in")
		}
	})

	for _, name := range []string{"muser", "mgroup", "maddr", "noinc", "lport"} {
		t.Run("Match block "+name, func(t *testing.T) {
			z := *z
			z.t = t
			h := host(name)
			m := z.manifest(h, noPasswords, z.carol(func(u *manifest.User) { u.Password = &manifest.Password{Hash: z.hash} }))
			if name == "lport" {
				h.MustExec(t, "printf '\nMatch LocalPort 22\n\tPasswordAuthentication yes\n' >>/etc/ssh/sshd_config")
			}
			if name == "noinc" {
				// No Include: the Match block is in the main file; carol is created by apply.
				h.MustExec(t, "printf '\\nMatch User carol\\n\\tPasswordAuthentication yes\\n' >>/etc/ssh/sshd_config")
			} else {
				h.MustExec(t, "echo 'carol:"+z.hash+"' | chpasswd -e")
				if !z.passwordLogin(h, "carol", carolPassword) {
					t.Fatal("carol's password does not log in before apply")
				}
			}
			hp := z.converge(h, m)
			if name != "noinc" && name != "lport" && !hasFinding(hp, "foreign-access", "carol", "/etc/ssh/sshd_config") {
				t.Errorf("no finding names the Match block:%s", describePlan(hp))
			}
			if z.passwordLogin(h, "carol", carolPassword) {
				t.Error("carol still logs in with her password after apply")
			}
			if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
				t.Error("carol's key does not log in")
			}
			spec := "user=carol,host=127.0.0.1,addr=127.0.0.1"
			if name == "lport" {
				spec += ",laddr=" + h.Addr + ",lport=22"
			}
			if out := h.MustExec(t, "sshd -T -C "+spec+" | grep ^passwordauthentication"); out != "passwordauthentication no\n" {
				t.Errorf("sshd -T -C: %q", out)
			}
		})
	}

	t.Run("AllowUsers", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("allow")
		alice := manifest.User{Name: "alice", Keypairs: []manifest.Binding{{Keypair: "alice-lab"}}}
		hp := z.converge(h, z.manifest(h, nil, z.carol(), alice))
		if !hasFinding(hp, "login-blocked", "alice", "/etc/ssh/sshd_config:") {
			t.Errorf("no login-blocked finding for alice:%s", describePlan(hp))
		}
		if hasFinding(hp, "login-blocked", "carol", "") {
			t.Errorf("carol reported blocked:%s", describePlan(hp))
		}
		if z.keyLogin(h, "alice", z.alice) {
			t.Error("alice logs in despite AllowUsers")
		}
		if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol's key does not log in")
		}
	})

	t.Run("AllowGroups", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("allowg")
		hp := z.plan(h, z.manifest(h, nil, z.carol()))
		if !hasFinding(hp, "login-blocked", "carol", "/etc/ssh/sshd_config:") {
			t.Errorf("no login-blocked finding for carol:%s", describePlan(hp))
		}
		if z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol logs in despite AllowGroups")
		}
		// In the sudo group (which grants sudo: the manifest says so too) she may log in.
		in := z.manifest(h, nil, z.carol(func(u *manifest.User) { u.Groups = []string{"sudo"}; u.Sudo = manifest.SudoPassword }))
		hp = z.converge(h, in)
		if hasFinding(hp, "login-blocked", "carol", "") {
			t.Errorf("carol in sudo reported blocked:%s", describePlan(hp))
		}
		if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
			t.Error("carol in the sudo group does not log in")
		}
		if out := z.sudoL(h, "carol"); !strings.Contains(out, "(ALL : ALL) ALL") {
			t.Errorf("sudo -l -U carol: %s", out)
		}
	})

	t.Run("sudoers without includedir", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("noincdir")
		if out := z.sudoL(h, "carol"); !strings.Contains(out, "not allowed") {
			t.Fatalf("carol has sudo before: %s", out)
		}
		z.converge(h, z.manifest(h, nil, z.carol(func(u *manifest.User) { u.Sudo = manifest.SudoNoPasswd })))
		if out := z.sudoL(h, "carol"); !strings.Contains(out, "NOPASSWD: ALL") {
			t.Errorf("sudo -l -U carol after apply:\n%s", out)
		}
		if r, _ := lab.SSH(z.ctx, h, "carol", z.l.HumanIdentityFile, "sudo -n id -u"); r.Code != 0 || r.Stdout != "0\n" {
			t.Errorf("carol's sudo -n over ssh: %+v", r)
		}
	})

	t.Run("group sudo is a blocker", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("gsudo")
		hp, res := z.apply(h, z.manifest(h, nil, z.carol()))
		if res.Outcome != Failed || res.Err == nil || !strings.Contains(res.Err.Error(), "blocked") || !strings.Contains(res.Err.Error(), "sudo") {
			t.Fatalf("apply: %s %v%s", res.Outcome, res.Err, describePlan(hp))
		}
		if out := z.sudoL(h, "carol"); !strings.Contains(out, "(ALL : ALL) ALL") {
			t.Errorf("carol's sudo changed: %s", out)
		}
		// Granting it in the manifest converges.
		z.converge(h, z.manifest(h, nil, z.carol(func(u *manifest.User) { u.Sudo = manifest.SudoPassword })))
	})

	t.Run("directory account", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("dir")
		dora := manifest.User{Name: lab.DirectoryUserName, Sudo: manifest.SudoNoPasswd, Keypairs: []manifest.Binding{{Keypair: "alice-lab"}}}
		hp := z.converge(h, z.manifest(h, nil, dora))
		for _, c := range hp.Changes {
			for _, op := range c.Ops {
				if op.Kind == OpUserAdd {
					t.Errorf("useradd planned for a directory account:%s", describePlan(hp))
				}
			}
		}
		if len(hp.Directory) != 1 || hp.Directory[0] != "dora" {
			t.Errorf("the plan does not say dora is a directory account: %v", hp.Directory)
		}
		if r, _ := lab.SSH(z.ctx, h, "dora", z.alice, "sudo -n id -u"); r.Code != 0 || r.Stdout != "0\n" {
			t.Errorf("dora's key login + sudo: %+v", r)
		}
		if out := h.MustExec(t, "grep -c '^dora:' /etc/passwd || true"); out != "0\n" {
			t.Errorf("dora was added to /etc/passwd")
		}
		// Her shell cannot be changed: a blocked change, and the host is not started.
		hp, res := z.apply(h, z.manifest(h, nil, manifest.User{Name: "dora", Shell: "/bin/sh", Sudo: manifest.SudoNoPasswd, Keypairs: []manifest.Binding{{Keypair: "alice-lab"}}}))
		if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "directory account") {
			t.Errorf("apply: %s %v%s", res.Outcome, res.Err, describePlan(hp))
		}
	})

	for _, name := range []string{"nohome", "linkhome"} {
		t.Run("home "+name, func(t *testing.T) {
			z := *z
			z.t = t
			h := host(name)
			// (Not labadmin's home: sudo leaves .sudo_as_admin_successful there on first use.)
			snapshot := "cat /etc/passwd /etc/shadow /etc/group; ls /home; ls -A /var/lib/accessctl /home/carol /var/lib/carol-home 2>/dev/null; true"
			before := h.MustExec(t, snapshot)
			// carol gets a second key: a change in her home, which apply cannot make there.
			carol := z.carol(func(u *manifest.User) { u.Keypairs = append(u.Keypairs, manifest.Binding{Keypair: "alice-lab"}) })
			hp, res := z.apply(h, z.manifest(h, noPasswords, carol, manifest.User{Name: "alice", Keypairs: []manifest.Binding{{Keypair: "alice-lab"}}}))
			if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "home of carol") {
				t.Errorf("apply: %s %v%s", res.Outcome, res.Err, describePlan(hp))
			}
			if after := h.MustExec(t, snapshot); after != before {
				t.Errorf("the host changed although the plan was blocked:\n%s\n---\n%s", before, after)
			}
		})
	}

	t.Run("no account tools", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("notools")
		alice := manifest.User{Name: "alice", Keypairs: []manifest.Binding{{Keypair: "alice-lab"}}}
		hp, res := z.apply(h, z.manifest(h, nil, z.carol(), alice))
		if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "useradd is not installed") {
			t.Errorf("apply: %s %v%s", res.Outcome, res.Err, describePlan(hp))
		}
		// What needs no account tool still converges (carol's keys).
		z.converge(h, z.manifest(h, nil, z.carol()))
	})

	for _, name := range []string{"dropbear", "openssh"} {
		t.Run("lock on "+name, func(t *testing.T) {
			z := *z
			z.t = t
			h := host(name)
			z.converge(h, z.manifest(h, nil, z.carol(func(u *manifest.User) { u.State = manifest.StateLocked })))
			if z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
				t.Error("locked carol still logs in with her key")
			}
			z.converge(h, z.manifest(h, nil, z.carol()))
			if !z.keyLogin(h, "carol", z.l.HumanIdentityFile) {
				t.Error("unlocked carol does not log in with her key")
			}
		})
	}

	t.Run("Match block that cannot be beaten", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("early")
		// A drop-in that sorts before accessctl's: its Match block comes first for carol.
		h.MustExec(t, "printf 'Match User carol\n\tPasswordAuthentication yes\n' >/etc/ssh/sshd_config.d/00-aaa.conf; echo 'carol:"+z.hash+"' | chpasswd -e")
		m := z.manifest(h, noPasswords, z.carol(func(u *manifest.User) { u.Password = &manifest.Password{Hash: z.hash} }))
		hp, res := z.apply(h, m)
		// Seen in the plan (blocked): apply does not start the host.
		if res.Outcome != Failed || res.Err == nil || !strings.Contains(res.Err.Error(), "/etc/ssh/sshd_config.d/00-aaa.conf:2") {
			t.Fatalf("apply: %s %v%s", res.Outcome, res.Err, describePlan(hp))
		}
		if !z.passwordLogin(h, "carol", carolPassword) {
			t.Error("the host was not restored: carol's password login is gone")
		}
		if _, err := h.ReadFile("/etc/ssh/sshd_config.d/00-accessctl.conf"); err == nil {
			t.Error("accessctl's drop-in left behind after the rollback")
		}
	})

	t.Run("sudo needs a password", func(t *testing.T) {
		z := *z
		z.t = t
		h := host("sudopw")
		hp := z.plan(h, z.manifest(h, nil, z.carol()))
		if hp.Status != StatusError || !strings.Contains(hp.Error, "a password is required") {
			t.Errorf("plan: %s %q", hp.Status, hp.Error)
		}
	})
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
