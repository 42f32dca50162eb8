package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"golang.org/x/crypto/ssh"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// SshdOp is accessctl's sshd settings: the file to write, and what sshd -T must show after.
type SshdOp struct {
	DropIn  bool   `json:"dropIn"`
	Content string `json:"content"` // the drop-in file, or the whole new sshd_config
	// MainSHA256 is the digest of sshd_config as read; block mode refuses to write over a file
	// that changed since.
	MainSHA256 string            `json:"mainSha256,omitempty"`
	Expect     map[string]string `json:"expect"`
	PIDFile    string            `json:"pidFile,omitempty"`
	// Conns are the connections (user, address, host) whose values apply verifies too, with
	// sshd -T -C, when Match blocks could change them (effective.go).
	Conns []SshdConnCheck `json:"conns,omitempty"`
}

// linuxPlanner collects one Linux host's changes, each with the ops that make it.
type linuxPlanner struct {
	hp  *HostPlan
	rec hoststate.Record
	// names maps key fingerprints to the manifest's key pair names (for KeyView).
	names map[string]string
	// pushMode: accessctl writes authorized_keys on this host (not every group uses pull mode).
	pushMode bool
	// findings are what the plan saw about effective access (foreign-access, login-blocked).
	findings []Finding
	// unbeaten are the Match-block directives (file:line) sshd reads before accessctl's Match
	// all section: apply cannot override them.
	unbeaten map[string]bool
}

// sameSshdValue compares two values of a managed sshd keyword as sshd means them.
func sameSshdValue(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "without-password" {
			s = "prohibit-password"
		}
		return s
	}
	return norm(a) == norm(b)
}

func (p *linuxPlanner) add(a Action, res, name, reason string, before, after any, ops ...Op) {
	p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: a, Resource: res, Name: name, Reason: reason, Before: before, After: after, Ops: ops})
}

// PlanLinux compares a Linux host's live state with what the manifest wants there.
func PlanLinux(m *manifest.Manifest, d *Desired, live *hoststate.Linux, path string, o Options) *HostPlan {
	hp := &HostPlan{
		Name:        d.Host.Name,
		Path:        path,
		Status:      StatusOK,
		Fingerprint: live.Fingerprint,
		Live:        &hoststate.State{OS: "linux", Linux: live},
		Changes:     []Change{},
	}
	if err := planLinux(m, d, live, o, hp); err != nil {
		hp.Status = StatusError
		hp.Error = err.Error()
		hp.Changes = []Change{}
		hp.Apply = nil
	}
	return hp
}

func planLinux(m *manifest.Manifest, d *Desired, live *hoststate.Linux, o Options, hp *HostPlan) error {
	if live.RecordError != "" {
		return fmt.Errorf("accessctl's state file is unusable: %s", live.RecordError)
	}
	p := &linuxPlanner{hp: hp, rec: copyRecord(live.Record), names: keypairNames(m), pushMode: d.PushKeys}
	groupMade := map[string]bool{}
	for _, du := range d.Users {
		if err := p.planUser(m, du, live, o, groupMade); err != nil {
			return err
		}
	}
	if err := p.planRemovals(m, d, live); err != nil {
		return err
	}
	planSudo(d, live, p)
	if err := planPull(m, d, live, o, p); err != nil {
		return err
	}
	want := map[string]string{}
	for k, v := range d.Sshd {
		want[k] = v
	}
	for k, v := range pullSshd(m, d, o) {
		want[k] = v
	}
	if err := planSshd(want, live, p); err != nil {
		return err
	}
	p.planEffectiveSudo(d, live)
	p.loginBlocked(d, live, o.Today)
	p.matchFindings(d, live)
	p.keyCommandFindings(d, live, want)
	markBlocked(hp, live)
	for _, du := range d.Users {
		if a := live.Account(du.Name); a != nil && a.Directory {
			hp.Directory = append(hp.Directory, du.Name)
		}
	}
	hp.Findings = p.findings
	for _, a := range live.Accounts {
		if a.Human() && !d.Named[a.Name] && !live.Record.CreatedUser(a.Name) && a.Name != o.Login {
			hp.Unmanaged = append(hp.Unmanaged, a.Name)
		}
	}
	sort.Strings(hp.Unmanaged)
	if len(hp.Changes) > 0 {
		rec := p.rec
		hp.Apply = &HostApply{Host: d.Host, Root: o.Login == "root", Record: &rec}
	}
	hp.Guard = LinuxGuard(hp.Changes, live.Sudoers, o.Login, o.LoginKeys)
	return nil
}

func keypairNames(m *manifest.Manifest) map[string]string {
	names := map[string]string{}
	for _, k := range m.Keypairs {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey)); err == nil {
			names[ssh.FingerprintSHA256(pk)] = k.Name
		}
	}
	return names
}

// planUser plans one desired user: the account, its groups, password, lock and keys.
func (p *linuxPlanner) planUser(m *manifest.Manifest, du desiredUser, live *hoststate.Linux, o Options, groupMade map[string]bool) error {
	u := du.User
	host := p.hp.Name
	acct := live.Account(u.Name)
	sh, hasShadow := live.Shadow[u.Name]
	locked := hasShadow && sh.Locked() && sh.Expire >= 0 && sh.Expire <= o.Today
	if acct != nil && acct.UID == 0 {
		return fmt.Errorf("user %s has uid 0 on the host; accessctl does not manage it", u.Name)
	}
	if acct == nil {
		op := Op{Kind: OpUserAdd, User: u.Name}
		view := UserView{UID: u.UID, Shell: u.Shell, FullName: u.FullName, State: "active"}
		if u.UID != nil {
			op.Args = append(op.Args, "-u", strconv.Itoa(*u.UID))
		}
		if u.Shell != "" {
			op.Args = append(op.Args, "-s", u.Shell)
		}
		if u.FullName != "" {
			op.Args = append(op.Args, "-c", u.FullName)
		}
		ops := []Op{op}
		if u.State == manifest.StateLocked {
			ops = append(ops, Op{Kind: OpLock, User: u.Name})
			view.State = "locked"
		}
		p.add(Create, ResUser, u.Name, fmt.Sprintf("%s is not on %s", u.Name, host), nil, view, ops...)
		p.rec.Created = appendUnique(p.rec.Created, u.Name)
	} else {
		var args []string
		var before, after UserView
		var what []string
		if u.UID != nil && acct.UID != *u.UID {
			args = append(args, "-u", strconv.Itoa(*u.UID))
			cur := acct.UID
			before.UID, after.UID = &cur, u.UID
			what = append(what, "uid")
		}
		if u.Shell != "" && acct.Shell != u.Shell {
			args = append(args, "-s", u.Shell)
			before.Shell, after.Shell = acct.Shell, u.Shell
			what = append(what, "shell")
		}
		if u.FullName != "" && acct.GECOS != u.FullName && strings.SplitN(acct.GECOS, ",", 2)[0] != u.FullName {
			args = append(args, "-c", u.FullName)
			before.FullName, after.FullName = acct.GECOS, u.FullName
			what = append(what, "full name")
		}
		if len(args) > 0 {
			p.add(Update, ResUser, u.Name, fmt.Sprintf("%s differs from the manifest: %s", u.Name, strings.Join(what, ", ")), before, after,
				Op{Kind: OpUserMod, User: u.Name, Args: args})
		}
		switch {
		case u.State == manifest.StateLocked && !locked:
			p.add(Update, ResUser, u.Name, fmt.Sprintf("%s is locked in the manifest: lock the password and expire the account", u.Name),
				UserView{State: "active"}, UserView{State: "locked"}, Op{Kind: OpLock, User: u.Name})
		case u.State == manifest.StatePresent && hasShadow && sh.Expire == 1:
			why := fmt.Sprintf("%s is locked on %s but present in the manifest", u.Name, host)
			if !sh.Locked() {
				// Expired on day 1, the password not locked: someone expired the account.
				why = fmt.Sprintf("the account of %s expired on %s (day 1) but is present in the manifest: unexpire it", u.Name, host)
			}
			p.add(Update, ResUser, u.Name, why,
				UserView{State: "locked"}, UserView{State: "active"}, Op{Kind: OpUnlock, User: u.Name})
		}
	}

	// Supplementary groups: accessctl adds the ones the manifest lists.
	have := map[string]bool{}
	if acct != nil {
		for _, g := range live.SupplementaryGroups(u.Name) {
			have[g] = true
		}
	}
	for _, g := range u.Groups {
		if !names.Group(g) {
			return fmt.Errorf("user %s: invalid group name %q", u.Name, g)
		}
		if have[g] {
			continue
		}
		var ops []Op
		reason := fmt.Sprintf("%s is not a member of %s", u.Name, g)
		if live.Group(g) == nil {
			reason += " (group created)"
			if !groupMade[g] {
				groupMade[g] = true
				ops = append(ops, Op{Kind: OpGroupAdd, Group: g})
			}
		}
		ops = append(ops, Op{Kind: OpAddGroups, User: u.Name, Groups: []string{g}})
		p.add(Create, ResGroup, u.Name+":"+g, reason, nil, g, ops...)
	}
	// Groups accessctl managed for the user that the manifest no longer lists are left.
	listed := map[string]bool{}
	for _, g := range u.Groups {
		listed[g] = true
	}
	for _, g := range live.Record.Groups[u.Name] {
		if !listed[g] && have[g] && names.Group(g) {
			p.add(Delete, ResGroup, u.Name+":"+g, fmt.Sprintf("%s is a member of %s, which the manifest no longer lists for %s", u.Name, g, u.Name),
				g, nil, Op{Kind: OpDelGroups, User: u.Name, Groups: []string{g}})
		}
	}
	if len(u.Groups) > 0 {
		p.rec.Groups[u.Name] = append([]string(nil), u.Groups...)
	} else {
		delete(p.rec.Groups, u.Name)
	}

	// Password.
	if u.Password != nil {
		matches, mkHash, err := passwordCheck(m, u, o)
		if err != nil {
			return fmt.Errorf("password of %s: %w", u.Name, err)
		}
		cur := strings.TrimLeft(sh.Hash, "!")
		if !hasShadow || !matches(cur) {
			hash, err := mkHash()
			if err != nil {
				return fmt.Errorf("password of %s: %w", u.Name, err)
			}
			ops := []Op{{Kind: OpPassword, User: u.Name, Hash: hash}}
			if u.State == manifest.StateLocked {
				ops = append(ops, Op{Kind: OpLock, User: u.Name}) // chpasswd -e writes an unlocked hash
			}
			if cur == "" || cur == "*" || acct == nil {
				p.add(Create, ResPassword, u.Name, fmt.Sprintf("password of %s is not set", u.Name), "unset", "set", ops...)
			} else {
				p.add(Update, ResPassword, u.Name, fmt.Sprintf("password of %s differs from the manifest", u.Name), "differs", "set", ops...)
			}
		}
	}

	// Keys: exactly the bindings, in a file sshd reads, and none in any other (effective.go).
	p.planKeys(du, u, acct, live)
	if p.pushMode {
		var rec []hoststate.InstalledKey
		if u.State == manifest.StatePresent {
			for _, k := range du.Keys {
				rec = append(rec, hoststate.InstalledKey{Keypair: k.Keypair, Fingerprint: k.Fingerprint})
			}
		}
		if len(rec) > 0 {
			p.rec.Keys[u.Name] = rec
		} else {
			delete(p.rec.Keys, u.Name)
		}
	}
	return nil
}

// planRemovals: absent users everywhere; users accessctl created that are no longer desired.
func (p *linuxPlanner) planRemovals(m *manifest.Manifest, d *Desired, live *hoststate.Linux) error {
	desired := map[string]bool{}
	for _, du := range d.Users {
		desired[du.Name] = true
	}
	for _, a := range live.Accounts {
		var reason string
		removeHome := false
		if u, ok := d.Absent[a.Name]; ok {
			reason = fmt.Sprintf("%s is absent in the manifest", a.Name)
			removeHome = u.RemoveHome
		} else if !desired[a.Name] && live.Record.CreatedUser(a.Name) {
			reason = fmt.Sprintf("%s was created by accessctl and is no longer desired on %s", a.Name, d.Host.Name)
			for i := range m.Users {
				if m.Users[i].Name == a.Name {
					removeHome = m.Users[i].RemoveHome
				}
			}
		} else {
			continue
		}
		if a.UID == 0 {
			return fmt.Errorf("refusing to remove %s: uid 0", a.Name)
		}
		home := "kept"
		if removeHome {
			home = "removed"
		}
		uid := a.UID
		p.add(Delete, ResUser, a.Name, reason, UserView{UID: &uid, Shell: a.Shell, State: "active"}, UserView{State: "absent", Home: home},
			Op{Kind: OpUserDel, User: a.Name, RemoveHome: removeHome})
		p.rec.Created = removeString(p.rec.Created, a.Name)
		delete(p.rec.Keys, a.Name)
		delete(p.rec.Groups, a.Name)
	}
	return nil
}

// passwordCheck returns a test of the live hash against the manifest's password and a maker
// of the hash to set. A hash is only made when it is needed: each costs 5000 SHA-512 rounds.
func passwordCheck(m *manifest.Manifest, u *manifest.User, o Options) (func(string) bool, func() (string, error), error) {
	if h := u.Password.Hash; h != "" {
		if strings.ContainsAny(h, ":\n\r") || strings.HasPrefix(h, "!") {
			return nil, nil, fmt.Errorf("the hash is not a crypt(3) hash")
		}
		return func(cur string) bool { return cur == h }, func() (string, error) { return h, nil }, nil
	}
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	secret, err := m.Secret(u.Password, lookup)
	if err != nil {
		return nil, nil, err
	}
	return func(cur string) bool { return VerifyCrypt(cur, secret) },
		func() (string, error) { return NewSHA512Hash(secret) }, nil
}

func keysChange(user string, want []desiredKey, f hoststate.File) (string, Action) {
	switch f.Kind {
	case hoststate.KindSymlink, hoststate.KindSymlinkDir:
		return fmt.Sprintf("authorized_keys for %s is a symlink (to %s); apply refuses to write through it", user, f.Content), Update
	case hoststate.KindOther:
		return fmt.Sprintf("authorized_keys for %s is not a regular file", user), Update
	case hoststate.KindAbsent, "":
		return fmt.Sprintf("authorized_keys for %s: %s to install", user, plural(len(want), "key", "keys")), Create
	}
	if f.Content == authorizedKeysText(want) || keysEquivalent(want, f) {
		return "", ""
	}
	live, invalid := hoststate.ParseAuthorizedKeys(f.Content)
	wantLines := map[string]bool{}
	wantFP := map[string]*hoststate.KeyLine{}
	keypair := map[string]string{}
	for _, k := range want {
		wantLines[k.Line] = true
		keypair[k.Fingerprint] = k.Keypair
		parsed, _ := hoststate.ParseAuthorizedKeys(k.Line)
		if len(parsed) == 1 {
			wantFP[k.Fingerprint] = &parsed[0]
		} else {
			wantFP[k.Fingerprint] = &hoststate.KeyLine{Fingerprint: k.Fingerprint}
		}
	}
	haveLines := map[string]bool{}
	extra, options, comments := 0, 0, 0
	var commentDiffs []string
	for _, k := range live {
		haveLines[k.Line] = true
		if wantLines[k.Line] {
			continue
		}
		w, ok := wantFP[k.Fingerprint]
		switch {
		case !ok:
			extra++
		case slices.Equal(w.Options, k.Options):
			// Same key, same options: the line differs only in its comment.
			comments++
			commentDiffs = append(commentDiffs, fmt.Sprintf("%s comment %q, want %q", keypair[k.Fingerprint], k.Comment, w.Comment))
		default:
			options++
		}
	}
	missing := 0
	for _, k := range want {
		if !haveLines[k.Line] {
			missing++
		}
	}
	missing -= options + comments
	var parts []string
	if extra > 0 {
		parts = append(parts, plural(extra, "key", "keys")+" not in the manifest")
	}
	if missing > 0 {
		parts = append(parts, plural(missing, "key", "keys")+" missing")
	}
	if options > 0 {
		parts = append(parts, plural(options, "key has", "keys have")+" other options")
	}
	if comments > 0 {
		parts = append(parts, plural(comments, "key differs", "keys differ")+" only in the comment ("+strings.Join(commentDiffs, "; ")+")")
	}
	if invalid > 0 {
		if invalid == 1 {
			parts = append(parts, "1 line that is not a key")
		} else {
			parts = append(parts, fmt.Sprintf("%d lines that are not keys", invalid))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "not in the form accessctl writes")
	}
	return fmt.Sprintf("authorized_keys for %s: %s", user, strings.Join(parts, ", ")), Update
}

func countKeys(f hoststate.File) int {
	if f.Kind != hoststate.KindFile {
		return 0
	}
	k, _ := hoststate.ParseAuthorizedKeys(f.Content)
	return len(k)
}

// SudoersHeader is the first line of the sudoers drop-in.
const SudoersHeader = "# managed by accessctl; do not edit"

var sudoLineRE = regexp.MustCompile(`^(\S+)\s+ALL\s*=\s*\(ALL(?::ALL)?\)\s+(NOPASSWD:\s*)?ALL$`)

func sudoLine(name, level string) string {
	if level == manifest.SudoNoPasswd {
		return name + " ALL=(ALL:ALL) NOPASSWD: ALL"
	}
	return name + " ALL=(ALL:ALL) ALL"
}

func sudoWords(level string) string {
	switch level {
	case manifest.SudoNoPasswd:
		return "ALL without password"
	case manifest.SudoPassword:
		return "ALL with password"
	}
	return "none"
}

// sudoLevels reads the rules of accessctl's sudoers drop-in: user -> level, in file order.
func sudoLevels(f hoststate.File) (map[string]string, []string) {
	level := map[string]string{}
	var order []string
	if f.Kind != hoststate.KindFile {
		return level, nil
	}
	for _, l := range strings.Split(f.Content, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if mm := sudoLineRE.FindStringSubmatch(l); mm != nil {
			lvl := manifest.SudoPassword
			if mm[2] != "" {
				lvl = manifest.SudoNoPasswd
			}
			if _, dup := level[mm[1]]; !dup {
				order = append(order, mm[1])
			}
			level[mm[1]] = lvl
		}
	}
	return level, order
}

func sudoView(name, level string) any {
	if level == "" || level == manifest.SudoNone {
		return nil
	}
	return SudoView{Rule: sudoLine(name, level), File: hoststate.SudoersPath}
}

// planSudo plans accessctl's sudoers drop-in. Every sudo change carries the one op that writes
// (or removes) the whole file.
func planSudo(d *Desired, live *hoststate.Linux, p *linuxPlanner) {
	liveLevel, liveOrder := sudoLevels(live.Sudoers)
	var b strings.Builder
	b.WriteString(SudoersHeader + "\n")
	wantLevel := map[string]bool{}
	n := 0
	type pending struct {
		a             Action
		name, reason  string
		before, after any
	}
	var cs []pending
	for _, du := range d.Users {
		if du.Sudo == "" || du.Sudo == manifest.SudoNone {
			continue
		}
		n++
		wantLevel[du.Name] = true
		b.WriteString(sudoLine(du.Name, du.Sudo) + "\n")
		switch cur, ok := liveLevel[du.Name]; {
		case !ok && sudoGranted(live, du.Name, du.Sudo):
			// Granted by another rule (a group, another sudoers file): nothing to do.
		case !ok:
			cs = append(cs, pending{Create, du.Name, fmt.Sprintf("%s may run %s in the manifest", du.Name, sudoWords(du.Sudo)), nil, sudoView(du.Name, du.Sudo)})
		case cur != du.Sudo:
			cs = append(cs, pending{Update, du.Name, fmt.Sprintf("sudo for %s is %s, the manifest says %s", du.Name, sudoWords(cur), sudoWords(du.Sudo)), sudoView(du.Name, cur), sudoView(du.Name, du.Sudo)})
		}
	}
	deleted := 0
	for _, name := range liveOrder {
		if !wantLevel[name] {
			deleted++
			cs = append(cs, pending{Delete, name, fmt.Sprintf("sudo for %s is not granted in the manifest on %s", name, d.Host.Name), sudoView(name, liveLevel[name]), nil})
		}
	}
	want := b.String()
	var op Op
	switch {
	case n == 0 && !live.Sudoers.Exists():
		return
	case n == 0:
		op = Op{Kind: OpSudoersRemove, Path: hoststate.SudoersPath}
		if deleted == 0 {
			cs = append(cs, pending{Delete, hoststate.SudoersPath, "no user has sudo here in the manifest", "file", nil})
		}
	case live.Sudoers.Kind == hoststate.KindFile && live.Sudoers.Content == want:
		return
	case len(cs) == 0 && !live.Sudoers.Exists():
		// Every right is granted by other rules (sudoGranted): no drop-in is needed.
		return
	default:
		op = Op{Kind: OpSudoers, Path: hoststate.SudoersPath, Content: &want}
		if len(cs) == 0 {
			cs = append(cs, pending{Update, hoststate.SudoersPath, "the sudoers drop-in is not in the form accessctl writes", "differs", "rewritten"})
		}
	}
	for _, c := range cs {
		p.add(c.a, ResSudo, c.name, c.reason, c.before, c.after, op)
	}
}

// SshdHeader is the first line of accessctl's sshd settings.
const SshdHeader = "# managed by accessctl; do not edit"

func planSshd(want map[string]string, live *hoststate.Linux, p *linuxPlanner) error {
	if len(want) == 0 {
		return nil
	}
	if live.Effective.Server == "dropbear" {
		// dropbear has no sshd_config: the manifest's sshd settings cannot be made here.
		p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: Update, Resource: ResSshd, Name: "sshd_config",
			Reason:  "the host's SSH server is dropbear, which reads no sshd_config",
			Blocked: "the SSH server is dropbear: sshd settings (" + strings.Join(sortedKeys(want), ", ") + ") cannot be applied; set dropbear's options (e.g. -s: no password logins) instead"})
		return nil
	}
	if live.SshdTError != "" {
		return fmt.Errorf("sshd -T failed on the host: %s", hoststate.Bounded(live.SshdTError))
	}
	if live.SshdConfig.Kind != hoststate.KindFile {
		return fmt.Errorf("%s is not a regular file (%s)", hoststate.SshdConfigPath, live.SshdConfig.Kind)
	}
	kws := make([]string, 0, len(want))
	for k := range want {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	var body strings.Builder
	for _, k := range kws {
		body.WriteString(sshdKeywords[k] + " " + want[k] + "\n")
	}
	op := &SshdOp{Expect: want, PIDFile: live.PIDFile, DropIn: live.IncludesDropInsFirst(kws)}
	var plannedMain *string
	plannedDropIns := live.DropIns
	var inPlace bool
	var target string
	if op.DropIn {
		target = hoststate.SshdDropInDir + "/" + hoststate.SshdDropIn
		op.Content = SshdHeader + "\n" + body.String()
		if live.Effective.MatchBlocks {
			// The first matching block wins for each connection: this one, at the end of the
			// earliest drop-in, comes before every other Match block (effective.go).
			op.Content += sshdMatchAll(body.String())
		}
		plannedDropIns = nil
		found := false
		for _, di := range live.DropIns {
			if di.Name == hoststate.SshdDropIn {
				inPlace = di.Kind == hoststate.KindFile && di.Content == op.Content
				di = hoststate.DropIn{Name: di.Name, File: hoststate.File{Kind: hoststate.KindFile, Content: op.Content}}
				found = true
			}
			plannedDropIns = append(plannedDropIns, di)
		}
		if !found {
			plannedDropIns = append(plannedDropIns, hoststate.DropIn{Name: hoststate.SshdDropIn, File: hoststate.File{Kind: hoststate.KindFile, Content: op.Content}})
			sort.Slice(plannedDropIns, func(i, j int) bool { return plannedDropIns[i].Name < plannedDropIns[j].Name })
		}
	} else {
		target = hoststate.SshdConfigPath
		main := live.SshdConfig.Content
		block := hoststate.BlockBegin + "\n" + body.String() + hoststate.BlockEnd + "\n"
		op.Content = block + hoststate.RemoveManagedBlock(main)
		if live.Effective.MatchBlocks {
			// Without an Include, a Match all section captures every line after it up to the
			// next Match: it goes right before the first one.
			op.Content = block + insertBeforeFirstMatch(hoststate.RemoveManagedBlock(main),
				hoststate.BlockBegin+"\n"+sshdMatchAll(body.String())+hoststate.BlockEnd+"\n")
		}
		inPlace = op.Content == main
		sum := sha256.Sum256([]byte(main))
		op.MainSHA256 = hex.EncodeToString(sum[:])
		plannedMain = &op.Content
	}
	now := live.SshdLayout(nil, nil)
	after := live.SshdLayout(plannedMain, plannedDropIns)
	blockLines := len(kws) + 2
	// A Match block sshd reads before accessctl's Match all section (in a drop-in that sorts
	// before accessctl's, or in sshd_config above the Include) wins for the connections it
	// matches: apply cannot beat it, so the change is blocked, naming it.
	unbeaten := map[string]hoststate.Directive{}
	if op.DropIn && live.Effective.MatchBlocks {
		last := map[string]int{}
		for i, d := range after {
			if d.File == target {
				last[d.Keyword] = i
			}
		}
		for i, d := range after {
			w, ok := want[d.Keyword]
			if _, seen := unbeaten[d.Keyword]; seen || !ok || d.Match == "" || d.File == target {
				continue
			}
			if i < last[d.Keyword] && !sameSshdValue(d.Value, w) {
				unbeaten[d.Keyword] = d
				if p.unbeaten == nil {
					p.unbeaten = map[string]bool{}
				}
				p.unbeaten[d.Where()] = true
			}
		}
	}
	unbeatenWhy := func(k string) string {
		d, ok := unbeaten[k]
		if !ok {
			return ""
		}
		return fmt.Sprintf("a Match block at %s (%s) wins: it sets %s %s for the connections it matches, and sshd reads it before accessctl's Match all section in %s; change or remove it there", d.Where(), d.Match, k, d.Value, target)
	}
	type pending struct {
		name, reason  string
		before, after any
		blocked       string
	}
	var cs []pending
	for _, k := range kws {
		wantV := want[k]
		cur := live.SshdT[k]
		if cur == wantV {
			continue
		}
		reason := fmt.Sprintf("sshd %s is %s, the manifest says %s", k, orNone(cur), wantV)
		before := SshdView{Value: orNone(cur)}
		if top, _ := hoststate.Winner(now, k); top != nil {
			reason += " (set at " + top.Where() + ")"
			before.Where = top.Where()
		}
		blocked := unbeatenWhy(k)
		if top, _ := hoststate.Winner(after, k); top != nil && top.Value != wantV &&
			!(top.File == target && (op.DropIn || top.Line <= blockLines)) {
			reason += "; " + top.Where() + " would still win"
			blocked = fmt.Sprintf("%s wins: it sets %s %s and sshd reads it before accessctl's %s (the first value wins); change or remove it there", top.Where(), k, top.Value, target)
		}
		cs = append(cs, pending{k, reason, before, SshdView{Value: wantV, Where: target}, blocked})
	}
	op.Conns = connChecks(live)
	mism := connMismatches(want, live)
	for _, k := range kws {
		if live.SshdT[k] != want[k] || len(mism[k]) == 0 {
			continue
		}
		c := mism[k][0]
		from := c.Addr
		if c.Local != "" {
			from += " (" + c.Local + ")"
		}
		reason := fmt.Sprintf("sshd %s is %s for %s from %s, the manifest says %s", k, c.Values[k], c.User, from, want[k])
		if _, matches := hoststate.Winner(now, k); len(matches) > 0 {
			reason += " (a Match block at " + matches[0].Where() + ")"
		}
		cs = append(cs, pending{k, reason, SshdView{Value: c.Values[k]}, SshdView{Value: want[k], Where: target}, unbeatenWhy(k)})
	}
	// An unbeatable Match block for connections of no managed user: blocked all the same (the
	// manifest speaks of every connection).
	for _, k := range kws {
		d, ok := unbeaten[k]
		if !ok {
			continue
		}
		has := false
		for _, c := range cs {
			has = has || c.name == k
		}
		if !has {
			cs = append(cs, pending{k, fmt.Sprintf("sshd %s is %s for connections that match %s (%s), the manifest says %s", k, d.Value, d.Match, d.Where(), want[k]),
				SshdView{Value: d.Value, Where: d.Where()}, SshdView{Value: want[k], Where: target}, unbeatenWhy(k)})
		}
	}
	if len(cs) == 0 && !inPlace {
		cs = append(cs, pending{target, "accessctl's sshd settings are not written in " + target + " (the effective values already match)", nil, "written", ""})
	}
	for _, c := range cs {
		p.add(Update, ResSshd, c.name, c.reason, c.before, c.after, Op{Kind: OpSshd, Sshd: op})
		p.hp.Changes[len(p.hp.Changes)-1].Blocked = c.blocked
	}
	if len(cs) > 0 {
		p.rec.Sshd = want
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func copyRecord(r hoststate.Record) hoststate.Record {
	c := hoststate.Record{FormatVersion: "1", Created: append([]string(nil), r.Created...), Keys: map[string][]hoststate.InstalledKey{},
		Groups: map[string][]string{}}
	for k, v := range r.Groups {
		c.Groups[k] = append([]string(nil), v...)
	}
	for k, v := range r.Keys {
		c.Keys[k] = append([]hoststate.InstalledKey(nil), v...)
	}
	for k, v := range r.Sshd {
		if c.Sshd == nil {
			c.Sshd = map[string]string{}
		}
		c.Sshd[k] = v
	}
	return c
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	s = append(s, v)
	sort.Strings(s)
	return s
}

func removeString(s []string, v string) []string {
	out := s[:0:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
