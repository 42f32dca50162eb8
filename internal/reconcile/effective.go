package reconcile

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/names"
)

// Effective access (SPEC §1, §6; HOSTS.md §11): the plan is made from what sshd and sudo decide
// for each managed user, not from the files accessctl writes. This file holds the parts of the
// Linux planner that judge it: every key file sshd reads, Match blocks, who sshd refuses,
// effective sudo, directory accounts, and the changes apply cannot make (blocked).

// More Linux operation kinds (see op.go).
const (
	// OpKeyFile: User, Path, Content: the user's keys in a file outside the home that sshd reads
	// (AuthorizedKeysFile /etc/ssh/authorized_keys/%u), root-owned 0644, written whole.
	OpKeyFile = "linux.keyfile"
	// OpKeyFileRemove: User, Path: a file sshd reads USER's keys from that holds keys the
	// manifest does not grant (authorized_keys2, /etc/ssh/authorized_keys/%u), removed.
	OpKeyFileRemove = "linux.keyfile.rm"
	// OpSudoInclude: Path (/etc/sudoers): add `@includedir /etc/sudoers.d`, checked by visudo.
	OpSudoInclude = "linux.sudoers.include"
)

// Finding is something the plan saw about effective access that a policy rule reports
// (foreign-access, login-blocked): input.plan.hosts[].findings.
type Finding struct {
	Rule  string `json:"rule"`
	User  string `json:"user"`
	Msg   string `json:"msg"`
	Where string `json:"where,omitempty"`
}

// SshdConnCheck is one connection whose effective sshd values apply verifies (sshd -T -C).
type SshdConnCheck struct {
	User string `json:"user"`
	Addr string `json:"addr"`
	Host string `json:"host"`
	// Local is "lport=N" or "laddr=A" (Match LocalPort/LocalAddress), else "".
	Local string `json:"local,omitempty"`
}

// defaultAuthorizedKeysFile is OpenSSH's default AuthorizedKeysFile.
const defaultAuthorizedKeysFile = ".ssh/authorized_keys .ssh/authorized_keys2"

// keyPatterns are the AuthorizedKeysFile patterns sshd uses for user: all on any connection now
// or after apply, and after, those it reads once apply has run. gained and lost are the groups
// the plan adds the user to and removes it from: sshd -T -C judged Match Group blocks by the
// groups the user has now, so the first Match block whose Group criterion names a gained group
// gives the file after apply (its other criteria ignored: a file read for some connections
// counts), and losing the group of such a block sends the user back to the top-level value.
func keyPatterns(live *hoststate.Linux, user string, gained, lost []string) (all, after []string) {
	if live.Effective.Server == "dropbear" {
		return []string{".ssh/authorized_keys"}, []string{".ssh/authorized_keys"}
	}
	top, ok := live.SshdT["authorizedkeysfile"]
	if !ok {
		top = defaultAuthorizedKeysFile
	}
	var now []string
	if live.Effective.MatchBlocks {
		for _, c := range live.Effective.ConnsOf(user) {
			if v, ok := c.Values["authorizedkeysfile"]; ok {
				now = append(now, v)
			}
		}
	}
	if len(now) == 0 {
		now = []string{top}
	}
	later := now
	if live.Effective.MatchBlocks && len(gained)+len(lost) > 0 {
		layout := live.SshdLayout(nil, nil)
		found := false
		for _, d := range layout {
			if d.Keyword == "authorizedkeysfile" && matchNamesGroup(d.Match, gained) {
				later, found = []string{d.Value}, true
				break
			}
		}
		for _, d := range layout {
			if !found && d.Keyword == "authorizedkeysfile" && matchNamesGroup(d.Match, lost) {
				later = []string{top}
				break
			}
		}
	}
	fields := func(vals ...[]string) []string {
		seen := map[string]bool{}
		var out []string
		for _, vs := range vals {
			for _, v := range vs {
				for _, p := range strings.Fields(v) {
					if !seen[p] && p != "none" {
						seen[p] = true
						out = append(out, p)
					}
				}
			}
		}
		return out
	}
	return fields(now, later), fields(later)
}

// matchNamesGroup reports whether a Match line has a Group criterion whose pattern list matches
// one of groups (negated patterns ignored).
func matchNamesGroup(match string, groups []string) bool {
	f := strings.Fields(match)
	for i := 1; i+1 < len(f); i++ {
		if !strings.EqualFold(f[i], "group") {
			continue
		}
		for _, pat := range strings.Split(f[i+1], ",") {
			if strings.HasPrefix(pat, "!") {
				continue
			}
			for _, g := range groups {
				if ok, _ := path.Match(pat, g); ok {
					return true
				}
			}
		}
	}
	return false
}

// expandKeyPath expands an AuthorizedKeysFile pattern as sshd does (%% %h %u %U; relative to
// the home). ok is false for another token.
func expandKeyPath(p, user string, uid int, home string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+1 >= len(p) {
			return "", false
		}
		i++
		switch p[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(home)
		case 'u':
			b.WriteString(user)
		case 'U':
			b.WriteString(strconv.Itoa(uid))
		default:
			return "", false
		}
	}
	s := b.String()
	if !strings.HasPrefix(s, "/") {
		s = home + "/" + s
	}
	return path.Clean(s), true
}

// keyFileOf is the file at p as read for user (the home file is in AuthorizedKeys).
func keyFileOf(live *hoststate.Linux, user, homeFile, p string) (hoststate.File, bool) {
	if p == homeFile {
		f, ok := live.AuthorizedKeys[user]
		return f, ok
	}
	for _, kf := range live.Effective.KeyFiles[user] {
		if kf.Path == p {
			return kf.File, true
		}
	}
	return hoststate.File{}, false
}

// safeKeyPath: a key file path accessctl writes or removes (it comes from the host's sshd
// configuration): absolute, clean, no control or shell-special characters.
func safeKeyPath(p string) bool {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-@+=:,%", r)) {
			return false
		}
	}
	return true
}

// planKeys plans a user's keys across every file sshd reads them from: the manifest's keys in
// one file sshd reads (~/.ssh/authorized_keys when it is one of them), no key in any other. A
// locked user gets no key at all, on any SSH server (dropbear has no PAM to honour the lock).
func (p *linuxPlanner) planKeys(du desiredUser, u *manifest.User, acct *hoststate.Account, live *hoststate.Linux) {
	if !p.pushMode || u.State == manifest.StateAbsent {
		return
	}
	locked := u.State == manifest.StateLocked
	keys := du.Keys
	if locked {
		keys = nil
	}
	want := authorizedKeysText(keys)
	home, uid := "", 0
	if acct != nil {
		home, uid = acct.Home, acct.UID
	} else if u.UID != nil {
		uid = *u.UID
	}
	homeKnown := home != ""
	if !homeKnown {
		home = "/home/" + u.Name // where useradd will make it; only to tell paths apart
	}
	homeFile := home + "/.ssh/authorized_keys"
	shown := homeFile // how the plan names the home file
	if !homeKnown {
		shown = "~" + u.Name + "/.ssh/authorized_keys"
	}
	var gained, lost []string
	have := live.SupplementaryGroups(u.Name)
	for _, g := range u.Groups {
		if acct == nil || !contains(have, g) {
			gained = append(gained, g)
		}
	}
	for _, g := range live.Record.Groups[u.Name] { // as planUser removes them
		if acct != nil && !contains(u.Groups, g) && contains(have, g) && names.Group(g) {
			lost = append(lost, g)
		}
	}
	allPats, afterPats := keyPatterns(live, u.Name, gained, lost)
	expand := func(pats []string) []string {
		var out []string
		for _, pat := range pats {
			if acct == nil && strings.Contains(pat, "%U") && u.UID == nil {
				continue // unknown until useradd picks the uid
			}
			if ep, ok := expandKeyPath(pat, u.Name, uid, home); ok {
				out = append(out, ep)
			}
		}
		return out
	}
	// paths: every file sshd reads for the user now or after apply (no foreign key may stay in
	// one); afterPaths: those it reads after apply, where the wanted keys must be.
	paths, afterPaths := expand(allPats), expand(afterPats)
	target := ""
	for _, ep := range afterPaths {
		if ep == homeFile {
			target = homeFile
		}
	}
	if target == "" {
		for _, ep := range afterPaths {
			if !strings.HasPrefix(ep, home+"/") && safeKeyPath(ep) {
				target = ep
				break
			}
		}
	}
	// Effective, not files: when the files sshd reads for the user hold exactly the wanted keys
	// between them (each once, with its options), access is as the manifest says, wherever each
	// key is (a key left in authorized_keys2, an imported host).
	unusable := ""
	if acct != nil {
		unusable = unusableKeyFile(live, acct, homeFile)
	}
	if acct != nil && len(afterPaths) > 0 && len(afterPaths) == len(paths) && unusable == "" {
		var files []hoststate.File
		for _, ep := range afterPaths {
			f, ok := keyFileOf(live, u.Name, homeFile, ep)
			if !ok {
				f = hoststate.File{Kind: hoststate.KindAbsent}
			}
			files = append(files, f)
		}
		if keysEquivalentAll(keys, files) {
			return
		}
	}
	if target == "" && (len(keys) > 0 || len(paths) > 0) {
		p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: Update, Resource: ResKeys, Name: u.Name,
			Reason:  fmt.Sprintf("sshd reads %s's keys from %s; accessctl writes keys only to ~/.ssh/authorized_keys or a file outside the home", u.Name, strings.Join(paths, " ")),
			Blocked: "no key file accessctl can write is read by sshd for " + u.Name})
		return
	}
	if target == homeFile {
		f := live.AuthorizedKeys[u.Name]
		if acct == nil {
			f = hoststate.File{Kind: hoststate.KindAbsent}
		}
		reason, a := keysChange(u.Name, keys, f)
		if unusable != "" {
			if reason == "" {
				reason, a = "authorized_keys for "+u.Name+": "+unusable+"; rewritten as "+u.Name+", mode 0600", Update
			} else {
				reason += " (" + unusable + ")"
			}
		}
		if reason != "" && !(a == Create && len(keys) == 0) {
			var before any
			if f.Kind == hoststate.KindFile {
				before = keyViews(f.Content, shown, p.names)
			}
			if locked {
				reason += " (" + u.Name + " is locked: no key may log in)"
			}
			p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: a, Resource: ResKeys, Name: u.Name, Reason: reason,
				Before: before, After: keyViews(want, shown, p.names), Ops: []Op{{Kind: OpKeys, User: u.Name, Content: &want}},
				Blocked: linkBlocked(u.Name, f)})
		}
	} else if target != "" {
		f, _ := keyFileOf(live, u.Name, homeFile, target)
		if f.Kind == "" {
			f = hoststate.File{Kind: hoststate.KindAbsent}
		}
		if reason, a := keysChange(u.Name, keys, f); reason != "" && !(a == Create && len(keys) == 0) {
			var before any
			if f.Kind == hoststate.KindFile {
				before = keyViews(f.Content, target, p.names)
			}
			reason = strings.Replace(reason, "authorized_keys for "+u.Name, target+" (sshd's AuthorizedKeysFile for "+u.Name+")", 1)
			p.add(a, ResKeys, u.Name, reason, before, keyViews(want, target, p.names), Op{Kind: OpKeyFile, User: u.Name, Path: target, Content: &want})
		}
	}
	// Every other file sshd reads for the user: no key may be there.
	for _, ep := range paths {
		if ep == target {
			continue
		}
		f, ok := keyFileOf(live, u.Name, homeFile, ep)
		if !ok || !safeKeyPath(ep) {
			continue
		}
		switch f.Kind {
		case hoststate.KindFile:
			parsed, _ := hoststate.ParseAuthorizedKeys(f.Content)
			if len(parsed) == 0 {
				continue
			}
			views := keyViews(f.Content, ep, p.names)
			wanted := map[string]bool{}
			for _, k := range keys {
				wanted[k.Fingerprint] = true
			}
			var fps []string
			moved := 0
			for _, v := range views {
				if wanted[v.Fingerprint] {
					moved++
					continue
				}
				fps = append(fps, v.Fingerprint)
				p.findings = append(p.findings, Finding{Rule: "foreign-access", User: u.Name, Where: ep,
					Msg: fmt.Sprintf("key %s in %s logs in as %s; the manifest does not grant it there (removed by apply)", v.Fingerprint, ep, u.Name)})
			}
			var what []string
			if len(fps) > 0 {
				what = append(what, fmt.Sprintf("%s not in the manifest (%s)", plural(len(fps), "key", "keys"), strings.Join(fps, ", ")))
			}
			if moved > 0 {
				to := target
				if to == homeFile {
					to = shown
				}
				what = append(what, fmt.Sprintf("%d moved to %s", moved, to))
			}
			p.add(Delete, ResKeys, u.Name+":"+ep, fmt.Sprintf("sshd reads %s for %s: %s", ep, u.Name, strings.Join(what, "; ")),
				views, nil, Op{Kind: OpKeyFileRemove, User: u.Name, Path: ep})
		case hoststate.KindSymlink, hoststate.KindOther:
			p.add(Delete, ResKeys, u.Name+":"+ep, fmt.Sprintf("sshd reads %s for %s and it is a %s; accessctl cannot tell which keys it grants", ep, u.Name, f.Kind),
				string(f.Kind), nil, Op{Kind: OpKeyFileRemove, User: u.Name, Path: ep})
		}
	}
}

// linkBlocked: apply does not write authorized_keys through a symlink.
func linkBlocked(user string, f hoststate.File) string {
	switch f.Kind {
	case hoststate.KindSymlinkDir:
		return fmt.Sprintf("the ~/.ssh of %s is a symlink (to %s); accessctl does not write through it", user, f.Content)
	case hoststate.KindSymlink:
		return fmt.Sprintf("the authorized_keys of %s is a symlink (to %s); accessctl does not write through it", user, f.Content)
	case hoststate.KindOther:
		return fmt.Sprintf("the authorized_keys of %s is not a regular file", user)
	}
	return ""
}

// sudoRank orders sudo levels: none < true < nopasswd.
func sudoRank(level string) int {
	switch level {
	case manifest.SudoNoPasswd:
		return 2
	case manifest.SudoPassword:
		return 1
	}
	return 0
}

// planEffectiveSudo compares effective sudo (sudo -l -U, or accessctl's drop-in when sudoers names
// the user nowhere else) with the manifest: the include line accessctl's drop-in needs, and the
// grants it cannot take away (blocked).
func (p *linuxPlanner) planEffectiveSudo(d *Desired, live *hoststate.Linux) {
	e := live.Effective
	if !e.Read {
		return
	}
	dropIn, _ := sudoLevels(live.Sudoers)
	needInclude := false
	for _, du := range d.Users {
		want := du.Sudo
		if want == "" {
			want = manifest.SudoNone
		}
		if sudoRank(want) > 0 {
			needInclude = true
		}
		noAuth, whose := e.SudoNoAuth, "every"
		if at, ok := e.SudoNoAuthUsers[du.Name]; ok {
			noAuth, whose = at, du.Name+"'s"
		}
		if want == manifest.SudoPassword && noAuth != "" {
			p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: Update, Resource: ResSudo, Name: du.Name,
				Reason: fmt.Sprintf("Defaults !authenticate at %s: no sudo rule asks %s a password, so %s's sudo would run ALL without password; the manifest says ALL with password", noAuth, du.Name, du.Name),
				Before: sudoWords(manifest.SudoNoPasswd), After: sudoWords(want),
				Blocked: fmt.Sprintf("Defaults !authenticate at %s makes %s sudo rule password-less; remove it there, or say sudo: nopasswd in the manifest", noAuth, whose)})
			continue
		}
		// A group the plan adds the user to may grant more than the manifest says (%sudo,
		// %wheel): apply cannot take that away but by not adding the group.
		gainedBlocked := false
		for _, g := range du.Groups {
			gl, ok := e.SudoGroups[g]
			if !ok || sudoRank(gl.Level) <= sudoRank(want) || contains(live.SupplementaryGroups(du.Name), g) {
				continue
			}
			if sl, asked := e.Sudo[du.Name]; asked && sudoRank(sl.Level) >= sudoRank(gl.Level) {
				continue // already granted as much: judged below
			}
			gainedBlocked = true
			p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: Update, Resource: ResSudo, Name: du.Name,
				Reason: fmt.Sprintf("the manifest adds %s to %s, whose sudoers %s grants %s; the manifest says %s", du.Name, g, strings.Join(gl.Rules, "; "), sudoWords(gl.Level), sudoWords(want)),
				Before: sudoWords(want), After: sudoWords(gl.Level),
				Blocked: fmt.Sprintf("%%%s (%s) would grant %s %s, the manifest says %s: take %s out of the user's groups, or grant it in the manifest", g, strings.Join(gl.Rules, "; "), du.Name, sudoWords(gl.Level), sudoWords(want), g)})
		}
		if gainedBlocked {
			continue
		}
		sl, asked := e.Sudo[du.Name]
		if !asked {
			continue
		}
		// What sudo grants beyond accessctl's drop-in.
		other := sl.Level
		if !sl.Outside && sudoRank(dropIn[du.Name]) >= sudoRank(other) && e.SudoIncludeDir {
			other = ""
		}
		if sudoRank(other) > sudoRank(want) {
			p.findings = append(p.findings, Finding{Rule: "foreign-access", User: du.Name, Where: "/etc/sudoers",
				Msg: fmt.Sprintf("sudo -l -U %s grants %s (%s) outside accessctl's drop-in; the manifest says %s", du.Name, sudoWords(other), strings.Join(sl.Rules, "; "), sudoWords(want))})
			p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: Update, Resource: ResSudo, Name: du.Name,
				Reason: fmt.Sprintf("sudo -l -U %s grants %s through sudoers rules accessctl did not write (%s); the manifest says %s", du.Name, sudoWords(other), strings.Join(sl.Rules, "; "), sudoWords(want)),
				Before: sudoWords(other), After: sudoWords(want),
				Blocked: fmt.Sprintf("%s gets sudo from a rule outside %s (a group such as %%sudo or %%wheel, or /etc/sudoers); remove it there, or grant it in the manifest", du.Name, hoststate.SudoersPath)})
		}
	}
	if needInclude && !e.SudoIncludeDir {
		reason := "/etc/sudoers does not include /etc/sudoers.d, so accessctl's drop-in grants nothing: add @includedir /etc/sudoers.d (checked with visudo -c)"
		p.add(Update, ResSudo, "/etc/sudoers", reason, "no @includedir", "@includedir /etc/sudoers.d", Op{Kind: OpSudoInclude, Path: "/etc/sudoers"})
	}
}

// opTools are the programs each op needs on the host.
var opTools = map[string][]string{
	OpGroupAdd: {"groupadd"}, OpUserAdd: {"useradd"}, OpUserMod: {"usermod"}, OpAddGroups: {"usermod"},
	OpPassword: {"chpasswd"}, OpLock: {"usermod"}, OpUnlock: {"usermod"}, OpKeys: {"setpriv"},
	OpSudoers: {"visudo"}, OpSudoInclude: {"visudo"}, OpUserDel: {"userdel"}, OpKeyFileRemove: {"setpriv"},
	OpDelGroups: {"gpasswd"},
}

// accountOps change /etc/passwd, /etc/shadow or /etc/group entries of the user.
var accountOps = map[string]string{
	OpUserMod: "change its attributes", OpAddGroups: "add it to groups", OpPassword: "set its password",
	OpLock: "lock its password", OpUnlock: "unlock it", OpUserDel: "remove it", OpDelGroups: "remove it from groups",
}

// markBlocked marks the changes apply cannot make: a missing tool, a home that is missing or a
// symlink (keys), a directory account's entries (not in /etc/passwd).
func markBlocked(hp *HostPlan, live *hoststate.Linux) {
	e := live.Effective
	if !e.Read {
		return
	}
	created := map[string]bool{}
	for _, op := range allOps(hp.Changes) {
		if op.Kind == OpUserAdd {
			created[op.User] = true
		}
	}
	for i := range hp.Changes {
		c := &hp.Changes[i]
		if c.Blocked != "" {
			continue
		}
		var why []string
		for _, op := range c.Ops {
			if miss := e.MissingTools(opTools[op.Kind]...); len(miss) > 0 {
				why = append(why, fmt.Sprintf("%s is not installed on the host", strings.Join(miss, ", ")))
			}
			if what, ok := accountOps[op.Kind]; ok {
				if a := live.Account(op.User); a != nil && a.Directory {
					why = append(why, fmt.Sprintf("%s is a directory account (NSS: resolved by name, not in /etc/passwd); accessctl cannot %s", op.User, what))
				}
			}
			if (op.Kind == OpKeys || op.Kind == OpKeyFileRemove && live.Account(op.User) != nil && strings.HasPrefix(op.Path, live.Account(op.User).Home+"/")) && !created[op.User] {
				switch h := e.Homes[op.User]; h {
				case "absent":
					why = append(why, fmt.Sprintf("the home of %s does not exist", op.User))
				case "symlink":
					why = append(why, fmt.Sprintf("the home of %s is a symlink; accessctl does not write through it", op.User))
				case "other":
					why = append(why, fmt.Sprintf("the home of %s is not a directory", op.User))
				case "dir":
					if msg, _ := unsafeHome(live, op.User); msg != "" {
						why = append(why, msg+" (accessctl does not write where another user could swap in a symlink)")
					}
				}
			}
		}
		c.Blocked = strings.Join(dedupe(why), "; ")
	}
}

// unusableKeyFile says why sshd ignores ~/.ssh/authorized_keys whatever it holds: sshd opens it
// as the user (a root-owned 0600 file is unreadable) and, with StrictModes, refuses a file owned
// by another user or writable by others. "" when it is fine or the read did not see it.
func unusableKeyFile(live *hoststate.Linux, acct *hoststate.Account, homeFile string) string {
	st, ok := live.Effective.HomeStat[homeFile]
	if !ok || live.Effective.Server == "dropbear" {
		return ""
	}
	strict := live.SshdT["strictmodes"] != "no"
	switch {
	case st.UID != acct.UID && st.UID != 0 && strict:
		return fmt.Sprintf("%s is owned by uid %d, so sshd (StrictModes) ignores it", homeFile, st.UID)
	case st.Mode&0o002 != 0 && strict:
		return fmt.Sprintf("%s is writable by others (mode %o), so sshd (StrictModes) ignores it", homeFile, st.Mode)
	case st.UID != acct.UID && st.Mode&0o004 == 0:
		return fmt.Sprintf("%s is owned by uid %d with mode %o: sshd reads it as %s and cannot", homeFile, st.UID, st.Mode, acct.Name)
	case st.UID == acct.UID && st.Mode&0o400 == 0:
		return fmt.Sprintf("%s has mode %o: sshd reads it as %s and cannot", homeFile, st.Mode, acct.Name)
	}
	return ""
}

// unsafeHome says why apply refuses to write under user's home: the home owned by another user
// or writable by group or others, ~/.ssh owned by another user ("" when the read did not see it
// or it is fine). sshdRefuses: sshd's StrictModes ignores keys there on every OpenSSH (another
// owner, world-writable); a group-writable home is accepted by Debian's OpenSSH when the group
// is the user's own, so that case is not claimed.
func unsafeHome(live *hoststate.Linux, user string) (msg string, sshdRefuses bool) {
	a := live.Account(user)
	if a == nil || a.Home == "" {
		return "", false
	}
	owner := func(uid int) string {
		for _, o := range live.Accounts {
			if o.UID == uid {
				return fmt.Sprintf("%s (uid %d)", o.Name, uid)
			}
		}
		return fmt.Sprintf("uid %d", uid)
	}
	if st, ok := live.Effective.HomeStat[a.Home]; ok {
		if st.UID != a.UID && st.UID != 0 {
			return fmt.Sprintf("the home of %s (%s) is owned by %s, not by %s or root", user, a.Home, owner(st.UID), user), true
		}
		if st.Mode&0o022 != 0 {
			return fmt.Sprintf("the home of %s (%s) is writable by group or others (mode %o); chmod go-w it", user, a.Home, st.Mode), st.Mode&0o002 != 0
		}
	}
	if st, ok := live.Effective.HomeStat[a.Home+"/.ssh"]; ok && st.UID != a.UID && st.UID != 0 {
		return fmt.Sprintf("%s/.ssh is owned by %s, not by %s or root", a.Home, owner(st.UID), user), true
	}
	return "", false
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// loginBlocked finds the desired users sshd would refuse (AllowUsers, DenyUsers, AllowGroups,
// DenyGroups), whose shell refuses logins, or whose account has expired; each names where.
func (p *linuxPlanner) loginBlocked(d *Desired, live *hoststate.Linux, today int) {
	layout := live.SshdLayout(nil, nil)
	where := func(kw string) string {
		top, matches := hoststate.Winner(layout, kw)
		if top != nil {
			return top.Where()
		}
		if len(matches) > 0 {
			return matches[0].Where()
		}
		return "sshd -T"
	}
	for _, du := range d.Users {
		u := du.User
		if u.State != manifest.StatePresent {
			continue
		}
		acct := live.Account(u.Name)
		groups := map[string]bool{}
		shell := u.Shell
		if acct != nil {
			for _, g := range live.SupplementaryGroups(u.Name) {
				groups[g] = true
			}
			for _, g := range live.Groups {
				if g.GID == acct.GID {
					groups[g.Name] = true
				}
			}
			if shell == "" {
				shell = acct.Shell
			}
		}
		for _, g := range u.Groups {
			groups[g] = true
		}
		blocked := func(msg, at string) {
			p.findings = append(p.findings, Finding{Rule: "login-blocked", User: u.Name, Where: at,
				Msg: fmt.Sprintf("%s cannot log in: %s (%s)", u.Name, msg, at)})
		}
		if live.Effective.Server != "dropbear" {
			vals := []map[string]string{live.SshdT}
			if live.Effective.MatchBlocks {
				for _, c := range live.Effective.ConnsOf(u.Name) {
					vals = append(vals, c.Values)
				}
			}
			said := map[string]bool{}
			for _, v := range vals {
				if al := v["allowusers"]; al != "" && !matchesAny(u.Name, al, true) && !said["allowusers"] {
					said["allowusers"] = true
					blocked("not listed in AllowUsers", where("allowusers"))
				}
				if dn := v["denyusers"]; dn != "" && matchesAny(u.Name, deniedEverywhere(dn), true) && !said["denyusers"] {
					said["denyusers"] = true
					blocked("listed in DenyUsers", where("denyusers"))
				}
				if ag := v["allowgroups"]; ag != "" && !anyGroupMatches(groups, ag) && !said["allowgroups"] {
					said["allowgroups"] = true
					blocked("in none of AllowGroups", where("allowgroups"))
				}
				if dg := v["denygroups"]; dg != "" && anyGroupMatches(groups, dg) && !said["denygroups"] {
					said["denygroups"] = true
					blocked("in a group of DenyGroups", where("denygroups"))
				}
				if am := v["authenticationmethods"]; am != "" && am != "any" && !said["authenticationmethods"] &&
					!authMethodsSatisfiable(am, d.Sshd, v, live.SshdT) {
					said["authenticationmethods"] = true
					blocked("no list of AuthenticationMethods "+am+" can be met with the authentication methods the manifest leaves on", where("authenticationmethods"))
				}
			}
		}
		if strings.HasSuffix(shell, "/nologin") || strings.HasSuffix(shell, "/false") {
			blocked("the shell is "+shell, "/etc/passwd")
		} else if live.Effective.Server == "dropbear" && shell != "" && len(live.Effective.Shells) > 0 && !contains(live.Effective.Shells, shell) {
			blocked("dropbear refuses the shell "+shell+", which /etc/shells does not list", "/etc/shells")
		}
		if live.SshdT["strictmodes"] != "no" { // dropbear checks the same, always
			if msg, refuses := unsafeHome(live, u.Name); refuses && live.Effective.Homes[u.Name] == "dir" {
				blocked("sshd (StrictModes) ignores the keys: "+msg, live.Account(u.Name).Home)
			}
		}
		if sh, ok := live.Shadow[u.Name]; ok && sh.Expire >= 0 && sh.Expire != 1 && sh.Expire <= today {
			blocked(fmt.Sprintf("the account expired (day %d)", sh.Expire), "/etc/shadow")
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// matchesAny matches name against an sshd pattern list (spaces between entries, "user@host"
// entries judged by their user part).
func matchesAny(name, list string, userHost bool) bool {
	for _, pat := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' }) {
		if userHost {
			if i := strings.IndexByte(pat, '@'); i >= 0 {
				pat = pat[:i]
			}
		}
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// authMethodsSatisfiable reports whether one list of an AuthenticationMethods value ("publickey,
// password publickey,keyboard-interactive:pam") has only methods that are on after apply: the
// manifest's sshd values where it manages them, the connection's (or the global) value else.
func authMethodsSatisfiable(am string, want, conn, global map[string]string) bool {
	kw := map[string]string{"password": "passwordauthentication", "keyboard-interactive": "kbdinteractiveauthentication",
		"publickey": "pubkeyauthentication", "hostbased": "hostbasedauthentication"}
	on := func(method string) bool {
		k, ok := kw[method]
		if !ok {
			return true // unknown to accessctl: not judged
		}
		for _, m := range []map[string]string{want, conn, global} {
			if v, ok := m[k]; ok {
				return v != "no"
			}
		}
		return true
	}
	for _, list := range strings.Fields(am) {
		ok := true
		for _, m := range strings.Split(list, ",") {
			m, _, _ = strings.Cut(m, ":")
			if !on(m) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// deniedEverywhere keeps the DenyUsers entries that deny a user from every client: "USER@HOST"
// entries deny only from some (a network), so they do not block the user.
func deniedEverywhere(list string) string {
	var out []string
	for _, pat := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' }) {
		if i := strings.IndexByte(pat, '@'); i >= 0 && pat[i+1:] != "*" {
			continue
		}
		out = append(out, pat)
	}
	return strings.Join(out, " ")
}

func anyGroupMatches(groups map[string]bool, list string) bool {
	for g := range groups {
		if matchesAny(g, list, false) {
			return true
		}
	}
	return false
}

// matchFindings names the Match blocks that give a managed user password login the manifest
// does not grant (apply beats them with a `Match all` section, unless sshd reads them before it:
// then the sshd change is blocked; the finding says where they are).
func (p *linuxPlanner) matchFindings(d *Desired, live *hoststate.Linux) {
	if !live.Effective.MatchBlocks || d.Sshd["passwordauthentication"] != "no" {
		return
	}
	_, matches := hoststate.Winner(live.SshdLayout(nil, nil), "passwordauthentication")
	var yes []hoststate.Directive
	for _, m := range matches {
		if strings.EqualFold(m.Value, "yes") {
			yes = append(yes, m)
		}
	}
	if len(yes) == 0 {
		return // a global "yes" is the sshd change itself
	}
	globalYes := live.SshdT["passwordauthentication"] == "yes"
	seen := map[string]bool{}
	for _, du := range d.Users {
		u := du.Name
		if seen[u] || !d.wants(u) {
			continue
		}
		var conn *hoststate.Conn
		for _, c := range live.Effective.ConnsOf(u) {
			if c.Values["passwordauthentication"] != "yes" {
				continue
			}
			if conn == nil || (conn.Addr == probeAddr && c.Addr != probeAddr) {
				c := c
				conn = &c
			}
		}
		if conn == nil {
			continue
		}
		groups := map[string]bool{}
		for _, g := range live.SupplementaryGroups(u) {
			groups[g] = true
		}
		if a := live.Account(u); a != nil {
			for _, g := range live.Groups {
				if g.GID == a.GID {
					groups[g.Name] = true
				}
			}
		}
		var m *hoststate.Directive
		for i := range yes {
			if matchMayApply(yes[i].Match, u, groups) {
				m = &yes[i]
				break
			}
		}
		if m == nil {
			if globalYes {
				continue // the global value, not a Match block
			}
			m = &yes[0]
		}
		seen[u] = true
		at := m.Where() + " (" + m.Match + ")"
		how := "apply overrides it with a Match all section"
		if p.unbeaten[m.Where()] {
			how = "sshd reads it before accessctl's Match all section, so apply cannot override it: the sshd change is blocked"
		}
		p.findings = append(p.findings, Finding{Rule: "foreign-access", User: u, Where: at,
			Msg: fmt.Sprintf("a Match block at %s grants %s password login from %s; the manifest says passwordAuthentication false (%s)", at, u, conn.Addr, how)})
	}
	sort.SliceStable(p.findings, func(i, j int) bool { return p.findings[i].User < p.findings[j].User })
}

// probeAddr is the client address the read asks sshd -T -C about for connections that no Match
// Address names (read_linux.sh).
const probeAddr = "198.51.100.7"

// matchMayApply reports whether a Match line may match user's connections: false only when it
// has a User or Group criterion that the user (or her groups) cannot match; other criteria
// (Address, Host, ...) are assumed to match some connection.
func matchMayApply(match, user string, groups map[string]bool) bool {
	f := strings.Fields(match)
	for i := 1; i+1 < len(f); i++ {
		switch strings.ToLower(f[i]) {
		case "user":
			if !patternListMatches(f[i+1], map[string]bool{user: true}) {
				return false
			}
			i++
		case "group":
			if !patternListMatches(f[i+1], groups) {
				return false
			}
			i++
		case "all":
		default:
			i++
		}
	}
	return true
}

// patternListMatches: sshd's match_pattern_list over names (a negated match excludes).
func patternListMatches(list string, names map[string]bool) bool {
	for n := range names {
		got := false
		neg := false
		for _, pat := range strings.Split(list, ",") {
			if strings.HasPrefix(pat, "!") {
				if ok, _ := path.Match(pat[1:], n); ok {
					neg = true
				}
			} else if ok, _ := path.Match(pat, n); ok {
				got = true
			}
		}
		if got && !neg {
			return true
		}
	}
	return false
}

// keyCommandFindings: an AuthorizedKeysCommand that is not accessctl's answers for managed users
// with keys the manifest does not know (foreign-access; apply cannot neutralise another
// package's plug-in, so it is reported).
func (p *linuxPlanner) keyCommandFindings(d *Desired, live *hoststate.Linux, want map[string]string) {
	if live.Effective.Server == "dropbear" {
		return
	}
	ours := want["authorizedkeyscommand"]
	for _, du := range d.Users {
		vals := []map[string]string{live.SshdT}
		if live.Effective.MatchBlocks {
			for _, c := range live.Effective.ConnsOf(du.Name) {
				vals = append(vals, c.Values)
			}
		}
		for _, v := range vals {
			cmd := v["authorizedkeyscommand"]
			if cmd == "" || cmd == "none" || cmd == ours || strings.HasPrefix(cmd, hoststate.PullKeysBinary+" ") {
				continue
			}
			at := "sshd -T"
			if top, matches := hoststate.Winner(live.SshdLayout(nil, nil), "authorizedkeyscommand"); top != nil {
				at = top.Where()
			} else if len(matches) > 0 {
				at = matches[0].Where()
			}
			p.findings = append(p.findings, Finding{Rule: "foreign-access", User: du.Name, Where: at,
				Msg: fmt.Sprintf("sshd asks %q (%s) for %s's keys; whatever it prints logs in, beyond the manifest", cmd, at, du.Name)})
			break
		}
		// Certificates: any certificate a trusted CA signs for the user's name logs in.
		if ca := live.SshdT["trustedusercakeys"]; ca != "" && ca != "none" {
			at := "sshd -T"
			if top, _ := hoststate.Winner(live.SshdLayout(nil, nil), "trustedusercakeys"); top != nil {
				at = top.Where()
			}
			p.findings = append(p.findings, Finding{Rule: "foreign-access", User: du.Name, Where: at,
				Msg: fmt.Sprintf("sshd trusts user certificates signed by the CA keys in %s (%s): a certificate for %s logs in without a key the manifest binds", ca, at, du.Name)})
		}
	}
}

// wants reports whether the user is desired on the host.
func (d *Desired) wants(name string) bool {
	for _, du := range d.Users {
		if du.Name == name {
			return true
		}
	}
	return false
}

// sshdMatchAll is the section that beats later Match blocks for every connection (HOSTS.md
// §11): the managed keywords again under `Match all`.
func sshdMatchAll(body string) string {
	var b strings.Builder
	b.WriteString("# Match blocks elsewhere must not change these for any connection\nMatch all\n")
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString("\t" + l + "\n")
	}
	return b.String()
}

// insertBeforeFirstMatch puts block right before the first top-level Match line of text (at the
// end when there is none).
func insertBeforeFirstMatch(text, block string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if f := strings.Fields(t); len(f) > 0 && strings.EqualFold(f[0], "match") {
			return strings.Join(lines[:i], "") + block + strings.Join(lines[i:], "")
		}
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return text + block
}

// connChecks are the connections apply verifies after writing the sshd settings.
func connChecks(live *hoststate.Linux) []SshdConnCheck {
	if !live.Effective.MatchBlocks {
		return nil
	}
	var out []SshdConnCheck
	for _, c := range live.Effective.Conns {
		if c.Error == "" && hoststate.ValidUserName(c.User) && safeConnValue(c.Addr) && safeConnValue(c.Host) && safeLocal(c.Local) {
			out = append(out, SshdConnCheck{User: c.User, Addr: c.Addr, Host: c.Host, Local: c.Local})
		}
	}
	return out
}

// safeLocal: "" or comma-separated lport=N / laddr=A.
func safeLocal(s string) bool {
	if s == "" {
		return true
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (k != "lport" && k != "laddr") || !safeConnValue(v) {
			return false
		}
	}
	return true
}

func safeConnValue(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == ':' || r == '-') {
			return false
		}
	}
	return true
}

// connMismatches: managed sshd values that differ from the manifest for some connection.
func connMismatches(want map[string]string, live *hoststate.Linux) map[string][]hoststate.Conn {
	out := map[string][]hoststate.Conn{}
	if !live.Effective.MatchBlocks {
		return out
	}
	for _, c := range live.Effective.Conns {
		for k, v := range want {
			if cur, ok := c.Values[k]; ok && cur != v {
				out[k] = append(out[k], c)
			}
		}
	}
	return out
}
