package hoststate

import (
	"strings"
	"testing"
)

// A secedit export as Windows Server 2019 writes it with /areas USER_RIGHTS (read back from its
// UTF-16 file): CRLF lines, [Unicode] and [Version] around [Privilege Rights], entries *SID or,
// where secedit kept a name, the name.
const seceditExport = "\ufeff[Unicode]\r\nUnicode=yes\r\n[Privilege Rights]\r\n" +
	"SeNetworkLogonRight = *S-1-1-0,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551\r\n" +
	"SeInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551\r\n" +
	"SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555\r\n" +
	"SeDenyNetworkLogonRight = Gast\r\n" +
	"SeDenyRemoteInteractiveLogonRight = WIN-SIM1\\bob,*S-1-5-21-1-2-3-1005\r\n" +
	"[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n"

func TestParseUserRights(t *testing.T) {
	r, err := ParseUserRights(seceditExport)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Right(r, "seremoteinteractivelogonright"), ","); got != "*S-1-5-32-544,*S-1-5-32-555" {
		t.Errorf("SeRemoteInteractiveLogonRight = %q", got)
	}
	deny := Right(r, SeDenyRemoteInteractiveLogonRight)
	if len(deny) != 2 || deny[0] != `WIN-SIM1\bob` {
		t.Errorf("deny = %q", deny)
	}
	if Right(r, "SeSignatureRight") != nil || len(Right(r, "SeNetworkLogonRight")) != 4 {
		t.Error("other rights")
	}
	// Entries name principals by *SID or by name (DOMAIN\name or name).
	bob := WinPrincipal{SID: "S-1-5-21-1-2-3-1004", Names: []string{"bob"}}
	if !bob.MatchEntry(deny[0]) || bob.MatchEntry(deny[1]) || !bob.MatchEntry("*s-1-5-21-1-2-3-1004") {
		t.Error("MatchEntry")
	}
	for name, in := range map[string]string{
		"no section": "[Unicode]\nUnicode=yes\n",
		"bad line":   "[Privilege Rights]\nSeRemoteInteractiveLogonRight\n",
	} {
		if _, err := ParseUserRights(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A right no one holds is simply absent from the section.
	r, err = ParseUserRights("[Privilege Rights]\r\nSeBackupPrivilege = *S-1-5-32-544\r\n")
	if err != nil || Right(r, SeRemoteInteractiveLogonRight) != nil {
		t.Errorf("%v %v", r, err)
	}
}

func TestRDPEnabled(t *testing.T) {
	zero, one := 0, 1
	for _, c := range []struct {
		r    *WinRDP
		want bool
		at   string
	}{
		{&WinRDP{FDenyTSConnections: &zero}, true, `Terminal Server\fDenyTSConnections = 0`},
		{&WinRDP{FDenyTSConnections: &one}, false, `Terminal Server\fDenyTSConnections = 1`},
		{&WinRDP{FDenyTSConnections: &zero, PolicyFDenyTSConnections: &one}, false, "(Group Policy)"},
		{&WinRDP{FDenyTSConnections: &one, PolicyFDenyTSConnections: &zero}, true, "(Group Policy)"},
		{&WinRDP{}, false, "is not set"},
		{nil, false, "not read"},
	} {
		got, at := c.r.Enabled()
		if got != c.want || !strings.Contains(at, c.at) {
			t.Errorf("%+v: %v %q", c.r, got, at)
		}
	}
}

// The config OpenSSH for Windows installs (sshd_config_default), abridged: the global
// AuthorizedKeysFile, and at the end the Match Group administrators block.
const winDefaultSshdConfig = "# This is the sshd server system-wide configuration file.\r\n" +
	"#Port 22\r\n" +
	"AuthorizedKeysFile\t.ssh/authorized_keys\r\n" +
	"#PasswordAuthentication yes\r\n" +
	"Subsystem\tsftp\tsftp-server.exe\r\n" +
	"\r\n" +
	"Match Group administrators\r\n" +
	"       AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\r\n"

func TestWinKeyFilesDefaultConfig(t *testing.T) {
	s := ParseWinSshdConfig(WinFile{Kind: KindFile, Content: winDefaultSshdConfig})
	admin := s.KeyFilesFor("alice", `C:\Users\alice`, nil, true)
	if len(admin.Paths) != 1 || !SamePath(admin.Paths[0], WinAdminKeysPath) || admin.Where != WinSshdConfigPath+":8 (Match Group administrators)" {
		t.Errorf("admin: %+v", admin)
	}
	user := s.KeyFilesFor("bob", `C:\Users\bob`, nil, false)
	if len(user.Paths) != 1 || user.Paths[0] != `C:\Users\bob\.ssh\authorized_keys` || user.Where != WinSshdConfigPath+":3" {
		t.Errorf("user: %+v", user)
	}
	// No file: the default config is assumed (sshd writes it at its first start).
	if d := ParseWinSshdConfig(WinFile{Kind: KindAbsent}).KeyFilesFor("alice", `C:\Users\alice`, nil, true); !SamePath(d.Paths[0], WinAdminKeysPath) {
		t.Errorf("absent: %+v", d)
	}
}

func TestWinKeyFilesWithoutAdminMatch(t *testing.T) {
	// The Match block removed (a common hardening step so that admins' keys are personal): an
	// administrator's keys are read from the profile.
	cfg := "AuthorizedKeysFile .ssh/authorized_keys\n#Match Group administrators\n#  AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\n"
	s := ParseWinSshdConfig(WinFile{Kind: KindFile, Content: cfg})
	if k := s.KeyFilesFor("alice", `C:\Users\alice`, nil, true); len(k.Paths) != 1 || k.Paths[0] != `C:\Users\alice\.ssh\authorized_keys` {
		t.Errorf("%+v", k)
	}
	// No AuthorizedKeysFile at all: sshd's compiled-in default, authorized_keys2 included.
	s = ParseWinSshdConfig(WinFile{Kind: KindFile, Content: "Port 22\n"})
	if k := s.KeyFilesFor("bob", `C:\Users\bob`, nil, false); len(k.Paths) != 2 || !strings.HasSuffix(k.Paths[1], `\.ssh\authorized_keys2`) || !strings.Contains(k.Where, "default") {
		t.Errorf("%+v", k)
	}
}

func TestWinKeyFilesMatchUserAndGroup(t *testing.T) {
	cfg := strings.Join([]string{
		"AuthorizedKeysFile .ssh/authorized_keys",
		"Match User carol,!dave",
		"  AuthorizedKeysFile C:/keys/%u.keys",
		"Match Group ops-*",
		"  AuthorizedKeysFile %h/.ssh/ops_keys",
		"Match Address 10.0.0.0/8 User erin",
		"  AuthorizedKeysFile C:/vpn/%u",
		"Match Group administrators",
		"  AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys",
	}, "\n")
	s := ParseWinSshdConfig(WinFile{Kind: KindFile, Content: cfg})
	// The first matching block wins, also over Match Group administrators after it.
	if k := s.KeyFilesFor("carol", `C:\Users\carol`, nil, true); k.Paths[0] != `C:\keys\carol.keys` || !strings.HasSuffix(k.Where, ":3 (Match User carol,!dave)") {
		t.Errorf("carol: %+v", k)
	}
	if k := s.KeyFilesFor("dave", `C:\Users\dave`, []string{"ops-web"}, false); k.Paths[0] != `C:\Users\dave\.ssh\ops_keys` {
		t.Errorf("dave: %+v", k)
	}
	// A block with connection criteria applies to some connections only (and erin may be in a
	// group ops-* that READ does not list).
	if k := s.KeyFilesFor("erin", `C:\Users\erin`, []string{"users"}, false); k.Paths[0] != `C:\Users\erin\.ssh\authorized_keys` || len(k.Maybe) != 2 || k.Maybe[1] != `C:\vpn\erin` {
		t.Errorf("erin: %+v", k)
	}
	// Groups READ does not list: a Match Group for them may apply.
	if k := s.KeyFilesFor("gina", `C:\Users\gina`, nil, false); k.Paths[0] != `C:\Users\gina\.ssh\authorized_keys` || len(k.Maybe) != 1 || k.Maybe[0] != `C:\Users\gina\.ssh\ops_keys` {
		t.Errorf("gina: %+v", k)
	}
	// carol's own block decides before the later ones: nothing else is a maybe.
	if k := s.KeyFilesFor("carol", `C:\Users\carol`, nil, true); len(k.Maybe) != 0 {
		t.Errorf("carol: %+v", k)
	}
	// A user without a profile yet.
	if k := s.KeyFilesFor("frank", "", nil, false); k.Paths[0] != `%USERPROFILE%\.ssh\authorized_keys` {
		t.Errorf("frank: %+v", k)
	}
}

func FuzzParseWinSshdAndRights(f *testing.F) {
	f.Add(winDefaultSshdConfig)
	f.Add(seceditExport)
	f.Add("Match User\nAuthorizedKeysFile %\n[Privilege Rights]\n=")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseUserRights(s)
		c := ParseWinSshdConfig(WinFile{Kind: KindFile, Content: s})
		_ = c.KeyFilesFor("alice", `C:\Users\alice`, []string{"x"}, true)
	})
}

func TestRDPAccess(t *testing.T) {
	zero := 0
	w := &Windows{
		Groups: []WinGroup{{SID: SIDAdministrators, Name: "Administratoren"}, {SID: SIDRemoteDesktopUsers, Name: "Remotedesktopbenutzer"}},
		RDP:    &WinRDP{FDenyTSConnections: &zero, UserRights: seceditExport},
	}
	const sid = "S-1-5-21-1-2-3-1004"
	if v := w.RDPAccess("alice", sid, false, true, true); !v.Allowed || v.Via != "member of Remote Desktop Users (S-1-5-32-555); SeRemoteInteractiveLogonRight granted to *S-1-5-32-555 (Remote Desktop Users (S-1-5-32-555))" {
		t.Errorf("alice: %+v", v)
	}
	// bob is named in the deny right by DOMAIN\name: the deny wins over his membership.
	if v := w.RDPAccess("bob", sid, true, false, true); v.Allowed || len(v.Refused) != 1 || !strings.Contains(v.Refused[0].Msg, `names WIN-SIM1\bob`) {
		t.Errorf("bob: %+v", v)
	}
	// The right granted to Everyone still needs membership (the RDP-Tcp listener's permissions).
	w.RDP.UserRights = "[Privilege Rights]\r\nSeRemoteInteractiveLogonRight = *S-1-1-0\r\n"
	if v := w.RDPAccess("carol", sid, false, false, false); v.Allowed || len(v.Refused) != 2 {
		t.Errorf("carol: %+v", v)
	}
	// A group granted by its localised name.
	w.RDP.UserRights = "[Privilege Rights]\r\nSeRemoteInteractiveLogonRight = Administratoren\r\n"
	if v := w.RDPAccess("dave", sid, true, false, true); !v.Allowed || !strings.Contains(v.Via, "granted to Administratoren") {
		t.Errorf("dave: %+v", v)
	}
	w.RDP.RightsError = "secedit /export exited with status 1: denied"
	if v := w.RDPAccess("dave", sid, true, false, true); v.Allowed || v.Known {
		t.Errorf("unreadable: %+v", v)
	}
}
