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

// restrictingOptions are authorized_keys options that only narrow what a key may do. A live line
// that has the wanted key and from/expiry plus only these grants no more than the manifest says,
// so the plan leaves it (an import keeps such lines; docs/access.md).
var restrictingOptions = map[string]bool{
	"no-agent-forwarding": true, "no-port-forwarding": true, "no-pty": true, "no-user-rc": true,
	"no-x11-forwarding": true, "restrict": true, "command": true, "permitopen": true,
	"permitlisten": true, "verify-required": true,
}

// keysEquivalent reports whether an authorized_keys file grants exactly the wanted keys: the same
// fingerprints, each once, with the same from= and expiry-time= restrictions and otherwise only
// restricting options, and no line that is not a key (sshd might read a key that this parser
// does not know). Comments, blank lines, key comments and order do not matter.
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
	wantOpts := map[string]string{}
	for _, k := range want {
		_, opts := splitKeyLineOptions(k.Line)
		wantOpts[k.Fingerprint] = opts
	}
	seen := map[string]bool{}
	for _, k := range live {
		w, ok := wantOpts[k.Fingerprint]
		if !ok || seen[k.Fingerprint] {
			return false
		}
		seen[k.Fingerprint] = true
		var managed []string
		for _, o := range k.Options {
			name, _, _ := strings.Cut(o, "=")
			switch n := strings.ToLower(name); {
			case n == "from" || n == "expiry-time":
				managed = append(managed, n+"="+optionValue(o))
			case !restrictingOptions[n]:
				return false
			}
		}
		sort.Strings(managed)
		if strings.Join(managed, " ") != w {
			return false
		}
	}
	return true
}

// splitKeyLineOptions returns the normalised from/expiry-time options of a line keyLine wrote.
func splitKeyLineOptions(line string) (string, string) {
	ks, _ := hoststate.ParseAuthorizedKeys(line)
	if len(ks) != 1 {
		return "", "\x00invalid"
	}
	var managed []string
	for _, o := range ks[0].Options {
		name, _, _ := strings.Cut(o, "=")
		managed = append(managed, strings.ToLower(name)+"="+optionValue(o))
	}
	sort.Strings(managed)
	return ks[0].Fingerprint, strings.Join(managed, " ")
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
