package manifest

import (
	"encoding/base64"
	"github.com/accessctl/accessctl/internal/names"
	"net"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// Name patterns. They are ASCII-only on purpose: look-alike Unicode names, shell metacharacters
// and option-like leading dashes never pass, so names are safe in every remote command.
var (
	keypairNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	userNameRE    = regexp.MustCompile(names.UserPattern)
	objectNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	addressRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	shellRE       = regexp.MustCompile(`^/[A-Za-z0-9._+/-]{0,254}$`)
	envNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	hashRE        = regexp.MustCompile(`^\$[A-Za-z0-9]{1,8}\$[A-Za-z0-9./$=,+-]{1,512}$`)
	fromRE        = regexp.MustCompile(`^!?[A-Za-z0-9.*?:-]{1,253}(/[0-9]{1,3})?$`)
	dateRE        = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	ruleIDRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

func (d *decoder) name(n *yaml.Node, path string, re *regexp.Regexp, what, pattern string) string {
	v, ok := d.str(n, path)
	if !ok {
		return ""
	}
	if v == "" && d.isPrivate(path) {
		d.errorf(n, path, "%s name holds private key material; remove it and replace the key", what)
		return ""
	}
	if !re.MatchString(v) {
		d.errorf(n, path, "%s name %q is not allowed: it must match %s", what, safeText(v), pattern)
		return ""
	}
	return v
}

func (d *decoder) keypair(n *yaml.Node, path string) Keypair {
	var k Keypair
	d.record(path, n)
	var keyNode *yaml.Node
	keyOK := false
	for _, f := range d.mapping(n, path, "name", "publicKey", "clouds") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "name":
			k.Name = d.name(f.val, p, keypairNameRE, "key pair", `^[A-Za-z0-9_-]{1,64}$`)
		case "publicKey":
			keyNode = f.val
			k.PublicKey, keyOK = d.str(f.val, p)
		case "clouds":
			for i, it := range d.sequence(f.val, p) {
				d.record(index(p, i), it)
				if c := d.name(it, index(p, i), objectNameRE, "cloud registry", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`); c != "" {
					k.Clouds = append(k.Clouds, c)
				}
			}
		}
	}
	d.required(n, path, "name", k.Name != "" || d.hasKey(n, "name"))
	if keyNode == nil {
		d.required(n, path, "publicKey", false)
	} else if !d.isPrivate(join(path, "publicKey")) && keyOK {
		if msg := checkPublicKey(k.PublicKey); msg != "" {
			d.errorf(keyNode, join(path, "publicKey"), "publicKey of key pair %q %s", k.Name, msg)
		}
	}
	return k
}

// checkPublicKey accepts exactly one OpenSSH public key line without options.
func checkPublicKey(line string) string {
	if strings.ContainsAny(line, "\r\n") {
		return "must be one line"
	}
	pk, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "is not an OpenSSH public key line (type, base64 key, optional comment)"
	}
	_ = pk
	if len(opts) > 0 {
		return "must not carry authorized_keys options (use the binding's from/expires instead)"
	}
	if strings.TrimSpace(string(rest)) != "" || commentHoldsKey(comment) {
		return "holds more than one key"
	}
	if strings.ContainsAny(comment, "\"\\`$") {
		return "has a comment with quotes, backslashes, backticks or $; remove them"
	}
	return ""
}

// commentHoldsKey reports a second key pasted on the same line: ParseAuthorizedKey takes all
// that follows the first key for its comment.
func commentHoldsKey(comment string) bool {
	for _, w := range strings.Fields(comment) {
		if len(w) < 32 {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(w); err == nil {
			if _, err := ssh.ParsePublicKey(b); err == nil {
				return true
			}
		}
	}
	return false
}

func (d *decoder) isPrivate(path string) bool {
	for _, p := range *d.priv {
		if p == path {
			return true
		}
	}
	return false
}

func (d *decoder) hasKey(n *yaml.Node, key string) bool {
	n = d.resolve(n, "")
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// required reports a missing field, unless the item is not a mapping (already reported).
func (d *decoder) required(n *yaml.Node, path, key string, present bool) {
	if present {
		return
	}
	if r := d.resolve(n, path); r == nil || r.Kind != yaml.MappingNode {
		return
	}
	if d.hasKey(n, key) {
		return
	}
	d.errorf(n, path, "%s: %s is required", path, key)
}

func (d *decoder) user(n *yaml.Node, path string) User {
	u := User{Sudo: SudoNone, State: StatePresent, Groups: []string{}, Keypairs: []Binding{}}
	d.record(path, n)
	for _, f := range d.mapping(n, path, "name", "fullName", "uid", "shell", "groups", "sudo", "rdp", "state", "removeHome", "keypairs", "password") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "name":
			u.Name = d.name(f.val, p, userNameRE, "user", names.UserPattern)
		case "fullName":
			if v, ok := d.str(f.val, p); ok {
				if strings.ContainsAny(v, ":\\\"`$") || len(v) > 256 {
					d.errorf(f.val, p, "fullName must be at most 256 characters without : \\ \" ` or $")
				} else {
					u.FullName = v
				}
			}
		case "uid":
			if v, ok := d.integer(f.val, p, 0, 4294967294); ok {
				u.UID = &v
			}
		case "shell":
			if v, ok := d.str(f.val, p); ok {
				if !shellRE.MatchString(v) {
					d.errorf(f.val, p, "shell must be an absolute path such as /bin/bash")
				} else {
					u.Shell = v
				}
			}
		case "groups":
			for i, it := range d.sequence(f.val, p) {
				if g := d.name(it, index(p, i), userNameRE, "group", names.UserPattern); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		case "sudo":
			u.Sudo = d.sudo(f.val, p)
		case "rdp":
			u.RDP, _ = d.boolean(f.val, p)
		case "state":
			if v, ok := d.str(f.val, p); ok {
				switch v {
				case StatePresent, StateLocked, StateAbsent:
					u.State = v
				default:
					d.errorf(f.val, p, "state must be present, locked or absent, not %q", safeText(v))
				}
			}
		case "removeHome":
			u.RemoveHome, _ = d.boolean(f.val, p)
		case "keypairs":
			for i, it := range d.sequence(f.val, p) {
				if b, ok := d.binding(it, index(p, i)); ok {
					u.Keypairs = append(u.Keypairs, b)
				}
			}
		case "password":
			u.Password = d.password(f.val, p)
		}
	}
	d.required(n, path, "name", u.Name != "")
	return u
}

func (d *decoder) sudo(n *yaml.Node, path string) string {
	r := d.resolve(n, path)
	if r != nil && r.Kind == yaml.ScalarNode {
		switch strings.ToLower(r.Value) {
		case "false":
			return SudoNone
		case "true":
			return SudoPassword
		case "nopasswd":
			return SudoNoPasswd
		}
	}
	if r != nil {
		d.errorf(r, path, "sudo must be false, true or nopasswd, not %s", quoteScalar(r))
	}
	return SudoNone
}

func (d *decoder) binding(n *yaml.Node, path string) (Binding, bool) {
	d.record(path, n)
	r := d.resolve(n, path)
	if r == nil {
		return Binding{}, false
	}
	if r.Kind == yaml.ScalarNode {
		name := d.name(r, path, keypairNameRE, "key pair", `^[A-Za-z0-9_-]{1,64}$`)
		return Binding{Keypair: name}, name != ""
	}
	var b Binding
	for _, f := range d.mapping(r, path, "keypair", "from", "expires") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "keypair":
			b.Keypair = d.name(f.val, p, keypairNameRE, "key pair", `^[A-Za-z0-9_-]{1,64}$`)
		case "from":
			for i, it := range d.sequence(f.val, p) {
				ip := index(p, i)
				v, ok := d.str(it, ip)
				if !ok {
					continue
				}
				if !validFrom(v) {
					d.errorf(it, ip, "from entry %q must be an IP address, a CIDR block or a host name pattern", safeText(v))
					continue
				}
				b.From = append(b.From, v)
			}
		case "expires":
			b.Expires = d.date(f.val, p)
		}
	}
	if r.Kind == yaml.MappingNode && b.Keypair == "" && !d.hasKey(r, "keypair") {
		d.errorf(r, path, "%s: keypair is required in the long form of a binding", path)
	}
	return b, b.Keypair != ""
}

func validFrom(v string) bool {
	if !fromRE.MatchString(v) {
		return false
	}
	s := strings.TrimPrefix(v, "!")
	if strings.Contains(s, "/") {
		_, _, err := net.ParseCIDR(s)
		return err == nil
	}
	return true
}

func (d *decoder) date(n *yaml.Node, path string) string {
	r := d.resolve(n, path)
	if r == nil {
		return ""
	}
	if r.Kind == yaml.ScalarNode && (r.Tag == "!!str" || r.Tag == "!!timestamp") && dateRE.MatchString(r.Value) {
		if _, err := time.Parse("2006-01-02", r.Value); err == nil {
			d.pos[path] = d.at(r)
			return r.Value
		}
	}
	d.errorf(r, path, "%s must be a date written YYYY-MM-DD, not %s", path, quoteScalar(r))
	return ""
}

func (d *decoder) password(n *yaml.Node, path string) *Password {
	var p Password
	set := 0
	for _, f := range d.mapping(n, path, "env", "file", "hash") {
		fp := join(path, f.key.Value)
		d.record(fp, f.val)
		v, ok := d.str(f.val, fp)
		if !ok {
			set++
			continue
		}
		set++
		switch f.key.Value {
		case "env":
			if !envNameRE.MatchString(v) {
				d.errorf(f.val, fp, "password env must be an environment variable name such as ALICE_PASSWORD")
			}
			p.Env = v
		case "file":
			if v == "" {
				d.errorf(f.val, fp, "password file must not be empty")
			}
			p.File = v
		case "hash":
			if !hashRE.MatchString(v) {
				d.errorf(f.val, fp, "password hash must be a crypt(3) hash such as $6$salt$...")
			}
			p.Hash = v
		}
	}
	r := d.resolve(n, path)
	if r == nil || r.Kind != yaml.MappingNode {
		return nil
	}
	if set != 1 {
		d.errorf(r, path, "password must set exactly one of env, file or hash")
		return nil
	}
	if p.Env == "" && p.File == "" && p.Hash == "" {
		return nil
	}
	return &p
}

func (d *decoder) hostGroup(n *yaml.Node, path string) HostGroup {
	g := HostGroup{Users: []string{}}
	d.record(path, n)
	for _, f := range d.mapping(n, path, "name", "users", "sshd", "keys") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "name":
			g.Name = d.name(f.val, p, objectNameRE, "host group", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "users":
			for i, it := range d.sequence(f.val, p) {
				d.record(index(p, i), it)
				if u := d.name(it, index(p, i), userNameRE, "user", names.UserPattern); u != "" {
					g.Users = append(g.Users, u)
				}
			}
		case "sshd":
			g.Sshd = d.sshd(f.val, p)
		case "keys":
			if v, ok := d.str(f.val, p); ok {
				if v != "push" && v != "pull" {
					d.errorf(f.val, p, "keys must be push or pull, not %q", safeText(v))
				} else {
					g.Keys = v
				}
			}
		}
	}
	d.required(n, path, "name", g.Name != "")
	return g
}

func (d *decoder) sshd(n *yaml.Node, path string) *Sshd {
	s := &Sshd{}
	for _, f := range d.mapping(n, path, "passwordAuthentication", "pubkeyAuthentication", "kbdInteractiveAuthentication", "permitRootLogin") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "permitRootLogin":
			r := d.resolve(f.val, p)
			if r == nil {
				continue
			}
			v := r.Value
			switch {
			case r.Kind == yaml.ScalarNode && r.Tag == "!!bool":
				// YAML 1.1 habits: an unquoted yes/no that a YAML 1.1 parser would read as a boolean.
				d.errorf(r, p, `permitRootLogin must be a quoted string: "no", prohibit-password, forced-commands-only or "yes"`)
			case r.Kind == yaml.ScalarNode && (v == "no" || v == "yes" || v == "prohibit-password" || v == "forced-commands-only"):
				s.PermitRootLogin = &v
			case r.Kind == yaml.ScalarNode && v == "without-password":
				pp := "prohibit-password"
				s.PermitRootLogin = &pp
			default:
				d.errorf(r, p, `permitRootLogin must be "no", prohibit-password, forced-commands-only or "yes", not %s`, quoteScalar(r))
			}
		default:
			b, ok := d.boolean(f.val, p)
			if !ok {
				continue
			}
			switch f.key.Value {
			case "passwordAuthentication":
				s.PasswordAuthentication = &b
			case "pubkeyAuthentication":
				s.PubkeyAuthentication = &b
			case "kbdInteractiveAuthentication":
				s.KbdInteractiveAuthentication = &b
			}
		}
	}
	return s
}

func (d *decoder) host(n *yaml.Node, path string) Host {
	h := Host{Groups: []string{}}
	d.record(path, n)
	for _, f := range d.mapping(n, path, "name", "address", "port", "os", "transport", "user", "groups", "cloud") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "name":
			h.Name = d.name(f.val, p, objectNameRE, "host", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "address":
			if v, ok := d.str(f.val, p); ok {
				if net.ParseIP(v) == nil && !addressRE.MatchString(v) {
					d.errorf(f.val, p, "address %q must be a host name or an IP address", safeText(v))
				} else {
					h.Address = v
				}
			}
		case "port":
			h.Port, _ = d.integer(f.val, p, 1, 65535)
		case "os":
			if v, ok := d.str(f.val, p); ok {
				if v != "linux" && v != "windows" {
					d.errorf(f.val, p, "os must be linux or windows, not %q", safeText(v))
				} else {
					h.OS = v
				}
			}
		case "transport":
			if v, ok := d.str(f.val, p); ok {
				if v != "ssh" && v != "winrm" {
					d.errorf(f.val, p, "transport must be ssh or winrm, not %q", safeText(v))
				} else {
					h.Transport = v
				}
			}
		case "user":
			h.User = d.name(f.val, p, loginNameRE, "login user", `^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)
		case "groups":
			for i, it := range d.sequence(f.val, p) {
				d.record(index(p, i), it)
				if g := d.name(it, index(p, i), objectNameRE, "host group", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`); g != "" {
					h.Groups = append(h.Groups, g)
				}
			}
		case "cloud":
			h.Cloud = d.hostCloud(f.val, p)
		}
	}
	d.required(n, path, "name", h.Name != "")
	return h
}

// loginNameRE admits the login names cloud images use (ec2-user, Administrator), nothing a shell
// or ssh would read as an option.
var loginNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// settingTypes are the documented policy settings and their JSON kinds.
var settingTypes = map[string]string{
	"staleKeyDays":      "int",
	"minPasswordLength": "int",
	"minPasswordScore":  "int",
	"minRSABits":        "int",
	"maxRdpUsers":       "int",
	"allowedKeyTypes":   "list",
}

func (d *decoder) policy(n *yaml.Node, m *Manifest) {
	for _, f := range d.mapping(n, "policy", "settings", "exceptions") {
		p := join("policy", f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "settings":
			d.settings(f.val, p, m)
		case "exceptions":
			for _, it := range d.sequence(f.val, p) {
				if d.emptyItem(it, index(p, len(m.Policy.Exceptions))) {
					continue
				}
				m.Policy.Exceptions = append(m.Policy.Exceptions, d.exception(it, index(p, len(m.Policy.Exceptions))))
			}
		}
	}
}

func (d *decoder) settings(n *yaml.Node, path string, m *Manifest) {
	r := d.resolve(n, path)
	if r == nil || isNull(r) {
		return
	}
	if r.Kind != yaml.MappingNode {
		d.errorf(r, path, "policy.settings must be a mapping")
		return
	}
	for i := 0; i+1 < len(r.Content); i += 2 {
		k, v := r.Content[i], r.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys of policy.settings must be plain strings")
			continue
		}
		p := join(path, k.Value)
		if prev, ok := m.Positions[p]; ok {
			d.errorf(k, p, "setting %q is set twice (first at %s)", safeText(k.Value), prev)
			continue
		}
		d.record(p, v)
		switch settingTypes[k.Value] {
		case "int":
			if x, ok := d.integer(v, p, 0, 1<<20); ok {
				m.Policy.Settings[k.Value] = x
			}
		case "list":
			m.Policy.Settings[k.Value] = d.strList(v, p)
		default:
			// User policies may read their own settings: keep any plain data.
			var x any
			if rv := d.resolve(v, p); rv != nil {
				if err := rv.Decode(&x); err != nil {
					d.errorf(v, p, "setting %q cannot be read: %s", safeText(k.Value), safeText(err.Error()))
					continue
				}
			}
			m.Policy.Settings[k.Value] = jsonable(x)
		}
	}
}

// jsonable converts yaml.v3's decoded values to JSON-compatible ones (map[string]any keys).
func jsonable(x any) any {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		out := map[string]any{}
		for k, e := range v {
			if ks, ok := k.(string); ok {
				out[ks] = jsonable(e)
			}
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	case time.Time:
		return v.Format("2006-01-02")
	}
	return x
}

func (d *decoder) exception(n *yaml.Node, path string) Exception {
	var e Exception
	d.record(path, n)
	scopes := 0
	for _, f := range d.mapping(n, path, "rule", "hostGroup", "host", "user", "keypair", "reason", "expires") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "rule":
			e.Rule = d.name(f.val, p, ruleIDRE, "rule", `^[a-z0-9][a-z0-9-]{0,63}$`)
		case "hostGroup":
			scopes++
			e.HostGroup = d.name(f.val, p, objectNameRE, "host group", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "host":
			scopes++
			e.Host = d.name(f.val, p, objectNameRE, "host", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "user":
			scopes++
			e.User = d.name(f.val, p, userNameRE, "user", names.UserPattern)
		case "keypair":
			scopes++
			e.Keypair = d.name(f.val, p, keypairNameRE, "key pair", `^[A-Za-z0-9_-]{1,64}$`)
		case "reason":
			e.Reason, _ = d.str(f.val, p)
		case "expires":
			e.Expires = d.date(f.val, p)
		}
	}
	if r := d.resolve(n, path); r != nil && r.Kind == yaml.MappingNode {
		for _, k := range []string{"rule", "reason", "expires"} {
			if !d.hasKey(r, k) {
				d.errorf(r, path, "%s: %s is required", path, k)
			}
		}
		if scopes != 1 {
			d.errorf(r, path, "%s: an exception needs exactly one scope: hostGroup, host, user or keypair", path)
		}
	}
	return e
}
