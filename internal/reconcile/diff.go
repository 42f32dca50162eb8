package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// userOp is what the apply script does to one account.
type userOp struct {
	Name       string
	Create     bool
	Opts       []string // useradd/usermod options and their values, quoted by the script writer
	AddGroups  []string
	Lock       bool
	Unlock     bool
	Delete     bool
	RemoveHome bool
	Keys       *string // whole authorized_keys text, nil when untouched
}

type SshdOp struct {
	DropIn  bool
	Content string // the drop-in file, or the whole new sshd_config
	// MainSHA256 is the digest of sshd_config as read; block mode refuses to write over a file
	// that changed since.
	MainSHA256 string
	Expect     map[string]string
	PIDFile    string
}

// hostOps is everything the apply script of one host does, decided at plan time.
type hostOps struct {
	Root          bool
	Groups        []string
	Users         []userOp
	Passwords     []string // name:hash lines for chpasswd -e
	Sudoers       *string
	SudoersDelete bool
	Sshd          *SshdOp
	Pull          *PullOp // pull mode (pull.go)
	Record        hoststate.Record
}

var groupNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

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
		hp.ops = nil
	}
	return hp
}

func planLinux(m *manifest.Manifest, d *Desired, live *hoststate.Linux, o Options, hp *HostPlan) error {
	if live.RecordError != "" {
		return fmt.Errorf("accessctl's state file is unusable: %s", live.RecordError)
	}
	ops := &hostOps{Root: o.Login == "root", Record: copyRecord(live.Record)}
	add := func(a Action, res, name, reason, before, after string) {
		hp.Changes = append(hp.Changes, Change{Host: hp.Name, Action: a, Resource: res, Name: name, Reason: reason, Before: before, After: after})
	}
	host := d.Host.Name
	groupSeen := map[string]bool{}

	for _, du := range d.Users {
		u := du.User
		acct := live.Account(u.Name)
		op := userOp{Name: u.Name}
		sh, hasShadow := live.Shadow[u.Name]
		locked := hasShadow && sh.Locked() && sh.Expire >= 0 && sh.Expire <= o.Today
		if acct != nil && acct.UID == 0 {
			return fmt.Errorf("user %s has uid 0 on the host; accessctl does not manage it", u.Name)
		}
		if acct == nil {
			op.Create = true
			var desc []string
			if u.UID != nil {
				op.Opts = append(op.Opts, "-u", strconv.Itoa(*u.UID))
				desc = append(desc, "uid="+strconv.Itoa(*u.UID))
			}
			if u.Shell != "" {
				op.Opts = append(op.Opts, "-s", u.Shell)
				desc = append(desc, "shell="+u.Shell)
			}
			if u.FullName != "" {
				op.Opts = append(op.Opts, "-c", u.FullName)
			}
			if u.State == manifest.StateLocked {
				op.Lock = true
				desc = append(desc, "locked")
			}
			add(Create, ResUser, u.Name, fmt.Sprintf("%s is not on %s", u.Name, host), "", strings.Join(desc, " "))
			ops.Record.Created = appendUnique(ops.Record.Created, u.Name)
		} else {
			var before, after []string
			if u.UID != nil && acct.UID != *u.UID {
				op.Opts = append(op.Opts, "-u", strconv.Itoa(*u.UID))
				before, after = append(before, "uid="+strconv.Itoa(acct.UID)), append(after, "uid="+strconv.Itoa(*u.UID))
			}
			if u.Shell != "" && acct.Shell != u.Shell {
				op.Opts = append(op.Opts, "-s", u.Shell)
				before, after = append(before, "shell="+acct.Shell), append(after, "shell="+u.Shell)
			}
			if u.FullName != "" && acct.GECOS != u.FullName && strings.SplitN(acct.GECOS, ",", 2)[0] != u.FullName {
				op.Opts = append(op.Opts, "-c", u.FullName)
				before, after = append(before, "fullName differs"), append(after, "fullName from the manifest")
			}
			if len(op.Opts) > 0 {
				add(Update, ResUser, u.Name, fmt.Sprintf("%s differs from the manifest: %s", u.Name, strings.Join(before, ", ")), strings.Join(before, " "), strings.Join(after, " "))
			}
			switch {
			case u.State == manifest.StateLocked && !locked:
				op.Lock = true
				add(Update, ResUser, u.Name, fmt.Sprintf("%s is locked in the manifest: lock the password and expire the account", u.Name), "active", "locked")
			case u.State == manifest.StatePresent && hasShadow && sh.Expire == 1:
				op.Unlock = true
				add(Update, ResUser, u.Name, fmt.Sprintf("%s is locked on %s but present in the manifest", u.Name, host), "locked", "active")
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
			if !groupNameRE.MatchString(g) {
				return fmt.Errorf("user %s: invalid group name %q", u.Name, g)
			}
			if have[g] {
				continue
			}
			if live.Group(g) == nil && !groupSeen[g] {
				groupSeen[g] = true
				ops.Groups = append(ops.Groups, g)
			}
			op.AddGroups = append(op.AddGroups, g)
			reason := fmt.Sprintf("%s is not a member of %s", u.Name, g)
			if live.Group(g) == nil {
				reason += " (group created)"
			}
			add(Create, ResGroup, u.Name+":"+g, reason, "", g)
		}

		// Password.
		pwChanged := false
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
				ops.Passwords = append(ops.Passwords, u.Name+":"+hash)
				pwChanged = true
				if cur == "" || cur == "*" || acct == nil {
					add(Create, ResPassword, u.Name, fmt.Sprintf("password of %s is not set", u.Name), "unset", "set")
				} else {
					add(Update, ResPassword, u.Name, fmt.Sprintf("password of %s differs from the manifest", u.Name), "differs", "set")
				}
			}
		}
		if pwChanged && u.State == manifest.StateLocked {
			op.Lock = true // chpasswd -e writes an unlocked hash
		}

		// authorized_keys: exactly the bindings, for users who may log in.
		if d.PushKeys && u.State == manifest.StatePresent {
			want := authorizedKeysText(du.Keys)
			f := live.AuthorizedKeys[u.Name]
			if acct == nil {
				f = hoststate.File{Kind: hoststate.KindAbsent}
			}
			if reason, a := keysChange(u.Name, du.Keys, f); reason != "" && !(a == Create && len(du.Keys) == 0) {
				op.Keys = &want
				add(a, ResKeys, u.Name, reason, plural(countKeys(f), "key", "keys"), plural(len(du.Keys), "key", "keys"))
			}
			var rec []hoststate.InstalledKey
			for _, k := range du.Keys {
				rec = append(rec, hoststate.InstalledKey{Keypair: k.Keypair, Fingerprint: k.Fingerprint})
			}
			if len(rec) > 0 {
				ops.Record.Keys[u.Name] = rec
			} else {
				delete(ops.Record.Keys, u.Name)
			}
		}
		if op.Create || len(op.Opts) > 0 || len(op.AddGroups) > 0 || op.Lock || op.Unlock || op.Keys != nil {
			ops.Users = append(ops.Users, op)
		}
	}

	// Removals: absent users everywhere; users accessctl created that are no longer desired.
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
			reason = fmt.Sprintf("%s was created by accessctl and is no longer desired on %s", a.Name, host)
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
		after := "home kept"
		if removeHome {
			after = "home removed"
		}
		add(Delete, ResUser, a.Name, reason, "uid="+strconv.Itoa(a.UID), after)
		ops.Users = append(ops.Users, userOp{Name: a.Name, Delete: true, RemoveHome: removeHome})
		ops.Record.Created = removeString(ops.Record.Created, a.Name)
		delete(ops.Record.Keys, a.Name)
	}

	if err := planSudo(d, live, ops, add); err != nil {
		return err
	}
	if err := planPull(m, d, live, o, ops, add); err != nil {
		return err
	}
	if err := planSshd(d, live, ops, add); err != nil {
		return err
	}

	for _, a := range live.Accounts {
		if a.Human() && !d.Named[a.Name] && !live.Record.CreatedUser(a.Name) && a.Name != o.Login {
			hp.Unmanaged = append(hp.Unmanaged, a.Name)
		}
	}
	sort.Strings(hp.Unmanaged)
	hp.Guard = guardFor(d, live, o, hp.Changes, ops)
	if len(hp.Changes) > 0 {
		hp.ops = ops
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
	wantFP := map[string]bool{}
	for _, k := range want {
		wantLines[k.Line] = true
		wantFP[k.Fingerprint] = true
	}
	haveLines := map[string]bool{}
	extra, options := 0, 0
	for _, k := range live {
		haveLines[k.Line] = true
		if wantLines[k.Line] {
			continue
		}
		if wantFP[k.Fingerprint] {
			options++
		} else {
			extra++
		}
	}
	missing := 0
	for _, k := range want {
		if !haveLines[k.Line] {
			missing++
		}
	}
	missing -= options
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
	if invalid > 0 {
		parts = append(parts, plural(invalid, "line", "lines")+" that are not keys")
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

func planSudo(d *Desired, live *hoststate.Linux, ops *hostOps, add func(Action, string, string, string, string, string)) error {
	liveLevel := map[string]string{}
	var liveOrder []string
	if live.Sudoers.Kind == hoststate.KindFile {
		for _, l := range strings.Split(live.Sudoers.Content, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if mm := sudoLineRE.FindStringSubmatch(l); mm != nil {
				lvl := manifest.SudoPassword
				if mm[2] != "" {
					lvl = manifest.SudoNoPasswd
				}
				if _, dup := liveLevel[mm[1]]; !dup {
					liveOrder = append(liveOrder, mm[1])
				}
				liveLevel[mm[1]] = lvl
			}
		}
	}
	var b strings.Builder
	b.WriteString(SudoersHeader + "\n")
	wantLevel := map[string]bool{}
	n := 0
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
			add(Create, ResSudo, du.Name, fmt.Sprintf("%s may run %s in the manifest", du.Name, sudoWords(du.Sudo)), "none", sudoWords(du.Sudo))
		case cur != du.Sudo:
			add(Update, ResSudo, du.Name, fmt.Sprintf("sudo for %s is %s, the manifest says %s", du.Name, sudoWords(cur), sudoWords(du.Sudo)), sudoWords(cur), sudoWords(du.Sudo))
		}
	}
	deleted := 0
	for _, name := range liveOrder {
		if !wantLevel[name] {
			deleted++
			add(Delete, ResSudo, name, fmt.Sprintf("sudo for %s is not granted in the manifest on %s", name, d.Host.Name), sudoWords(liveLevel[name]), "none")
		}
	}
	want := b.String()
	switch {
	case n == 0 && !live.Sudoers.Exists():
	case n == 0:
		ops.SudoersDelete = true
		if deleted == 0 {
			add(Delete, ResSudo, hoststate.SudoersPath, "no user has sudo here in the manifest", "file", "none")
		}
	case live.Sudoers.Kind == hoststate.KindFile && live.Sudoers.Content == want:
	default:
		ops.Sudoers = &want
		if deleted == 0 && len(liveOrder) == len(wantLevel) && allSame(liveLevel, d) {
			add(Update, ResSudo, hoststate.SudoersPath, "the sudoers drop-in is not in the form accessctl writes", "differs", "rewritten")
		}
	}
	return nil
}

func allSame(live map[string]string, d *Desired) bool {
	for _, du := range d.Users {
		if du.Sudo != "" && du.Sudo != manifest.SudoNone && live[du.Name] != du.Sudo {
			return false
		}
	}
	return true
}

// SshdHeader is the first line of accessctl's sshd settings.
const SshdHeader = "# managed by accessctl; do not edit"

func planSshd(d *Desired, live *hoststate.Linux, ops *hostOps, add func(Action, string, string, string, string, string)) error {
	if len(d.Sshd) == 0 {
		return nil
	}
	if live.SshdTError != "" {
		return fmt.Errorf("sshd -T failed on the host: %s", firstLine(live.SshdTError))
	}
	if live.SshdConfig.Kind != hoststate.KindFile {
		return fmt.Errorf("%s is not a regular file (%s)", hoststate.SshdConfigPath, live.SshdConfig.Kind)
	}
	kws := make([]string, 0, len(d.Sshd))
	for k := range d.Sshd {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	var body strings.Builder
	for _, k := range kws {
		body.WriteString(sshdKeywords[k] + " " + d.Sshd[k] + "\n")
	}
	op := &SshdOp{Expect: d.Sshd, PIDFile: live.PIDFile, DropIn: live.IncludesDropInsFirst(kws)}
	var plannedMain *string
	plannedDropIns := live.DropIns
	var inPlace bool
	var target string
	if op.DropIn {
		target = hoststate.SshdDropInDir + "/" + hoststate.SshdDropIn
		op.Content = SshdHeader + "\n" + body.String()
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
		inPlace = op.Content == main
		sum := sha256.Sum256([]byte(main))
		op.MainSHA256 = hex.EncodeToString(sum[:])
		plannedMain = &op.Content
	}
	now := live.SshdLayout(nil, nil)
	after := live.SshdLayout(plannedMain, plannedDropIns)
	blockLines := len(kws) + 2
	changed := false
	for _, k := range kws {
		want := d.Sshd[k]
		cur := live.SshdT[k]
		if cur == want {
			continue
		}
		changed = true
		reason := fmt.Sprintf("sshd %s is %s, the manifest says %s", k, orNone(cur), want)
		if top, _ := hoststate.Winner(now, k); top != nil {
			reason += " (set at " + top.Where() + ")"
		}
		if top, _ := hoststate.Winner(after, k); top != nil && top.Value != want &&
			!(top.File == target && (op.DropIn || top.Line <= blockLines)) {
			reason += "; " + top.Where() + " would still win"
		}
		add(Update, ResSshd, k, reason, orNone(cur), want)
	}
	if !changed && !inPlace {
		where := target
		add(Update, ResSshd, where, "accessctl's sshd settings are not written in "+where+" (the effective values already match)", "", "written")
		changed = true
	}
	if changed {
		ops.Sshd = op
		ops.Record.Sshd = d.Sshd
	}
	return nil
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
	c := hoststate.Record{FormatVersion: "1", Created: append([]string(nil), r.Created...), Keys: map[string][]hoststate.InstalledKey{}}
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
