package reconcile

import (
	"sort"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// readExtras is what the plan asks the host read for beyond its own sections: `sudo -l -U` for
// the users who should have sudo (the script skips those its drop-in already names), so a right
// granted another way (a group rule, another sudoers file) counts as granted (SPEC §1: "sudo:
// true" means `sudo -l -U` grants it); and the login records with --usage.
func readExtras(d *Desired, o Options) hoststate.ReadExtras {
	x := hoststate.ReadExtras{Usage: o.Usage}
	for _, du := range d.Users {
		if du.Sudo != "" && du.Sudo != manifest.SudoNone && hoststate.ValidUserName(du.Name) {
			x.Sudo = append(x.Sudo, du.Name)
		}
	}
	return x
}

// sudoGranted reports whether the host already grants user exactly level by some other rule.
func sudoGranted(live *hoststate.Linux, user, level string) bool {
	if live.Extra == nil {
		return false
	}
	s, ok := live.Extra.Sudo[user]
	return ok && s.Level() == level
}

// keysEquivalent reports whether an authorized_keys file holds exactly the wanted key lines in
// another form: the same keys (by fingerprint, each once) with the same options (from= lists as
// sets) and the same comments, and no line that is not a key (sshd might read a key this parser
// does not know). Comment lines, blank lines, the header and the order do not matter: they grant
// nothing. Any other difference, a comment or an option (even one that only restricts the key),
// stays a change, as keysChange reports it.
func keysEquivalent(want []desiredKey, f hoststate.File) bool {
	return keysEquivalentAll(want, []hoststate.File{f})
}

// keysEquivalentAll is keysEquivalent over every file sshd reads for the user: together they
// hold exactly the wanted keys, each once in all of them.
func keysEquivalentAll(want []desiredKey, files []hoststate.File) bool {
	var live []hoststate.KeyLine
	for _, f := range files {
		if f.Kind != hoststate.KindFile {
			if f.Kind == hoststate.KindAbsent || f.Kind == "" {
				continue
			}
			return false
		}
		keys, invalid := hoststate.ParseAuthorizedKeys(f.Content)
		if invalid > 0 {
			return false
		}
		live = append(live, keys...)
	}
	if len(files) == 0 || len(live) != len(want) {
		return len(files) > 0 && len(live) == 0 && len(want) == 0
	}
	wantForm := map[string]string{}
	for _, k := range want {
		wantForm[k.Fingerprint] = keyForm(k.Line)
	}
	seen := map[string]bool{}
	for _, k := range live {
		w, ok := wantForm[k.Fingerprint]
		if !ok || seen[k.Fingerprint] || keyForm(k.Line) != w {
			return false
		}
		seen[k.Fingerprint] = true
	}
	return true
}

// keyForm is what of a key line grants or names something: its options, normalised (from= as a
// set, quotes dropped, sorted), and its comment.
func keyForm(line string) string {
	ks, _ := hoststate.ParseAuthorizedKeys(line)
	if len(ks) != 1 {
		return "\x00invalid"
	}
	var opts []string
	for _, o := range ks[0].Options {
		name, _, _ := strings.Cut(o, "=")
		opts = append(opts, strings.ToLower(name)+"="+optionValue(o))
	}
	sort.Strings(opts)
	return strings.Join(opts, " ") + "\x00" + ks[0].Comment
}

// optionValue is an option's value without its quotes; from= lists are compared as sets.
func optionValue(o string) string {
	name, v, _ := strings.Cut(o, "=")
	v = strings.Trim(v, `"`)
	if strings.EqualFold(name, "from") {
		parts := strings.Split(v, ",")
		sort.Strings(parts)
		v = strings.Join(parts, ",")
	}
	return v
}
