package hoststate

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Effective access on Windows (SPEC §1, §6; issue 10 item 4): which key file OpenSSH for Windows
// reads for each account (C:\ProgramData\ssh\sshd_config, its Match blocks), and whether an
// account can log on through Remote Desktop (group membership, the logon rights
// SeRemoteInteractiveLogonRight and SeDenyRemoteInteractiveLogonRight, fDenyTSConnections).
// READ reports the raw facts (the config's text, the secedit export, the registry values); the
// parsing and the judgement are here, in Go, so they are unit-tested without Windows.

// Paths, registry values and rights, under Microsoft's names.
const (
	WinSshdConfigPath = `C:\ProgramData\ssh\sshd_config`
	// WinTSKey is where Windows keeps whether Remote Desktop connections are refused.
	WinTSKey = `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server`
	// WinTSPolicyKey is the Group Policy value ("Allow users to connect remotely by using Remote
	// Desktop Services"); when set it wins over WinTSKey.
	WinTSPolicyKey = `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`
	// FDenyTSConnections is the value name in both keys: 0 allows, 1 refuses connections.
	FDenyTSConnections = "fDenyTSConnections"

	SeRemoteInteractiveLogonRight     = "SeRemoteInteractiveLogonRight"
	SeDenyRemoteInteractiveLogonRight = "SeDenyRemoteInteractiveLogonRight"
)

// Well-known SIDs in the token of a local account logging on (beyond its own SID and the
// groups READ lists).
const (
	SIDEveryone           = "S-1-1-0"
	SIDAuthenticatedUsers = "S-1-5-11"
	SIDUsers              = "S-1-5-32-545"
	SIDLocalAccount       = "S-1-5-113"
	SIDLocalAccountAdmin  = "S-1-5-114"
)

// WinRDP is what READ reports about Remote Desktop.
type WinRDP struct {
	// FDenyTSConnections is the value under WinTSKey, PolicyFDenyTSConnections the one under
	// WinTSPolicyKey; nil when the value does not exist.
	FDenyTSConnections       *int `json:"fDenyTSConnections"`
	PolicyFDenyTSConnections *int `json:"policyFDenyTSConnections"`
	// UserRights is the file `secedit /export /areas USER_RIGHTS /cfg FILE` wrote, whole.
	UserRights string `json:"userRights"`
	// RightsError says why the export failed ("" when it worked).
	RightsError string `json:"rightsError"`
}

// Enabled says whether Windows accepts Remote Desktop connections, and the value that decides:
// the Group Policy value when it is set, else the Terminal Server value; a missing value refuses
// (Windows' default: Remote Desktop is off until enabled).
func (r *WinRDP) Enabled() (bool, string) {
	if r == nil {
		return false, "Remote Desktop state not read"
	}
	if v := r.PolicyFDenyTSConnections; v != nil {
		return *v == 0, fmt.Sprintf(`%s\%s = %d (Group Policy)`, WinTSPolicyKey, FDenyTSConnections, *v)
	}
	if v := r.FDenyTSConnections; v != nil {
		return *v == 0, fmt.Sprintf(`%s\%s = %d`, WinTSKey, FDenyTSConnections, *v)
	}
	return false, fmt.Sprintf(`%s\%s is not set`, WinTSKey, FDenyTSConnections)
}

// ParseUserRights reads the [Privilege Rights] section of a secedit export (an INF file: UTF-16
// on disk, passed here as text): `SeRightName = *S-1-5-32-544,*S-1-5-32-555,Guest`. Entries are
// `*SID` or, for accounts secedit could not turn into a SID, a name. It returns the entries per
// right, keyed by the right's name as written; a right absent from the section is granted to
// nobody. It never panics.
func ParseUserRights(inf string) (map[string][]string, error) {
	inf = strings.TrimPrefix(inf, "\ufeff")
	out := map[string][]string{}
	in, seen := false, false
	for _, raw := range strings.Split(inf, "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			in = strings.EqualFold(line, "[Privilege Rights]")
			seen = seen || in
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("[Privilege Rights]: line %q is not NAME = VALUE", line)
		}
		k = strings.TrimSpace(k)
		var entries []string
		for _, e := range strings.Split(v, ",") {
			if e = strings.Trim(strings.TrimSpace(e), `"`); e != "" {
				entries = append(entries, e)
			}
		}
		out[k] = append(out[k], entries...)
	}
	if !seen {
		return nil, fmt.Errorf("the export has no [Privilege Rights] section")
	}
	return out, nil
}

// Right returns the entries of a right (rights compare case-insensitively).
func Right(rights map[string][]string, name string) []string {
	for k, v := range rights {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// WinPrincipal is one SID of an account's logon token, with the names it may be written as.
type WinPrincipal struct {
	SID   string
	Names []string
	// Label is how a message names it: "Administrators (S-1-5-32-544)".
	Label string
}

// MatchEntry reports whether a rights entry (`*SID` or a name) names p.
func (p WinPrincipal) MatchEntry(e string) bool {
	if strings.HasPrefix(e, "*") {
		return p.SID != "" && strings.EqualFold(e[1:], p.SID)
	}
	for _, n := range p.Names {
		if strings.EqualFold(e, n) {
			return true
		}
		if i := strings.LastIndexByte(e, '\\'); i >= 0 && strings.EqualFold(e[i+1:], n) {
			return true
		}
	}
	return false
}

// TokenPrincipals lists the SIDs a local account's Remote Desktop logon carries, as far as READ
// can tell: its own SID (none yet for an account apply will create; its name still matches), Everyone, Authenticated Users, Users (every local
// account is a member unless removed), Local account, and Administrators (with Local account and
// member of Administrators) or Remote Desktop Users as admin and rdu say. Other local groups are
// not read, so rights granted only to them are not seen.
func (w *Windows) TokenPrincipals(name, sid string, admin, rdu bool) []WinPrincipal {
	var out []WinPrincipal
	label := name
	if sid != "" {
		label += " (" + sid + ")"
	}
	// An account not created yet has no SID, but an entry can already name it.
	out = append(out, WinPrincipal{SID: sid, Names: []string{name}, Label: label})
	group := func(sid, english string) {
		names := []string{english}
		if g := w.Group(sid); g != nil && g.Name != "" {
			names = append(names, g.Name)
		}
		out = append(out, WinPrincipal{SID: sid, Names: names, Label: english + " (" + sid + ")"})
	}
	if admin {
		group(SIDAdministrators, "Administrators")
	}
	if rdu {
		group(SIDRemoteDesktopUsers, "Remote Desktop Users")
	}
	group(SIDEveryone, "Everyone")
	group(SIDAuthenticatedUsers, "Authenticated Users")
	group(SIDUsers, "Users")
	group(SIDLocalAccount, "Local account")
	if admin {
		group(SIDLocalAccountAdmin, "Local account and member of Administrators group")
	}
	return out
}

// WinSshd is what OpenSSH for Windows' sshd_config says about key files.
type WinSshd struct {
	// Read: the file was read (false: READ found none, so the config OpenSSH installs at first
	// start, with its Match Group administrators block, is assumed).
	Read bool
	// Global is the first top-level AuthorizedKeysFile ("" when none: OpenSSH's default).
	Global     string
	GlobalLine int
	Blocks     []WinMatch
}

// WinMatch is a Match block that sets AuthorizedKeysFile.
type WinMatch struct {
	Line     int    // the Match line
	Criteria string // as written after Match
	Value    string // its AuthorizedKeysFile
	KeyLine  int
	users    []string
	groups   []string
	all      bool
	// Conn: the block has criteria about the connection (Address, Host, LocalPort, ...), so it
	// applies to some connections only.
	Conn bool
}

// winDefaultConfig is the part of OpenSSH for Windows' sshd_config_default that decides key
// files (PowerShell/openssh-portable contrib/win32/openssh/sshd_config).
const winDefaultConfig = "AuthorizedKeysFile\t.ssh/authorized_keys\n" +
	"Match Group administrators\n" +
	"       AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\n"

// winDefaultAuthorizedKeysFile is sshd's compiled-in default when the config sets none.
const winDefaultAuthorizedKeysFile = ".ssh/authorized_keys .ssh/authorized_keys2"

// ParseWinSshdConfig reads the AuthorizedKeysFile lines of an sshd_config and the Match blocks
// they sit in. f.Kind absent (or not read) means the default config. It never panics.
func ParseWinSshdConfig(f WinFile) WinSshd {
	s := WinSshd{Read: f.Kind == KindFile}
	text := f.Content
	if !s.Read {
		text = winDefaultConfig
	}
	text = strings.TrimPrefix(text, "\ufeff")
	var cur *WinMatch
	for i, raw := range strings.Split(text, "\n") {
		kw, val := splitDirective(strings.TrimSuffix(raw, "\r"))
		switch kw {
		case "":
		case "match":
			cur = parseWinMatch(i+1, val)
		case "authorizedkeysfile":
			switch {
			case cur == nil && s.GlobalLine == 0:
				s.Global, s.GlobalLine = val, i+1
			case cur != nil && cur.KeyLine == 0:
				cur.Value, cur.KeyLine = val, i+1
				s.Blocks = append(s.Blocks, *cur)
			}
		}
	}
	return s
}

func parseWinMatch(line int, val string) *WinMatch {
	m := &WinMatch{Line: line, Criteria: strings.TrimSpace(val)}
	f := strings.Fields(val)
	for i := 0; i < len(f); i++ {
		k := strings.ToLower(f[i])
		if k == "all" {
			m.all = true
			continue
		}
		if i+1 >= len(f) {
			m.Conn = true // malformed: sshd would refuse it; never assume it applies to everyone
			break
		}
		v := strings.Split(strings.ToLower(f[i+1]), ",")
		i++
		switch k {
		case "user":
			m.users = append(m.users, v...)
		case "group":
			m.groups = append(m.groups, v...)
		default:
			m.Conn = true
		}
	}
	return m
}

// Applies reports whether the block applies to an account named user in groups (lower-case
// names of the groups READ knows it is in). OpenSSH for Windows matches the pattern
// "administrators" against the built-in Administrators group whatever its localised name, so
// admin says whether the account is one. maybe: the block could apply through a group READ does
// not list (any Group pattern other than administrators).
func (m WinMatch) Applies(user string, groups []string, admin bool) (applies, maybe bool) {
	if m.all && len(m.users) == 0 && len(m.groups) == 0 {
		return true, false
	}
	if len(m.users) == 0 && len(m.groups) == 0 {
		return false, false
	}
	if len(m.users) > 0 && !winPatternList(m.users, strings.ToLower(user)) {
		return false, false
	}
	if len(m.groups) > 0 {
		gs := append([]string{}, groups...)
		if admin {
			gs = append(gs, "administrators")
		}
		for _, g := range gs {
			if winPatternList(m.groups, strings.ToLower(g)) {
				return true, false
			}
		}
		for _, p := range m.groups {
			if !strings.HasPrefix(p, "!") && p != "administrators" {
				return false, true
			}
		}
		return false, false
	}
	return true, false
}

// winPatternList is OpenSSH's pattern-list match: a negated pattern that matches fails the list.
func winPatternList(pats []string, s string) bool {
	hit := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		if ok, _ := path.Match(strings.TrimPrefix(p, "!"), s); ok {
			if neg {
				return false
			}
			hit = true
		}
	}
	return hit
}

// WinKeyFiles is where sshd reads one account's keys.
type WinKeyFiles struct {
	// Paths are the files, expanded (Windows separators; C:\ProgramData for __PROGRAMDATA__,
	// relative paths under profile).
	Paths []string
	// Where names the line that decides: "C:\ProgramData\ssh\sshd_config:88 (Match Group
	// administrators)", or "OpenSSH's default".
	Where string
	// Maybe are files of Match blocks that apply to some connections only, or to members of a
	// group READ does not list (only Administrators and Remote Desktop Users are read).
	Maybe []string
}

// KeyFilesFor returns the key files sshd reads for an account with this profile directory.
func (s WinSshd) KeyFilesFor(user, profile string, groups []string, admin bool) WinKeyFiles {
	file := WinSshdConfigPath
	if !s.Read {
		file = "the default " + WinSshdConfigPath
	}
	var r WinKeyFiles
	decided := false
	for _, m := range s.Blocks {
		applies, maybe := m.Applies(user, groups, admin)
		if maybe && !decided {
			r.Maybe = append(r.Maybe, expandWinKeyPaths(m.Value, user, profile)...)
		}
		if !applies {
			continue
		}
		if m.Conn {
			// Applies to some connections: a maybe, unless an earlier block already decides.
			if !decided {
				r.Maybe = append(r.Maybe, expandWinKeyPaths(m.Value, user, profile)...)
			}
			continue
		}
		if !decided {
			r.Paths = expandWinKeyPaths(m.Value, user, profile)
			r.Where = fmt.Sprintf("%s:%d (Match %s)", file, m.KeyLine, m.Criteria)
			decided = true
		}
	}
	if !decided {
		switch {
		case s.GlobalLine > 0:
			r.Paths = expandWinKeyPaths(s.Global, user, profile)
			r.Where = file + ":" + strconv.Itoa(s.GlobalLine)
		default:
			r.Paths = expandWinKeyPaths(winDefaultAuthorizedKeysFile, user, profile)
			r.Where = "OpenSSH's default (" + file + " sets no AuthorizedKeysFile)"
		}
	}
	return r
}

// expandWinKeyPaths expands an AuthorizedKeysFile value as OpenSSH for Windows does:
// __PROGRAMDATA__ is %ProgramData%, %u the user, %h the profile, %% a percent sign; a relative
// path is under the profile. Separators become backslashes. "none" is dropped.
func expandWinKeyPaths(v, user, profile string) []string {
	var out []string
	for _, p := range strings.Fields(v) {
		if strings.EqualFold(p, "none") {
			continue
		}
		p = strings.ReplaceAll(p, "__PROGRAMDATA__", `C:\ProgramData`)
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if p[i] == '%' && i+1 < len(p) {
				i++
				switch p[i] {
				case 'u':
					b.WriteString(user)
				case 'h':
					b.WriteString(profile)
				case '%':
					b.WriteByte('%')
				default:
					b.WriteByte('%')
					b.WriteByte(p[i])
				}
				continue
			}
			b.WriteByte(p[i])
		}
		s := strings.ReplaceAll(b.String(), "/", `\`)
		if !(len(s) >= 3 && s[1] == ':' && s[2] == '\\') && !strings.HasPrefix(s, `\\`) {
			if profile == "" {
				s = `%USERPROFILE%\` + s
			} else {
				s = strings.TrimSuffix(profile, `\`) + `\` + s
			}
		}
		out = append(out, s)
	}
	return out
}

// SamePath compares two Windows paths as the file system does (case-insensitively).
func SamePath(a, b string) bool {
	return strings.EqualFold(strings.ReplaceAll(a, "/", `\`), strings.ReplaceAll(b, "/", `\`))
}

// RDPVerdict is whether an account can log on through Remote Desktop, and why.
type RDPVerdict struct {
	Allowed bool
	// Known is false when the user rights could not be read (then Allowed is false and Refused
	// says so).
	Known bool
	// Refused are the causes that refuse the logon, each naming the value or right that decides.
	Refused []RDPCause
	// Via says how an allowed logon is granted: the group that gives the account access to the
	// Remote Desktop listener and the entry of SeRemoteInteractiveLogonRight that grants it.
	Via string
}

// RDPCause is one reason a Remote Desktop logon is refused; Where names the registry value or
// the user right.
type RDPCause struct {
	Msg   string
	Where string
}

// RDPAccountDisabled is the cause of a refused logon of a disabled account (access reports the
// account's state on its own).
const RDPAccountDisabled = "the account is disabled"

// RightsWhere names the source of the user rights in messages.
func RightsWhere(right string) string { return "secedit /export [Privilege Rights] " + right }

// RDPAccess judges a Remote Desktop logon of a local account (sid "" when it does not exist yet)
// with the given Administrators and Remote Desktop Users memberships and enabled state: the
// account must be enabled and in one of the two groups (the RDP-Tcp listener's default
// permissions), hold SeRemoteInteractiveLogonRight through one of its SIDs, not be named (through
// any of its SIDs) in SeDenyRemoteInteractiveLogonRight, which wins, and Remote Desktop must be
// enabled (fDenyTSConnections = 0).
func (w *Windows) RDPAccess(name, sid string, admin, rdu, enabled bool) RDPVerdict {
	v := RDPVerdict{Known: true}
	if w.RDP == nil {
		return RDPVerdict{Refused: []RDPCause{{Msg: "Remote Desktop settings were not read", Where: "READ"}}}
	}
	if !enabled {
		v.Refused = append(v.Refused, RDPCause{Msg: RDPAccountDisabled, Where: "Get-LocalUser " + name})
	}
	if !admin && !rdu {
		v.Refused = append(v.Refused, RDPCause{Msg: "not a member of Remote Desktop Users (" + SIDRemoteDesktopUsers + ") or Administrators (" + SIDAdministrators + ")", Where: "Get-LocalGroupMember -SID " + SIDRemoteDesktopUsers})
	}
	if on, at := w.RDP.Enabled(); !on {
		v.Refused = append(v.Refused, RDPCause{Msg: "Remote Desktop is disabled: " + at, Where: at})
	}
	var rights map[string][]string
	var err error
	if w.RDP.RightsError != "" {
		err = fmt.Errorf("%s", w.RDP.RightsError)
	} else {
		rights, err = ParseUserRights(w.RDP.UserRights)
	}
	if err != nil {
		v.Known = false
		v.Refused = append(v.Refused, RDPCause{Msg: "the user rights could not be read (" + err.Error() + "), so the logon rights are not known", Where: "secedit /export"})
		return v
	}
	token := w.TokenPrincipals(name, sid, admin, rdu)
	for _, e := range Right(rights, SeDenyRemoteInteractiveLogonRight) {
		for _, p := range token {
			if p.MatchEntry(e) {
				v.Refused = append(v.Refused, RDPCause{Msg: SeDenyRemoteInteractiveLogonRight + " names " + e + " (" + p.Label + ")", Where: RightsWhere(SeDenyRemoteInteractiveLogonRight)})
				break
			}
		}
	}
	grant := Right(rights, SeRemoteInteractiveLogonRight)
	var via string
	for _, e := range grant {
		for _, p := range token {
			if via == "" && p.MatchEntry(e) {
				via = SeRemoteInteractiveLogonRight + " granted to " + e + " (" + p.Label + ")"
			}
		}
	}
	if via == "" {
		held := "no one"
		if len(grant) > 0 {
			held = strings.Join(grant, ",")
		}
		v.Refused = append(v.Refused, RDPCause{Msg: SeRemoteInteractiveLogonRight + " is granted to none of its SIDs (it holds " + held + ")", Where: RightsWhere(SeRemoteInteractiveLogonRight)})
	}
	if len(v.Refused) > 0 {
		return v
	}
	group := "Remote Desktop Users (" + SIDRemoteDesktopUsers + ")"
	if admin {
		group = "Administrators (" + SIDAdministrators + ")"
	}
	v.Allowed, v.Via = true, "member of "+group+"; "+via
	return v
}
