package importer

import (
	"crypto/rsa"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/accessctl/accessctl/internal/access"
	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Host is one inventory host and what was read from it (Linux, with the +access extras), or why
// it could not be read.
type Host struct {
	Host  manifest.Host
	Linux *hoststate.Linux
	Err   error
}

// Result is the drafted manifest and what the run could not express.
type Result struct {
	YAML []byte
	// Notes are the not-expressible findings, also written into YAML as comments.
	Notes []string
	// Skipped names the hosts that could not be read or are not Linux.
	Skipped []string
}

var (
	userNameRE    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	keypairNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	shellRE       = regexp.MustCompile(`^/[A-Za-z0-9._+/-]{0,254}$`)
	// safeComment: what the manifest accepts in a public key's comment (printable ASCII without
	// quotes, backslash, backtick or $), so the comment is kept and the plan compares equal.
	safeComment = regexp.MustCompile("^[ !#%&()*+,./0-9:;<=>?@A-Z\\[\\]^_a-z{|}~-]{1,200}$")
	fromRE      = regexp.MustCompile(`^!?[A-Za-z0-9.*?:-]{1,253}(/[0-9]{1,3})?$`)
)

// userOnHost is one account on one host, as import sees it.
type userOnHost struct {
	host   string
	acct   hoststate.Account
	groups []string
	sudo   string // manifest level, or "partial"
	rules  []string
	locked bool
	keys   []fileKey // from every file sshd reads the user's keys from (AuthorizedKeysFile)
}

// fileKey is a key and the file it is in.
type fileKey struct {
	access.Key
	file string
}

type keyInfo struct {
	fp, publicKey, typ, comment string
	options                     []string
	users                       map[string]bool
	firstUser                   string
}

// Build drafts the manifest from hosts, read at now.
func Build(hosts []Host, now time.Time) (*Result, error) {
	res := &Result{}
	today := int(now.UTC().Unix() / 86400)
	var notes []string
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }

	users := map[string][]*userOnHost{} // name -> per host
	var okHosts []Host
	keys := map[string]*keyInfo{}
	var keyOrder []string
	for _, h := range hosts {
		if h.Err != nil || h.Linux == nil {
			why := "not a Linux host"
			if h.Err != nil {
				why = h.Err.Error()
			}
			res.Skipped = append(res.Skipped, h.Host.Name+": "+why)
			continue
		}
		okHosts = append(okHosts, h)
		l := h.Linux
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
		if cmd := l.SshdT["authorizedkeyscommand"]; cmd != "" && cmd != "none" {
			note("%s: sshd_config AuthorizedKeysCommand %s: keys it returns are not imported", h.Host.Name, cmd)
		}
		for _, a := range l.Accounts {
			files := x.KeyFiles[a.Name]
			nkeys := 0
			for _, f := range files {
				nkeys += len(access.KeysOf(f.Content))
			}
			human := a.UID >= lo && a.UID <= hi
			if a.UID == 0 {
				if nkeys > 0 {
					note("%s: %s has %d key(s) (%s): accessctl does not manage root", h.Host.Name, a.Name, nkeys, fileNames(files))
				}
				continue
			}
			if !human && nkeys == 0 {
				continue
			}
			if !userNameRE.MatchString(a.Name) {
				note("%s: account %q does not fit the manifest's user names: not imported", h.Host.Name, a.Name)
				continue
			}
			u := &userOnHost{host: h.Host.Name, acct: a, groups: l.SupplementaryGroups(a.Name), sudo: manifest.SudoNone}
			if s, ok := x.Sudo[a.Name]; ok {
				u.sudo, u.rules = s.Level(), s.Rules
			}
			if pw, ok := x.Passwords[a.Name]; ok && pw.State == "locked" && pw.Expire >= 0 && pw.Expire <= today {
				u.locked = true
			}
			// Every file sshd reads for the user: a key in any of them logs in (the plan judges
			// them together, so a key left in authorized_keys2 is bound where it is).
			seenFP := map[string]string{}
			for _, f := range files {
				ks := access.KeysOf(f.Content)
				for _, n := range access.InvalidLines(f.Content) {
					note("%s: %s:%d: a line that is not a key", h.Host.Name, f.Path, n)
				}
				for _, k := range ks {
					if prev, dup := seenFP[k.Fingerprint]; dup {
						note("%s: %s:%d: key %s of %s is also in %s: the plan keeps it once", h.Host.Name, f.Path, k.Line, k.Fingerprint, a.Name, prev)
						continue
					}
					seenFP[k.Fingerprint] = fmt.Sprintf("%s:%d", f.Path, k.Line)
					u.keys = append(u.keys, fileKey{Key: k, file: f.Path})
					ki, ok := keys[k.Fingerprint]
					if !ok {
						ki = &keyInfo{fp: k.Fingerprint, publicKey: k.PublicKey, typ: k.Type, comment: k.Comment, users: map[string]bool{}, firstUser: a.Name}
						keys[k.Fingerprint] = ki
						keyOrder = append(keyOrder, k.Fingerprint)
					}
					ki.users[a.Name] = true
					for _, o := range k.Options {
						n, _, _ := strings.Cut(o, "=")
						switch strings.ToLower(n) {
						case "from", "expiry-time":
						default:
							note("%s: %s:%d: option %s of %s's key %s is not expressible: the plan rewrites the line without it", h.Host.Name, f.Path, k.Line, o, a.Name, k.Fingerprint)
						}
					}
				}
			}
			users[a.Name] = append(users[a.Name], u)
		}
	}

	// Key pair names: from the comment when it makes a safe, unique name, else after the user.
	names := map[string]string{}
	used := map[string]bool{}
	sort.SliceStable(keyOrder, func(i, j int) bool { return keys[keyOrder[i]].firstUser < keys[keyOrder[j]].firstUser })
	for _, fp := range keyOrder {
		k := keys[fp]
		base := sanitize(k.comment)
		if base == "" {
			base = k.firstUser + "-key"
		}
		name := base
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		used[name] = true
		names[fp] = name
	}

	// Users: what every host they are on agrees on.
	type userOut struct {
		name     string
		uid      *int
		shell    string
		fullName string
		groups   []string
		sudo     string
		locked   bool
		bindings []binding
		hosts    map[string]bool
		comments []string
	}
	var outUsers []*userOut
	userNames := make([]string, 0, len(users))
	for n := range users {
		userNames = append(userNames, n)
	}
	sort.Strings(userNames)
	for _, n := range userNames {
		per := users[n]
		uo := &userOut{name: n, hosts: map[string]bool{}}
		first := per[0]
		sameUID, sameShell, sameName, sameSudo, sameLocked := true, true, true, true, true
		for _, p := range per {
			uo.hosts[p.host] = true
			sameUID = sameUID && p.acct.UID == first.acct.UID
			sameShell = sameShell && p.acct.Shell == first.acct.Shell
			sameName = sameName && gecosName(p.acct.GECOS) == gecosName(first.acct.GECOS)
			sameSudo = sameSudo && p.sudo == first.sudo
			sameLocked = sameLocked && p.locked == first.locked
		}
		if sameUID {
			v := first.acct.UID
			uo.uid = &v
		} else {
			uo.comments = append(uo.comments, "uid differs between hosts: "+hostValues(per, func(p *userOnHost) string { return strconv.Itoa(p.acct.UID) }))
		}
		if sameShell && shellRE.MatchString(first.acct.Shell) {
			uo.shell = first.acct.Shell
		} else if !sameShell {
			uo.comments = append(uo.comments, "shell differs between hosts: "+hostValues(per, func(p *userOnHost) string { return p.acct.Shell }))
		}
		if fn := gecosName(first.acct.GECOS); sameName && fn != "" && !strings.ContainsAny(fn, ":\\\"`$") && safeComment.MatchString(fn) {
			uo.fullName = fn
		}
		uo.locked = first.locked && sameLocked
		if !sameLocked {
			uo.comments = append(uo.comments, "locked on some hosts only: "+hostValues(per, func(p *userOnHost) string { return strconv.FormatBool(p.locked) }))
		}
		switch {
		case !sameSudo:
			uo.comments = append(uo.comments, "sudo differs between hosts, not imported: "+hostValues(per, func(p *userOnHost) string { return p.sudo }))
			uo.sudo = manifest.SudoNone
		case first.sudo == "partial":
			uo.comments = append(uo.comments, "sudo rules that sudo: true|nopasswd cannot express, kept on the hosts: "+strings.Join(first.rules, "; "))
			uo.sudo = manifest.SudoNone
		default:
			uo.sudo = first.sudo
		}
		// Groups every host has the user in.
		common := map[string]int{}
		for _, p := range per {
			for _, g := range p.groups {
				common[g]++
			}
		}
		for g, c := range common {
			if c == len(per) && userNameRE.MatchString(g) {
				uo.groups = append(uo.groups, g)
			} else if c != len(per) {
				uo.comments = append(uo.comments, "member of "+g+" on some hosts only")
			}
		}
		sort.Strings(uo.groups)
		uo.comments = sortedUnique(uo.comments)
		// Keys: the ones every host has (with the same from/expiry); the rest are comments.
		bindingsBy := map[string]binding{}
		count := map[string]int{}
		var order []string
		for _, p := range per {
			for _, k := range p.keys {
				b, problem := bindingOf(names[k.Fingerprint], k.Key)
				if problem != "" {
					uo.comments = append(uo.comments, fmt.Sprintf("%s:%s:%d: %s", p.host, k.file, k.Line, problem))
				}
				if prev, ok := bindingsBy[k.Fingerprint]; ok && !sameBinding(prev, b) {
					uo.comments = append(uo.comments, fmt.Sprintf("%s:%s:%d: key %s has other from/expiry options than on another host", p.host, k.file, k.Line, names[k.Fingerprint]))
					continue
				}
				if _, ok := bindingsBy[k.Fingerprint]; !ok {
					order = append(order, k.Fingerprint)
				}
				bindingsBy[k.Fingerprint] = b
				count[k.Fingerprint]++
			}
		}
		for _, fp := range order {
			if count[fp] == len(per) {
				uo.bindings = append(uo.bindings, bindingsBy[fp])
			} else {
				uo.comments = append(uo.comments, "key pair "+names[fp]+" is on some of "+n+"'s hosts only: not bound (the plan removes it where it is)")
			}
		}
		outUsers = append(outUsers, uo)
	}

	// Host groups by identical access: hosts with the same set of users.
	type group struct {
		name  string
		users []string
		hosts []string
	}
	byKey := map[string]*group{}
	var groups []*group
	hostGroup := map[string]string{}
	for _, h := range okHosts {
		var us []string
		for _, u := range outUsers {
			if u.hosts[h.Host.Name] {
				us = append(us, u.name)
			}
		}
		key := strings.Join(us, ",")
		g, ok := byKey[key]
		if !ok {
			g = &group{users: us}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.hosts = append(g.hosts, h.Host.Name)
	}
	// Inventory groups keep their names: the users every host of the group has, so `plan -i`
	// with the inventory's own groups also plans nothing.
	invGroups := map[string][]string{}
	var invOrder []string
	for _, h := range hosts {
		for _, g := range h.Host.Groups {
			if _, ok := invGroups[g]; !ok {
				invOrder = append(invOrder, g)
			}
			invGroups[g] = append(invGroups[g], h.Host.Name)
		}
	}
	taken := map[string]bool{}
	for _, g := range invOrder {
		taken[g] = true
	}
	hostUsers := map[string]map[string]bool{}
	for _, u := range outUsers {
		for h := range u.hosts {
			if hostUsers[h] == nil {
				hostUsers[h] = map[string]bool{}
			}
			hostUsers[h][u.name] = true
		}
	}
	// invUsers are the users of the inventory groups: those every host of the group has.
	invUsers := map[string][]string{}
	for _, g := range invOrder {
		for _, u := range outUsers {
			all := len(invGroups[g]) > 0
			for _, h := range invGroups[g] {
				all = all && hostUsers[h][u.name]
			}
			if all {
				invUsers[g] = append(invUsers[g], u.name)
			}
		}
	}
	hostInv := map[string][]string{}
	for _, h := range hosts {
		hostInv[h.Host.Name] = h.Host.Groups
	}
	var kept []*group
	for _, g := range groups {
		// A group is only written when the inventory's groups do not already give its hosts
		// exactly their users.
		covered := true
		for _, h := range g.hosts {
			have := map[string]bool{}
			for _, ig := range hostInv[h] {
				for _, u := range invUsers[ig] {
					have[u] = true
				}
			}
			covered = covered && len(have) == len(g.users)
		}
		if covered {
			continue
		}
		base := groupBase(g.hosts) + "-access"
		name := base
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		taken[name] = true
		g.name = name
		for _, h := range g.hosts {
			hostGroup[h] = name
		}
		kept = append(kept, g)
	}
	groups = kept

	// Write it.
	var b strings.Builder
	b.WriteString("# Drafted by `accessctl import` on " + now.UTC().Format(time.DateOnly) + " from the hosts as they were.\n")
	b.WriteString("# Review it before you commit it: every account, key and sudo right below is what the hosts\n")
	b.WriteString("# grant today. Passwords are never imported. Comments name what the manifest cannot express.\n")
	if len(res.Skipped) > 0 {
		b.WriteString("#\n# Hosts not read (not in this draft):\n")
		for _, s := range res.Skipped {
			b.WriteString("#   " + commentText(s) + "\n")
		}
	}
	if len(notes) > 0 {
		b.WriteString("#\n# Not expressible in the manifest (left on the hosts as they are):\n")
		for _, n := range sortedUnique(notes) {
			b.WriteString("#   " + commentText(n) + "\n")
		}
	}
	b.WriteString("apiVersion: accessctl/v1\n")
	if len(keyOrder) > 0 {
		b.WriteString("\nkeypairs:\n")
		for _, fp := range keyOrder {
			k := keys[fp]
			line := k.publicKey
			if k.comment != "" && safeComment.MatchString(k.comment) {
				line += " " + k.comment
			}
			fmt.Fprintf(&b, "  - name: %s   # %s\n    publicKey: %s\n", names[fp], fp, scalar(line))
		}
	}
	// Keys the built-in key-algorithm rule denies (ssh-dss, RSA under 2048 bits) would make every
	// plan refuse to run: they get a dated exception, so the review sees them and the fleet can
	// still be planned while they are replaced.
	var weak []string
	for _, fp := range keyOrder {
		if weakKey(keys[fp].publicKey) {
			weak = append(weak, fp)
		}
	}
	if len(outUsers) > 0 {
		b.WriteString("\nusers:\n")
	}
	for _, u := range outUsers {
		for _, c := range u.comments {
			b.WriteString("  # " + commentText(u.name+": "+c) + "\n")
		}
		fmt.Fprintf(&b, "  - name: %s\n", u.name)
		if u.fullName != "" {
			fmt.Fprintf(&b, "    fullName: %s\n", scalar(u.fullName))
		}
		if u.uid != nil {
			fmt.Fprintf(&b, "    uid: %d\n", *u.uid)
		}
		if u.shell != "" {
			fmt.Fprintf(&b, "    shell: %s\n", scalar(u.shell))
		}
		if len(u.groups) > 0 {
			fmt.Fprintf(&b, "    groups: [%s]\n", strings.Join(u.groups, ", "))
		}
		if u.sudo != manifest.SudoNone {
			fmt.Fprintf(&b, "    sudo: %s\n", u.sudo)
		}
		if u.locked {
			b.WriteString("    state: locked\n")
		}
		if len(u.bindings) > 0 {
			b.WriteString("    keypairs:\n")
			for _, bd := range u.bindings {
				if len(bd.from) == 0 && bd.expires == "" {
					fmt.Fprintf(&b, "      - %s\n", bd.keypair)
					continue
				}
				fmt.Fprintf(&b, "      - keypair: %s\n", bd.keypair)
				if len(bd.from) > 0 {
					var qs []string
					for _, f := range bd.from {
						qs = append(qs, scalar(f))
					}
					fmt.Fprintf(&b, "        from: [%s]\n", strings.Join(qs, ", "))
				}
				if bd.expires != "" {
					fmt.Fprintf(&b, "        expires: %s\n", bd.expires)
				}
			}
		} else {
			b.WriteString("    keypairs: []\n")
		}
	}
	b.WriteString("\nhostGroups:\n")
	for _, g := range invOrder {
		fmt.Fprintf(&b, "  # inventory group %s (%s): the users all its hosts have\n  - name: %s\n    users: [%s]\n",
			g, strings.Join(invGroups[g], ", "), g, strings.Join(invUsers[g], ", "))
		if sshd := sshdComment(okHosts, invGroups[g]); sshd != "" {
			b.WriteString(sshd)
		}
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "  # hosts with this access: %s\n  - name: %s\n    users: [%s]\n", strings.Join(g.hosts, ", "), g.name, strings.Join(g.users, ", "))
		if sshd := sshdComment(okHosts, g.hosts); sshd != "" {
			b.WriteString(sshd)
		}
	}
	if len(weak) > 0 {
		b.WriteString("\npolicy:\n  exceptions:\n")
		for _, fp := range weak {
			fmt.Fprintf(&b, "    - rule: key-algorithm\n      keypair: %s\n      reason: %s\n      expires: %s\n", names[fp],
				scalar("imported as found on the hosts; replace this key, then remove this exception"), now.UTC().AddDate(0, 0, 30).Format(time.DateOnly))
			notes = append(notes, fmt.Sprintf("key pair %s (%s) is one the key-algorithm rule denies: waived for 30 days", names[fp], keys[fp].typ))
		}
	}
	b.WriteString("\nhosts:\n")
	for _, h := range hosts {
		hh := h.Host
		gs := append([]string(nil), hh.Groups...)
		if gname, ok := hostGroup[hh.Name]; ok {
			gs = append(gs, gname)
		}
		fmt.Fprintf(&b, "  - name: %s\n", scalar(hh.Name))
		if hh.Address != "" && hh.Address != hh.Name {
			fmt.Fprintf(&b, "    address: %s\n", scalar(hh.Address))
		}
		if hh.Port != 0 && hh.Port != 22 {
			fmt.Fprintf(&b, "    port: %d\n", hh.Port)
		}
		if hh.OS != "" && hh.OS != "linux" {
			fmt.Fprintf(&b, "    os: %s\n", hh.OS)
		}
		if hh.Transport != "" && hh.Transport != "ssh" {
			fmt.Fprintf(&b, "    transport: %s\n", hh.Transport)
		}
		if hh.User != "" {
			fmt.Fprintf(&b, "    user: %s\n", scalar(hh.User))
		}
		fmt.Fprintf(&b, "    groups: [%s]\n", strings.Join(gs, ", "))
	}
	res.YAML = []byte(b.String())
	res.Notes = sortedUnique(notes)
	for _, u := range outUsers {
		for _, c := range u.comments {
			res.Notes = append(res.Notes, u.name+": "+c)
		}
	}
	return res, nil
}

type binding struct {
	keypair string
	from    []string
	expires string
}

func sameBinding(a, b binding) bool {
	return a.keypair == b.keypair && strings.Join(a.from, ",") == strings.Join(b.from, ",") && a.expires == b.expires
}

// bindingOf turns a live key line's from= and expiry-time= into a binding; problem says what
// could not be expressed.
func bindingOf(name string, k access.Key) (binding, string) {
	b := binding{keypair: name}
	var problems []string
	for _, o := range k.Options {
		n, v, _ := strings.Cut(o, "=")
		v = strings.Trim(v, `"`)
		switch strings.ToLower(n) {
		case "from":
			for _, f := range strings.Split(v, ",") {
				if fromRE.MatchString(f) {
					b.from = append(b.from, f)
				} else {
					problems = append(problems, "from pattern "+f+" is not expressible")
				}
			}
		case "expiry-time":
			if len(v) == 8 && strings.Trim(v, "0123456789") == "" {
				b.expires = v[:4] + "-" + v[4:6] + "-" + v[6:]
			} else {
				problems = append(problems, "expiry-time "+v+" is not a whole day")
			}
		}
	}
	return b, strings.Join(problems, "; ")
}

// sshdComment shows the managed sshd settings the hosts agree on, commented out: managing them
// makes the first apply write accessctl's drop-in (docs/access.md).
func sshdComment(hosts []Host, names []string) string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	keys := []struct{ kw, field string }{
		{"passwordauthentication", "passwordAuthentication"},
		{"pubkeyauthentication", "pubkeyAuthentication"},
		{"kbdinteractiveauthentication", "kbdInteractiveAuthentication"},
		{"permitrootlogin", "permitRootLogin"},
	}
	var parts []string
	for _, k := range keys {
		val, same, seen := "", true, false
		for _, h := range hosts {
			if !in[h.Host.Name] {
				continue
			}
			v := h.Linux.SshdT[k.kw]
			if seen && v != val {
				same = false
			}
			val, seen = v, true
		}
		if !same || val == "" {
			continue
		}
		switch k.kw {
		case "permitrootlogin":
			parts = append(parts, fmt.Sprintf("%s: %q", k.field, val))
		default:
			parts = append(parts, fmt.Sprintf("%s: %t", k.field, val == "yes"))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "    # sshd as these hosts have it; uncomment to manage it (the next apply then writes\n" +
		"    # accessctl's sshd drop-in or block):\n    # sshd: {" + strings.Join(parts, ", ") + "}\n"
}

// groupBase names a host group after its hosts: their common name prefix without trailing
// digits and dashes ("web-1", "web-2" -> "web"), else "hosts".
func groupBase(hosts []string) string {
	p := hosts[0]
	for _, h := range hosts[1:] {
		for !strings.HasPrefix(h, p) {
			p = p[:len(p)-1]
		}
	}
	p = strings.TrimRight(p, "0123456789-_.")
	p = sanitize(p)
	if p == "" || !keypairNameRE.MatchString(p) {
		return "hosts"
	}
	return p
}

// sanitize makes a name of [A-Za-z0-9_-] from text ("alice@laptop" -> "alice-laptop"), or "".
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 128 && (r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 48 {
		out = strings.Trim(out[:48], "-")
	}
	return out
}

func gecosName(g string) string {
	n, _, _ := strings.Cut(g, ",")
	return strings.TrimSpace(n)
}

func hostValues(per []*userOnHost, f func(*userOnHost) string) string {
	var parts []string
	for _, p := range per {
		parts = append(parts, p.host+"="+f(p))
	}
	return strings.Join(parts, ", ")
}

func fileNames(fs []hoststate.KeyFile) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return strings.Join(out, ", ")
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// commentText keeps a comment on one line of printable text.
func commentText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// scalar renders s as a YAML scalar that reads back as exactly s.
func scalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// weakKey reports whether the key-algorithm rule's defaults deny the key: ssh-dss, RSA under
// 2048 bits.
func weakKey(line string) bool {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return false
	}
	if pk.Type() == ssh.KeyAlgoDSA {
		return true
	}
	if ck, ok := pk.(ssh.CryptoPublicKey); ok {
		if r, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
			return r.N.BitLen() < 2048
		}
	}
	return false
}
