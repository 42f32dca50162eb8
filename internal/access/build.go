package access

import (
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Desired is what the manifest says about one host, as far as the review needs it.
type Desired struct {
	// Users desired on the host (their groups list them), with the fingerprints they bind.
	Users map[string]map[string]bool
	// Keypairs maps every fingerprint the manifest knows to its key pair name.
	Keypairs map[string]string
}

// DesiredFor reads, from m (may be nil), who is desired on host h and the key pair names.
func DesiredFor(m *manifest.Manifest, h manifest.Host) Desired {
	d := Desired{Users: map[string]map[string]bool{}, Keypairs: map[string]string{}}
	if m == nil {
		return d
	}
	fps := map[string]string{}
	for _, kp := range m.Keypairs {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(kp.PublicKey)); err == nil {
			fp := ssh.FingerprintSHA256(pk)
			fps[kp.Name] = fp
			if _, dup := d.Keypairs[fp]; !dup {
				d.Keypairs[fp] = kp.Name
			}
		}
	}
	in := map[string]bool{}
	for _, g := range h.Groups {
		in[g] = true
	}
	wanted := map[string]bool{}
	for _, g := range m.HostGroups {
		if in[g.Name] {
			for _, u := range g.Users {
				wanted[u] = true
			}
		}
	}
	for _, u := range m.Users {
		if !wanted[u.Name] || u.State == manifest.StateAbsent {
			continue
		}
		b := map[string]bool{}
		if u.State != manifest.StateLocked {
			for _, k := range u.Keypairs {
				if fp, ok := fps[k.Keypair]; ok {
					b[fp] = true
				}
			}
		}
		d.Users[u.Name] = b
	}
	return d
}

// ErrorHost is the entry of a host that could not be read.
func ErrorHost(name string, err error) *Host {
	return &Host{Host: name, Status: "error", Error: err.Error(), Accounts: []Account{}}
}

// Linux builds the review of a Linux host read with the +access extras; now is the run's time
// (account expiry).
func Linux(name string, l *hoststate.Linux, d Desired, now time.Time) *Host {
	h := &Host{Host: name, Status: "ok", OS: "linux", Accounts: []Account{}}
	x := l.Extra
	if x == nil {
		x = &hoststate.Extra{}
	}
	lo, hi := x.UIDMin, x.UIDMax
	if lo <= 0 {
		lo = 1000
	}
	if hi <= 0 {
		hi = 60000
	}
	if u := x.Usage; u != nil {
		h.Usage = &Coverage{Since: u.Since}
		for _, s := range u.Sources {
			h.Usage.Sources = append(h.Usage.Sources, s.Name)
		}
	}
	layout := l.SshdLayout(nil, nil)
	today := int(now.UTC().Unix() / 86400)
	groupName := map[int]string{}
	for _, g := range l.Groups {
		if _, dup := groupName[g.GID]; !dup {
			groupName[g.GID] = g.Name
		}
	}
	sshdYes := func(k, def string) bool {
		v, ok := l.SshdT[k]
		if !ok {
			v = def
		}
		return v == "yes"
	}
	pubkey := sshdYes("pubkeyauthentication", "yes")
	passwordAuth := sshdYes("passwordauthentication", "yes") || (sshdYes("kbdinteractiveauthentication", "yes") && sshdYes("usepam", "no"))
	keyCmd := l.SshdT["authorizedkeyscommand"]
	if keyCmd == "none" {
		keyCmd = ""
	}
	for _, a := range l.Accounts {
		human := a.UID >= lo && a.UID <= hi
		acc := Account{User: a.Name, UID: a.UID, BlockedBy: []string{}, Paths: []Path{}, Sudo: Sudo{Rules: []string{}}}
		_, acc.Managed = d.Users[a.Name]
		acc.Managed = acc.Managed || l.Record.CreatedUser(a.Name)
		gs := map[string]bool{}
		if n, ok := groupName[a.GID]; ok {
			gs[n] = true
		}
		for _, g := range l.SupplementaryGroups(a.Name) {
			gs[g] = true
		}
		for g := range gs {
			acc.Groups = append(acc.Groups, g)
		}
		sort.Strings(acc.Groups)
		if acc.Groups == nil {
			acc.Groups = []string{}
		}

		// With Match blocks, what sshd decides for this user comes from its own connections
		// (`sshd -T -C user=...`, read for the manifest's users): a method counts when any of
		// them allows it.
		uPubkey, uPassword := pubkey, passwordAuth
		if conns := l.Effective.ConnsOf(a.Name); l.Effective.MatchBlocks && len(conns) > 0 {
			read := false
			p, pw := false, false
			for _, c := range conns {
				if c.Error != "" {
					continue
				}
				read = true
				yes := func(k, def string) bool {
					v, ok := c.Values[k]
					if !ok {
						v = def
					}
					return v == "yes"
				}
				p = p || yes("pubkeyauthentication", "yes")
				pw = pw || yes("passwordauthentication", "yes") || (yes("kbdinteractiveauthentication", "yes") && yes("usepam", "no"))
			}
			if read {
				uPubkey, uPassword = p, pw
			}
		}

		// Keys: every AuthorizedKeysFile path read; without the extras, the authorized_keys plan read.
		files := x.KeyFiles[a.Name]
		// Files sshd reads for this user only through a Match block (from the effective read).
		for _, kf := range l.Effective.KeyFiles[a.Name] {
			known := false
			for _, f := range files {
				known = known || f.Path == kf.Path
			}
			if !known && kf.Kind == hoststate.KindFile {
				files = append(files, hoststate.KeyFile{Path: kf.Path, Kind: kf.Kind, Content: kf.Content})
			}
		}
		if files == nil {
			if f, ok := l.AuthorizedKeys[a.Name]; ok && f.Kind == hoststate.KindFile {
				files = []hoststate.KeyFile{{Path: path.Join(a.Home, ".ssh/authorized_keys"), Kind: f.Kind, Content: f.Content}}
			}
		}
		usableKey := false
		for _, f := range files {
			for _, k := range KeysOf(f.Content) {
				p := Path{Kind: KindKey, File: f.Path, Line: k.Line, Fingerprint: k.Fingerprint, Type: k.Type,
					Keypair: d.Keypairs[k.Fingerprint], Options: k.Options, Comment: k.Comment, PublicKey: k.PublicKey}
				p.Managed = d.Users[a.Name][k.Fingerprint]
				if u := x.Usage; u != nil {
					if t, ok := u.LastKey(a.Name, k.Fingerprint); ok {
						p.LastUsed = &t
					}
				}
				if !KeyExpired(k.Options, now) && !hasOption(k.Options, "cert-authority") {
					usableKey = true
				}
				acc.Paths = append(acc.Paths, p)
			}
		}
		pw, havePW := x.Passwords[a.Name]
		if havePW && (pw.State == "usable" || pw.State == "empty") {
			p := Path{Kind: KindPassword, Allowed: uPassword}
			if a.UID == 0 && l.SshdT["permitrootlogin"] != "yes" && l.SshdT["permitrootlogin"] != "" {
				p.Allowed = false
			}
			if pw.State == "empty" && l.SshdT["permitemptypasswords"] != "yes" {
				p.Allowed = false
			}
			if u := x.Usage; u != nil {
				if t, ok := u.LastPassword(a.Name); ok {
					p.LastUsed = &t
				}
			}
			acc.Paths = append(acc.Paths, p)
		}
		if keyCmd != "" && (human || a.UID == 0 || len(acc.Paths) > 0) {
			acc.Paths = append(acc.Paths, Path{Kind: KindKeyCommand, Command: keyCmd})
		}
		if s, ok := x.Sudo[a.Name]; ok {
			acc.Sudo = Sudo{Allowed: len(s.Rules) > 0, NoPasswd: s.NoPasswd(), Rules: s.Rules}
		}
		if a.UID == 0 {
			acc.Sudo = Sudo{Allowed: true, NoPasswd: true, Rules: []string{"uid 0"}}
		}

		// Who may not log in at all.
		if sh := path.Base(a.Shell); sh == "nologin" || sh == "false" {
			acc.BlockedBy = append(acc.BlockedBy, "/etc/passwd: shell "+a.Shell)
		}
		if havePW && pw.Expire >= 0 && pw.Expire <= today {
			acc.BlockedBy = append(acc.BlockedBy, "/etc/shadow: account expired on "+time.Unix(int64(pw.Expire)*86400, 0).UTC().Format(time.DateOnly))
		}
		if a.UID == 0 && l.SshdT["permitrootlogin"] == "no" {
			acc.BlockedBy = append(acc.BlockedBy, where(layout, "permitrootlogin")+": PermitRootLogin no")
		}
		acc.BlockedBy = append(acc.BlockedBy, sshdBlocks(layout, a.Name, acc.Groups)...)

		loginPath := false
		for _, p := range acc.Paths {
			switch p.Kind {
			case KindPassword:
				loginPath = loginPath || p.Allowed
			case KindKey:
				loginPath = loginPath || (uPubkey && usableKey)
			case KindKeyCommand:
				loginPath = loginPath || uPubkey
			}
		}
		acc.CanLogIn = loginPath && len(acc.BlockedBy) == 0
		if a.UID != 0 && !human && len(acc.Paths) == 0 && !acc.Sudo.Allowed && !acc.Managed {
			continue
		}
		sortPaths(acc.Paths)
		h.Accounts = append(h.Accounts, acc)
	}
	sort.SliceStable(h.Accounts, func(i, j int) bool { return h.Accounts[i].User < h.Accounts[j].User })
	return h
}

// where names the file:line that sets keyword at top level, or "sshd default".
func where(layout []hoststate.Directive, keyword string) string {
	if top, _ := hoststate.Winner(layout, keyword); top != nil {
		return top.Where()
	}
	return "sshd_config"
}

// sshdBlocks applies AllowUsers, DenyUsers, AllowGroups and DenyGroups (top level; every line
// of a keyword counts, as sshd adds them up) to user with groups, naming the deciding lines.
func sshdBlocks(layout []hoststate.Directive, user string, groups []string) []string {
	var out []string
	lists := map[string][]hoststate.Directive{}
	for _, d := range layout {
		switch d.Keyword {
		case "allowusers", "denyusers", "allowgroups", "denygroups":
			if d.Match == "" {
				lists[d.Keyword] = append(lists[d.Keyword], d)
			}
		}
	}
	userMatch := func(pat string) bool {
		u, _, _ := strings.Cut(pat, "@") // user@host: the host part is judged per connection
		return globMatch(u, user)
	}
	groupMatch := func(pat string) bool {
		for _, g := range groups {
			if globMatch(pat, g) {
				return true
			}
		}
		return false
	}
	for _, d := range lists["denyusers"] {
		for _, p := range strings.Fields(d.Value) {
			if userMatch(p) {
				out = append(out, d.Where()+": DenyUsers "+p)
			}
		}
	}
	if ds := lists["allowusers"]; len(ds) > 0 && !anyMatch(ds, userMatch) {
		out = append(out, ds[0].Where()+": AllowUsers does not list "+user)
	}
	for _, d := range lists["denygroups"] {
		for _, p := range strings.Fields(d.Value) {
			if groupMatch(p) {
				out = append(out, d.Where()+": DenyGroups "+p)
			}
		}
	}
	if ds := lists["allowgroups"]; len(ds) > 0 && !anyMatch(ds, groupMatch) {
		out = append(out, ds[0].Where()+": AllowGroups lists none of "+user+"'s groups")
	}
	return out
}

func anyMatch(ds []hoststate.Directive, match func(string) bool) bool {
	for _, d := range ds {
		for _, p := range strings.Fields(d.Value) {
			if match(p) {
				return true
			}
		}
	}
	return false
}

// globMatch is sshd's pattern match: * and ?, whole string.
func globMatch(pat, s string) bool {
	if pat == "" {
		return s == ""
	}
	switch pat[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pat[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pat[1:], s[1:])
	}
	return s != "" && s[0] == pat[0] && globMatch(pat[1:], s[1:])
}

var kindOrder = map[string]int{KindKey: 0, KindPassword: 1, KindKeyCommand: 2, KindRDP: 3}

func sortPaths(ps []Path) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// Key is one key line of an authorized_keys file.
type Key struct {
	Line        int // 1-based
	Type        string
	Fingerprint string
	Options     []string
	Comment     string
	// PublicKey is "TYPE BASE64" without options or comment.
	PublicKey string
}

// KeysOf parses an authorized_keys text; lines that are not keys are skipped (InvalidLines
// counts them).
func KeysOf(text string) []Key {
	var out []Key
	for i, raw := range strings.Split(text, "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pk, comment, opts, _, err := ssh.ParseAuthorizedKey([]byte(l))
		if err != nil {
			continue
		}
		out = append(out, Key{Line: i + 1, Type: pk.Type(), Fingerprint: ssh.FingerprintSHA256(pk), Options: opts,
			Comment: comment, PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))})
	}
	return out
}

// InvalidLines lists the 1-based numbers of lines that are neither blank, comments nor keys.
func InvalidLines(text string) []int {
	var out []int
	for i, raw := range strings.Split(text, "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l)); err != nil {
			out = append(out, i+1)
		}
	}
	return out
}

func hasOption(opts []string, name string) bool {
	for _, o := range opts {
		k, _, _ := strings.Cut(o, "=")
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// KeyExpired reports whether an expiry-time option is in the past at now.
func KeyExpired(opts []string, now time.Time) bool {
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || !strings.EqualFold(k, "expiry-time") {
			continue
		}
		v = strings.Trim(v, `"`)
		for _, layout := range []string{"200601021504", "20060102150405", "20060102"} {
			if len(v) == len(layout) {
				if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
					return !t.After(now)
				}
			}
		}
	}
	return false
}

// Windows builds the review of a Windows host: Administrators as elevation, Remote Desktop
// Users (and Administrators) as the RDP path, keys from the file OpenSSH reads for the account.
func Windows(name string, w *hoststate.Windows, d Desired) *Host {
	h := &Host{Host: name, Status: "ok", OS: "windows", Accounts: []Account{}}
	var admins, rdu *hoststate.WinGroup
	for i := range w.Groups {
		switch w.Groups[i].SID {
		case hoststate.SIDAdministrators:
			admins = &w.Groups[i]
		case hoststate.SIDRemoteDesktopUsers:
			rdu = &w.Groups[i]
		}
	}
	sshd := hoststate.ParseWinSshdConfig(w.SshdConfig)
	for _, u := range w.Users {
		admin := admins.HasMember(u.SID)
		rdp := rdu.HasMember(u.SID)
		acc := Account{User: u.Name, UID: u.SID, BlockedBy: []string{}, Paths: []Path{}, Sudo: Sudo{Rules: []string{}}, Groups: []string{}}
		_, acc.Managed = d.Users[u.Name]
		acc.Managed = acc.Managed || w.Record.CreatedUser(u.Name)
		if admin {
			acc.Groups = append(acc.Groups, "Administrators")
			acc.Sudo = Sudo{Allowed: true, Rules: []string{"member of Administrators (" + hoststate.SIDAdministrators + ")"}}
		}
		if rdp {
			acc.Groups = append(acc.Groups, "Remote Desktop Users")
		}
		// The files sshd reads for the account, as its sshd_config decides (administrators go to
		// administrators_authorized_keys only under a Match block that says so).
		for _, file := range winKeyFiles(w, sshd, u, admin) {
			for _, k := range KeysOf(file.Content) {
				acc.Paths = append(acc.Paths, Path{Kind: KindKey, File: file.Path, Line: k.Line, Fingerprint: k.Fingerprint,
					Type: k.Type, Keypair: d.Keypairs[k.Fingerprint], Options: k.Options, Managed: d.Users[u.Name][k.Fingerprint],
					Comment: k.Comment, PublicKey: k.PublicKey})
			}
		}
		acc.Paths = append(acc.Paths, Path{Kind: KindPassword, Allowed: u.Enabled})
		if admin || rdp {
			// Remote Desktop: membership, the logon rights and fDenyTSConnections (a READ from
			// before they were read: membership and the account's state only).
			allowed := u.Enabled
			if w.RDP != nil {
				v := w.RDPAccess(u.Name, u.SID, admin, rdp, u.Enabled)
				allowed = v.Allowed
				for _, c := range v.Refused {
					if c.Msg != hoststate.RDPAccountDisabled {
						acc.BlockedBy = append(acc.BlockedBy, "rdp: "+c.Msg+" ("+c.Where+")")
					}
				}
			}
			acc.Paths = append(acc.Paths, Path{Kind: KindRDP, Allowed: allowed})
		}
		if !u.Enabled {
			acc.BlockedBy = append(acc.BlockedBy, "account disabled")
		}
		acc.CanLogIn = u.Enabled
		if !u.Human() && !admin && !acc.Managed && len(acc.Paths) <= 1 {
			continue
		}
		sortPaths(acc.Paths)
		h.Accounts = append(h.Accounts, acc)
	}
	sort.SliceStable(h.Accounts, func(i, j int) bool { return h.Accounts[i].User < h.Accounts[j].User })
	return h
}

// winKeyFiles are the key files READ holds that sshd reads for the account.
func winKeyFiles(w *hoststate.Windows, sshd hoststate.WinSshd, u hoststate.WinUser, admin bool) []hoststate.WinKeyFile {
	var out []hoststate.WinKeyFile
	own, hasOwn := w.UserKeys[u.Name]
	for _, p := range sshd.KeyFilesFor(u.Name, u.Profile, nil, admin).Paths {
		switch {
		case hoststate.SamePath(p, hoststate.WinAdminKeysPath) && w.AdminKeys.Kind == hoststate.KindFile:
			out = append(out, w.AdminKeys)
		case hasOwn && own.Kind == hoststate.KindFile && (hoststate.SamePath(p, own.Path) || (u.Profile == "" && hoststate.SamePath(p, `%USERPROFILE%\.ssh\authorized_keys`))):
			out = append(out, own)
		}
	}
	return out
}

// NewReport sorts hosts by name.
func NewReport(hosts []*Host) *Report {
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].Host < hosts[j].Host })
	return &Report{FormatVersion: FormatVersion, Hosts: hosts}
}

// Failed counts the hosts that could not be read.
func (r *Report) Failed() int {
	n := 0
	for _, h := range r.Hosts {
		if h.Status != "ok" {
			n++
		}
	}
	return n
}

// UIDString renders an account's uid for text and CSV.
func UIDString(v any) string {
	switch u := v.(type) {
	case int:
		return strconv.Itoa(u)
	case string:
		return u
	case float64:
		return strconv.FormatFloat(u, 'f', -1, 64)
	}
	return ""
}
