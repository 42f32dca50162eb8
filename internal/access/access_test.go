package access

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPo3ojIyEK/XczOJIuJfzpc4Lby/BmwDWE5QsLTz+T8X alice@laptop"
	keyE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPJT+9lpK7CFZS6BnQ2lBVIBH9Z8SAyHgpcJh5TTDeJj eve@old"
)

func sampleLinux(t *testing.T) *hoststate.Linux {
	t.Helper()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	u := &hoststate.Usage{}
	l := &hoststate.Linux{
		Accounts: []hoststate.Account{
			{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/bash"},
			{Name: "daemon", UID: 1, GID: 1, Home: "/usr/sbin", Shell: "/usr/sbin/nologin"},
			{Name: "alice", UID: 2001, GID: 2001, Home: "/home/alice", Shell: "/bin/bash"},
			{Name: "bob", UID: 2002, GID: 2002, Home: "/home/bob", Shell: "/bin/bash"},
			{Name: "carol", UID: 2003, GID: 2003, Home: "/home/carol", Shell: "/usr/sbin/nologin"},
		},
		Groups: []hoststate.Group{
			{Name: "root", GID: 0}, {Name: "alice", GID: 2001}, {Name: "bob", GID: 2002}, {Name: "carol", GID: 2003},
			{Name: "sudo", GID: 27, Members: []string{"alice"}},
		},
		SshdConfig: hoststate.File{Kind: hoststate.KindFile, Content: "PermitRootLogin prohibit-password\nDenyUsers bob\n"},
		SshdT:      map[string]string{"pubkeyauthentication": "yes", "passwordauthentication": "yes", "permitrootlogin": "prohibit-password", "usepam": "yes"},
		Extra: &hoststate.Extra{
			UIDMin: 1000, UIDMax: 60000,
			Passwords: map[string]hoststate.PasswordStatus{
				"root": {State: "usable", Expire: -1}, "alice": {State: "usable", Expire: -1},
				"bob": {State: "locked", Expire: -1}, "carol": {State: "none", Expire: -1},
			},
			KeyFiles: map[string][]hoststate.KeyFile{
				"alice": {
					{Path: "/home/alice/.ssh/authorized_keys", Kind: hoststate.KindFile, Content: "# hand-made\nfrom=\"10.0.0.0/8\" " + keyA + "\n"},
					{Path: "/home/alice/.ssh/authorized_keys2", Kind: hoststate.KindFile, Content: keyE + "\n"},
				},
				"bob": {{Path: "/home/bob/.ssh/authorized_keys", Kind: hoststate.KindFile, Content: keyA + "\n"}},
			},
			Sudo:  map[string]hoststate.SudoRights{"alice": {Rules: []string{"(ALL : ALL) ALL"}}},
			Usage: u,
		},
	}
	if err := u.AddLog("/var/log/auth.log", time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), "Nov 28 10:00:00 h sshd[1]: Accepted publickey for alice from 10.1.1.1 port 1 ssh2: ED25519 "+fp(t, keyA)); err != nil {
		t.Fatal(err)
	}
	_ = now
	return l
}

func fp(t *testing.T, line string) string {
	ks := KeysOf(line)
	if len(ks) != 1 {
		t.Fatalf("not a key: %s", line)
	}
	return ks[0].Fingerprint
}

func TestLinuxReview(t *testing.T) {
	l := sampleLinux(t)
	m := &manifest.Manifest{
		Keypairs:   []manifest.Keypair{{Name: "alice-laptop", PublicKey: keyA}},
		Users:      []manifest.User{{Name: "alice", State: manifest.StatePresent, Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}},
		HostGroups: []manifest.HostGroup{{Name: "web", Users: []string{"alice"}}},
	}
	h := manifest.Host{Name: "web-1", Groups: []string{"web"}}
	rep := Linux("web-1", l, DesiredFor(m, h), time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	var names []string
	for _, a := range rep.Accounts {
		names = append(names, a.User)
	}
	if got := strings.Join(names, ","); got != "alice,bob,carol,root" {
		t.Fatalf("accounts %s", got)
	}
	alice, bob, carol, root := rep.Accounts[0], rep.Accounts[1], rep.Accounts[2], rep.Accounts[3]
	if !alice.Managed || !alice.CanLogIn || !alice.Sudo.Allowed || strings.Join(alice.Groups, ",") != "alice,sudo" {
		t.Errorf("alice: %+v", alice)
	}
	if len(alice.Paths) != 3 || alice.Paths[0].Keypair != "alice-laptop" || !alice.Paths[0].Managed || alice.Paths[0].LastUsed == nil ||
		alice.Paths[1].File != "/home/alice/.ssh/authorized_keys2" || alice.Paths[1].Managed || alice.Paths[1].Keypair != "" ||
		alice.Paths[2].Kind != KindPassword || !alice.Paths[2].Allowed {
		t.Errorf("alice's paths: %+v", alice.Paths)
	}
	if bob.CanLogIn || len(bob.BlockedBy) != 1 || bob.BlockedBy[0] != "/etc/ssh/sshd_config:2: DenyUsers bob" || bob.Managed {
		t.Errorf("bob: %+v", bob)
	}
	// bob's key is alice's key pair, but the manifest binds it to alice only.
	if bob.Paths[0].Keypair != "alice-laptop" || bob.Paths[0].Managed {
		t.Errorf("bob's key: %+v", bob.Paths[0])
	}
	if carol.CanLogIn || len(carol.BlockedBy) != 1 || !strings.Contains(carol.BlockedBy[0], "nologin") {
		t.Errorf("carol: %+v", carol)
	}
	if root.CanLogIn || !root.Sudo.Allowed || len(root.Paths) != 1 || root.Paths[0].Allowed {
		t.Errorf("root: password must not be allowed under prohibit-password: %+v", root)
	}
	b, err := json.Marshal(alice.Paths)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"kind":"key","file":"/home/alice/.ssh/authorized_keys","fingerprint":"` + fp(t, keyA) + `","type":"ssh-ed25519","keypair":"alice-laptop","options":["from=\"10.0.0.0/8\""],"managed":true,"lastUsed":"2026-11-28T10:00:00Z"},` +
		`{"kind":"key","file":"/home/alice/.ssh/authorized_keys2","fingerprint":"` + fp(t, keyE) + `","type":"ssh-ed25519","keypair":null,"options":[],"managed":false,"lastUsed":null},` +
		`{"kind":"password","allowed":true,"lastUsed":null}]`
	if string(b) != want {
		t.Errorf("JSON paths:\n got %s\nwant %s", b, want)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{{"b*", "bob", true}, {"?ob", "bob", true}, {"a*", "bob", false}, {"*", "", true}, {"bo", "bob", false}} {
		if got := globMatch(c.pat, c.s); got != c.want {
			t.Errorf("%s %s: %v", c.pat, c.s, got)
		}
	}
}

func TestKeyExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local)
	if !KeyExpired([]string{`expiry-time="20260101"`}, now) || KeyExpired([]string{`expiry-time="20270101"`}, now) || KeyExpired(nil, now) {
		t.Error("expiry-time")
	}
}

func TestWindowsReview(t *testing.T) {
	w := &hoststate.Windows{
		Users: []hoststate.WinUser{
			{Name: "Administrator", SID: "S-1-5-21-1-2-3-500", Enabled: false},
			{Name: "alice", SID: "S-1-5-21-1-2-3-1001", Enabled: true},
			{Name: "bob", SID: "S-1-5-21-1-2-3-1002", Enabled: true, Profile: `C:\Users\bob`},
		},
		Groups: []hoststate.WinGroup{
			{SID: hoststate.SIDAdministrators, Members: []hoststate.WinMember{{SID: "S-1-5-21-1-2-3-1001"}}},
			{SID: hoststate.SIDRemoteDesktopUsers, Members: []hoststate.WinMember{{SID: "S-1-5-21-1-2-3-1002"}}},
		},
		AdminKeys: hoststate.WinKeyFile{Path: hoststate.WinAdminKeysPath, Kind: hoststate.KindFile, Content: keyA + "\n"},
		UserKeys:  map[string]hoststate.WinKeyFile{"bob": {Path: `C:\Users\bob\.ssh\authorized_keys`, Kind: hoststate.KindFile, Content: keyE + "\n"}},
	}
	rep := Windows("win-1", w, Desired{Users: map[string]map[string]bool{}, Keypairs: map[string]string{}})
	if len(rep.Accounts) != 2 {
		t.Fatalf("accounts: %+v", rep.Accounts)
	}
	alice, bob := rep.Accounts[0], rep.Accounts[1]
	if !alice.Sudo.Allowed || alice.UID != "S-1-5-21-1-2-3-1001" || alice.Paths[0].File != hoststate.WinAdminKeysPath {
		t.Errorf("alice: %+v", alice)
	}
	kinds := map[string]bool{}
	for _, p := range bob.Paths {
		kinds[p.Kind] = true
	}
	if bob.Sudo.Allowed || !kinds[KindRDP] || !kinds[KindKey] || !kinds[KindPassword] {
		t.Errorf("bob: %+v", bob)
	}

	// Remote Desktop from the effective result: RDP switched off, and bob named in the deny
	// right: his rdp path is not allowed and blockedBy says why; alice (an administrator) is
	// refused by the switch only.
	one := 1
	w.RDP = &hoststate.WinRDP{FDenyTSConnections: &one, UserRights: "[Privilege Rights]\r\n" +
		"SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555\r\nSeDenyRemoteInteractiveLogonRight = *S-1-5-21-1-2-3-1002\r\n"}
	rep = Windows("win-1", w, Desired{Users: map[string]map[string]bool{}, Keypairs: map[string]string{}})
	alice, bob = rep.Accounts[0], rep.Accounts[1]
	rdpOf := func(a Account) Path {
		for _, p := range a.Paths {
			if p.Kind == KindRDP {
				return p
			}
		}
		return Path{Allowed: true}
	}
	blocked := strings.Join(bob.BlockedBy, "\n")
	if rdpOf(bob).Allowed || !strings.Contains(blocked, "rdp: Remote Desktop is disabled: "+hoststate.WinTSKey+`\fDenyTSConnections = 1`) ||
		!strings.Contains(blocked, "rdp: SeDenyRemoteInteractiveLogonRight names *S-1-5-21-1-2-3-1002") || !bob.CanLogIn {
		t.Errorf("bob: %+v", bob)
	}
	if rdpOf(alice).Allowed || len(alice.BlockedBy) != 1 {
		t.Errorf("alice: %+v", alice)
	}
	zero := 0
	w.RDP.FDenyTSConnections = &zero
	rep = Windows("win-1", w, Desired{Users: map[string]map[string]bool{}, Keypairs: map[string]string{}})
	if a := rep.Accounts[0]; !rdpOf(a).Allowed || len(a.BlockedBy) != 0 {
		t.Errorf("alice with RDP on: %+v", a)
	}

	// sshd_config without Match Group administrators: alice's keys are her profile's.
	w.Users[1].Profile = `C:\Users\alice`
	w.UserKeys["alice"] = hoststate.WinKeyFile{Path: `C:\Users\alice\.ssh\authorized_keys`, Kind: hoststate.KindFile, Content: keyE + "\n"}
	w.SshdConfig = hoststate.WinFile{Kind: hoststate.KindFile, Content: "AuthorizedKeysFile .ssh/authorized_keys\r\n"}
	rep = Windows("win-1", w, Desired{Users: map[string]map[string]bool{}, Keypairs: map[string]string{}})
	if a := rep.Accounts[0]; a.Paths[0].File != `C:\Users\alice\.ssh\authorized_keys` {
		t.Errorf("alice without the Match block: %+v", a.Paths)
	}
}
