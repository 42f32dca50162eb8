package reconcile

import (
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// effLive is a small Debian-like host as the read script reports it, with the effective-access
// sections: carol (uid 1001) exists, labadmin is the login.
func effLive(mainCfg string) *hoststate.Linux {
	l := &hoststate.Linux{
		Accounts: []hoststate.Account{
			{Name: "labadmin", UID: 1000, GID: 1000, Home: "/home/labadmin", Shell: "/bin/bash"},
			{Name: "carol", UID: 1001, GID: 1001, Home: "/home/carol", Shell: "/bin/bash"},
		},
		Groups:         []hoststate.Group{{Name: "sudo", GID: 27, Members: []string{"labadmin"}}, {Name: "carol", GID: 1001}},
		Shadow:         map[string]hoststate.Shadow{"carol": {Hash: "*", Expire: -1}},
		AuthorizedKeys: map[string]hoststate.File{"carol": {Kind: hoststate.KindAbsent}, "labadmin": {Kind: hoststate.KindAbsent}},
		Sudoers:        hoststate.File{Kind: hoststate.KindAbsent},
		SshdConfig:     hoststate.File{Kind: hoststate.KindFile, Content: mainCfg},
		SshdT: map[string]string{"passwordauthentication": "no", "pubkeyauthentication": "yes",
			"authorizedkeysfile": ".ssh/authorized_keys .ssh/authorized_keys2"},
		Root: true,
	}
	l.Effective = hoststate.Effective{Read: true, Local: map[string]bool{"labadmin": true, "carol": true},
		Homes: map[string]string{"labadmin": "dir", "carol": "dir"}, Server: "sshd", SudoIncludeDir: true,
		Tools: map[string]string{"useradd": "/usr/sbin/useradd", "usermod": "/usr/sbin/usermod", "userdel": "/usr/sbin/userdel",
			"groupadd": "/usr/sbin/groupadd", "gpasswd": "/usr/bin/gpasswd", "chpasswd": "/usr/sbin/chpasswd", "setpriv": "/usr/bin/setpriv", "visudo": "/usr/sbin/visudo"},
		KeyFiles: map[string][]hoststate.KeyPathFile{}, Sudo: map[string]hoststate.SudoList{}}
	return l
}

func effManifest(t *testing.T, sshd *manifest.Sshd, users ...manifest.User) *manifest.Manifest {
	var names []string
	for i := range users {
		if users[i].State == "" {
			users[i].State = manifest.StatePresent
		}
		names = append(names, users[i].Name)
	}
	return &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs:   []manifest.Keypair{{Name: "alice-laptop", PublicKey: readFile(t, "testdata/alice.pub")}},
		Users:      users,
		HostGroups: []manifest.HostGroup{{Name: "web", Users: names, Sshd: sshd}},
		Hosts:      []manifest.Host{{Name: "h", Address: "127.0.0.1", OS: "linux", Transport: "ssh", User: "labadmin", Groups: []string{"web"}}},
	}
}

func planEff(t *testing.T, m *manifest.Manifest, live *hoststate.Linux) *HostPlan {
	t.Helper()
	d, err := DesiredFor(m, m.Hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	hp := PlanLinux(m, d, live, "hosts[0]", Options{Login: "labadmin", Today: DaysSinceEpoch(testNow)})
	if hp.Status != StatusOK {
		t.Fatalf("plan: %s", hp.Error)
	}
	return hp
}

const debianMain = "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n"

func TestEffectiveMatchAll(t *testing.T) {
	carol := manifest.User{Name: "carol", Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}
	sshd := &manifest.Sshd{PasswordAuthentication: ptr(false)}

	// Drop-in layout: the Match all section ends accessctl's drop-in; the per-connection
	// mismatch is a change naming the Match block; apply checks each connection.
	live := effLive(debianMain + "Match User carol\n\tPasswordAuthentication yes\n")
	live.Effective.MatchBlocks = true
	live.Effective.Conns = []hoststate.Conn{
		{User: "carol", Addr: "198.51.100.7", Host: "198.51.100.7", Values: map[string]string{"passwordauthentication": "yes", "authorizedkeysfile": ".ssh/authorized_keys"}},
		{User: "labadmin", Addr: "198.51.100.7", Host: "198.51.100.7", Values: map[string]string{"passwordauthentication": "no"}},
	}
	hp := planEff(t, effManifest(t, sshd, carol), live)
	var sshdOp *SshdOp
	for _, c := range hp.Changes {
		if c.Resource == ResSshd && c.Name == "passwordauthentication" {
			if !strings.Contains(c.Reason, "for carol from 198.51.100.7") || !strings.Contains(c.Reason, "/etc/ssh/sshd_config:5") {
				t.Errorf("reason %q", c.Reason)
			}
			sshdOp = c.Ops[0].Sshd
		}
	}
	if sshdOp == nil || !sshdOp.DropIn || !strings.HasSuffix(sshdOp.Content, "Match all\n\tPasswordAuthentication no\n") || len(sshdOp.Conns) != 2 {
		t.Fatalf("sshd op %+v\n%s", sshdOp, describePlan(hp))
	}
	if !hasFinding(hp, "foreign-access", "carol", "/etc/ssh/sshd_config:5") {
		t.Errorf("no finding names the Match block:%s", describePlan(hp))
	}
	script, err := LinuxApplyScript(hp, "r1", testNow, Waits{})
	if err != nil || !strings.Contains(script, "sshd_conn_check 'user=carol,host=198.51.100.7,addr=198.51.100.7' 'passwordauthentication' 'no'") {
		t.Errorf("the script does not verify carol's connection (%v)", err)
	}
	// carol's keys: only authorized_keys (her connection's AuthorizedKeysFile).
	for _, c := range hp.Changes {
		if c.Resource == ResKeys && strings.Contains(c.Name, "authorized_keys2") {
			t.Errorf("authorized_keys2 judged for carol although sshd does not read it for her")
		}
	}

	// No Include: the Match all block goes right before the first Match.
	live = effLive("KbdInteractiveAuthentication no\nUsePAM yes\nMatch User carol\n\tPasswordAuthentication yes\n")
	live.Effective.MatchBlocks = true
	live.Effective.Conns = []hoststate.Conn{{User: "carol", Addr: "198.51.100.7", Host: "198.51.100.7", Values: map[string]string{"passwordauthentication": "yes"}}}
	hp = planEff(t, effManifest(t, sshd, carol), live)
	for _, c := range hp.Changes {
		if c.Resource == ResSshd {
			got := c.Ops[0].Sshd.Content
			want := "# BEGIN accessctl\nPasswordAuthentication no\n# END accessctl\nKbdInteractiveAuthentication no\nUsePAM yes\n" +
				"# BEGIN accessctl\n# Match blocks elsewhere must not change these for any connection\nMatch all\n\tPasswordAuthentication no\n# END accessctl\n" +
				"Match User carol\n\tPasswordAuthentication yes\n"
			if got != want {
				t.Errorf("sshd_config:\n%s\nwant:\n%s", got, want)
			}
			if hoststate.RemoveManagedBlock(got) != live.SshdConfig.Content {
				t.Errorf("the blocks do not come out again")
			}
		}
	}
}

func TestEffectiveKeysAndFindings(t *testing.T) {
	alicePub := readFile(t, "testdata/alice.pub")
	bobPub := readFile(t, "testdata/bob.pub")
	carol := manifest.User{Name: "carol", Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}

	// AuthorizedKeysFile only under /etc: the keys go there, root's file, and the foreign key
	// in it is gone; a key command of another package is reported.
	live := effLive(debianMain)
	live.SshdT["authorizedkeysfile"] = "/etc/ssh/authorized_keys/%u"
	live.SshdT["authorizedkeyscommand"] = "/usr/bin/sss_ssh_authorizedkeys %u"
	live.Effective.KeyFiles["carol"] = []hoststate.KeyPathFile{{Path: "/etc/ssh/authorized_keys/carol", File: hoststate.File{Kind: hoststate.KindFile, Content: bobPub + "\n"}}}
	hp := planEff(t, effManifest(t, nil, carol), live)
	var op *Op
	for _, c := range hp.Changes {
		for i := range c.Ops {
			if c.Ops[i].Kind == OpKeyFile {
				op = &c.Ops[i]
			}
			if c.Ops[i].Kind == OpKeys {
				t.Errorf("~/.ssh/authorized_keys written although sshd does not read it")
			}
		}
	}
	if op == nil || op.Path != "/etc/ssh/authorized_keys/carol" || !strings.Contains(*op.Content, alicePub) || strings.Contains(*op.Content, bobPub) {
		t.Fatalf("key file op %+v%s", op, describePlan(hp))
	}
	if !hasFinding(hp, "foreign-access", "carol", "") {
		t.Errorf("the key command is not reported:%s", describePlan(hp))
	}
	live.SshdT["trustedusercakeys"] = "/etc/ssh/user_ca.pub"
	live.SshdConfig.Content += "TrustedUserCAKeys /etc/ssh/user_ca.pub\n"
	hp = planEff(t, effManifest(t, nil, carol), live)
	if !hasFinding(hp, "foreign-access", "carol", "/etc/ssh/sshd_config:4") {
		t.Errorf("trusted user CA not reported:%s", describePlan(hp))
	}

	// Default AuthorizedKeysFile: a key in authorized_keys2 is removed, named by fingerprint.
	live = effLive(debianMain)
	live.Effective.KeyFiles["carol"] = []hoststate.KeyPathFile{{Path: "/home/carol/.ssh/authorized_keys2", File: hoststate.File{Kind: hoststate.KindFile, Content: bobPub + "\n"}}}
	hp = planEff(t, effManifest(t, nil, carol), live)
	found := false
	for _, c := range hp.Changes {
		if c.Action == Delete && c.Name == "carol:/home/carol/.ssh/authorized_keys2" && strings.Contains(c.Reason, "SHA256:") {
			found = c.Ops[0].Kind == OpKeyFileRemove
		}
	}
	if !found || !hasFinding(hp, "foreign-access", "carol", "authorized_keys2") {
		t.Errorf("authorized_keys2 not removed:%s", describePlan(hp))
	}

	// A locked user gets no key, in every file.
	live = effLive(debianMain)
	live.AuthorizedKeys["carol"] = hoststate.File{Kind: hoststate.KindFile, Content: alicePub + "\n"}
	live.Effective.KeyFiles["carol"] = []hoststate.KeyPathFile{{Path: "/home/carol/.ssh/authorized_keys2", File: hoststate.File{Kind: hoststate.KindFile, Content: bobPub + "\n"}}}
	locked := carol
	locked.State = manifest.StateLocked
	hp = planEff(t, effManifest(t, nil, locked), live)
	var keysOp, rmOp bool
	for _, c := range hp.Changes {
		for _, o := range c.Ops {
			keysOp = keysOp || o.Kind == OpKeys && !strings.Contains(*o.Content, "ssh-")
			rmOp = rmOp || o.Kind == OpKeyFileRemove
		}
	}
	if !keysOp || !rmOp {
		t.Errorf("locked carol keeps keys:%s", describePlan(hp))
	}

	// dropbear: a shell /etc/shells does not list.
	live = effLive(debianMain)
	live.Effective.Server = "dropbear"
	live.Effective.Shells = []string{"/bin/sh"}
	hp = planEff(t, effManifest(t, nil, carol), live)
	if !hasFinding(hp, "login-blocked", "carol", "/etc/shells") {
		t.Errorf("dropbear shell not reported:%s", describePlan(hp))
	}

	// login-blocked: AllowUsers, a nologin shell, an expired account.
	live = effLive(debianMain + "AllowUsers labadmin\n")
	live.SshdT["allowusers"] = "labadmin"
	live.Accounts[1].Shell = "/usr/sbin/nologin"
	live.Shadow["carol"] = hoststate.Shadow{Hash: "*", Expire: 100}
	hp = planEff(t, effManifest(t, nil, carol), live)
	for _, where := range []string{"/etc/ssh/sshd_config:4", "/etc/passwd", "/etc/shadow"} {
		if !hasFinding(hp, "login-blocked", "carol", where) {
			t.Errorf("no login-blocked finding at %s:%s", where, describePlan(hp))
		}
	}
}

func TestEffectiveBlockedAndSudo(t *testing.T) {
	carol := manifest.User{Name: "carol", Sudo: manifest.SudoNoPasswd, Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}

	// No includedir: the include line is a change apply makes, with visudo.
	live := effLive(debianMain)
	live.Effective.SudoIncludeDir = false
	hp := planEff(t, effManifest(t, nil, carol), live)
	inc := false
	for _, c := range hp.Changes {
		for _, o := range c.Ops {
			inc = inc || o.Kind == OpSudoInclude
		}
	}
	script, err := LinuxApplyScript(hp, "r1", testNow, Waits{})
	if !inc || err != nil || !strings.Contains(script, "\tsudo_include\n") || !strings.Contains(script, "check_sudo 'carol' 'nopasswd'") {
		t.Errorf("include %v, script error %v%s", inc, err, describePlan(hp))
	}

	// sudo from %sudo beyond the manifest: blocked, and apply does not start.
	live = effLive(debianMain)
	live.Effective.Sudo["carol"] = hoststate.SudoList{Level: "true", Rules: []string{"(ALL : ALL) ALL"}}
	nosudo := carol
	nosudo.Sudo = manifest.SudoNone
	hp = planEff(t, effManifest(t, nil, nosudo), live)
	if b := Blocked(hp); len(b) != 1 || !strings.Contains(b[0], "outside /etc/sudoers.d/accessctl") {
		t.Errorf("blocked %v%s", b, describePlan(hp))
	}

	// The same grant in accessctl's drop-in and through %sudo: removing the drop-in's line
	// would not take it away, so it is still blocked.
	live = effLive(debianMain)
	live.Sudoers = hoststate.File{Kind: hoststate.KindFile, Content: SudoersHeader + "\ncarol ALL=(ALL:ALL) ALL\n"}
	live.Effective.Sudo["carol"] = hoststate.SudoList{Level: "true", Rules: []string{"rule at /etc/sudoers:50"}, Outside: true}
	hp = planEff(t, effManifest(t, nil, nosudo), live)
	if b := Blocked(hp); len(b) != 1 {
		t.Errorf("blocked %v%s", b, describePlan(hp))
	}

	// Missing tools, a missing home, a directory account.
	live = effLive(debianMain)
	live.Effective.Tools["useradd"] = ""
	live.Effective.Homes["carol"] = "absent"
	live.Accounts = append(live.Accounts, hoststate.Account{Name: "dora", UID: 4242, GID: 4242, Home: "/home/dora", Shell: "/bin/bash", Directory: true})
	live.Effective.Homes["dora"] = "dir"
	dora := manifest.User{Name: "dora", Shell: "/bin/sh", Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}
	alice := manifest.User{Name: "alice"}
	hp = planEff(t, effManifest(t, nil, carol, dora, alice), live)
	got := strings.Join(Blocked(hp), "\n")
	for _, want := range []string{"useradd is not installed", "the home of carol does not exist", "dora is a directory account"} {
		if !strings.Contains(got, want) {
			t.Errorf("blocked reasons lack %q:\n%s", want, got)
		}
	}
	if len(hp.Directory) != 1 || hp.Directory[0] != "dora" {
		t.Errorf("directory accounts %v", hp.Directory)
	}

	// dropbear: sshd settings are a blocked change, not a host error.
	live = effLive(debianMain)
	live.Effective.Server = "dropbear"
	live.SshdTError = "sshd: not found"
	hp = planEff(t, effManifest(t, &manifest.Sshd{PasswordAuthentication: ptr(false)}, manifest.User{Name: "carol"}), live)
	if b := Blocked(hp); len(b) != 1 || !strings.Contains(b[0], "dropbear") {
		t.Errorf("dropbear: %v", b)
	}
}

func TestWindowsAdminKeyFindings(t *testing.T) {
	fs := windowsAdminKeyFindings([]string{"alice", "bob"},
		map[string][]string{"SHA256:a": {"alice"}, "SHA256:b": {"bob"}},
		[]desiredKey{{Fingerprint: "SHA256:x"}}, `C:\ProgramData\ssh\sshd_config:17 (Match Group administrators)`)
	var msgs []string
	for _, f := range fs {
		if f.Rule != "foreign-access" || f.Where != hoststate.WinAdminKeysPath {
			t.Errorf("finding %+v", f)
		}
		msgs = append(msgs, f.User+": "+f.Msg)
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		"alice: key SHA256:x in " + hoststate.WinAdminKeysPath + " (not installed by accessctl) logs in as administrator alice",
		"alice: administrators share " + hoststate.WinAdminKeysPath + " (C:\\ProgramData\\ssh\\sshd_config:17 (Match Group administrators)): SHA256:b (bob) also log in as alice",
		"bob: administrators share " + hoststate.WinAdminKeysPath + " (C:\\ProgramData\\ssh\\sshd_config:17 (Match Group administrators)): SHA256:a (alice) also log in as bob",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
