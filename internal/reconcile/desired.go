package reconcile

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
)

// ManagedHeader is the first line of every authorized_keys file accessctl writes.
const ManagedHeader = "# managed by accessctl"

// desiredKey is one authorized_keys line wanted for a user.
type desiredKey struct {
	Keypair     string
	Fingerprint string
	Line        string
}

// desiredUser is a manifest user wanted on a host (state present or locked).
type desiredUser struct {
	*manifest.User
	Keys []desiredKey
}

// Desired is what one host should have according to the manifest.
type Desired struct {
	Host manifest.Host
	// Users are the users desired on the host, in manifest order.
	Users []desiredUser
	// Absent are the manifest users with state absent: removed wherever they are.
	Absent map[string]*manifest.User
	// Named are all user names the manifest mentions.
	Named map[string]bool
	// Sshd maps lower-case sshd keywords to the wanted value ("yes", "no", ...).
	Sshd map[string]string
	// PushKeys is false when every group of the host uses pull mode for keys.
	PushKeys bool
}

// sshdKeywords spells the managed keywords as sshd_config writes them.
var sshdKeywords = map[string]string{
	"passwordauthentication":       "PasswordAuthentication",
	"pubkeyauthentication":         "PubkeyAuthentication",
	"kbdinteractiveauthentication": "KbdInteractiveAuthentication",
	"permitrootlogin":              "PermitRootLogin",
	// Pull mode (pull.go): set by accessctl, never by the manifest.
	"authorizedkeyscommand":     "AuthorizedKeysCommand",
	"authorizedkeyscommanduser": "AuthorizedKeysCommandUser",
}

// DesiredFor computes what host h should have.
func DesiredFor(m *manifest.Manifest, h manifest.Host) (*Desired, error) {
	d := &Desired{Host: h, Absent: map[string]*manifest.User{}, Named: map[string]bool{}, Sshd: map[string]string{}}
	keypairs := map[string]string{}
	for _, k := range m.Keypairs {
		keypairs[k.Name] = k.PublicKey
	}
	users := map[string]*manifest.User{}
	for i := range m.Users {
		u := &m.Users[i]
		users[u.Name] = u
		d.Named[u.Name] = true
		if u.State == manifest.StateAbsent {
			d.Absent[u.Name] = u
		}
	}
	inHost := map[string]bool{}
	for _, g := range h.Groups {
		inHost[g] = true
	}
	wanted := map[string]bool{}
	for gi := range m.HostGroups {
		g := &m.HostGroups[gi]
		if !inHost[g.Name] {
			continue
		}
		if g.Keys != "pull" {
			d.PushKeys = true
		}
		for _, n := range g.Users {
			wanted[n] = true
		}
		if s := g.Sshd; s != nil {
			setBool := func(k string, v *bool) {
				if _, set := d.Sshd[k]; v != nil && !set {
					d.Sshd[k] = yesNo(*v)
				}
			}
			setBool("passwordauthentication", s.PasswordAuthentication)
			setBool("pubkeyauthentication", s.PubkeyAuthentication)
			setBool("kbdinteractiveauthentication", s.KbdInteractiveAuthentication)
			if _, set := d.Sshd["permitrootlogin"]; s.PermitRootLogin != nil && !set {
				v := *s.PermitRootLogin
				if v == "without-password" {
					v = "prohibit-password"
				}
				d.Sshd["permitrootlogin"] = v
			}
		}
	}
	if len(wanted) == 0 && len(h.Groups) == 0 {
		d.PushKeys = true
	}
	for i := range m.Users {
		u := &m.Users[i]
		if !wanted[u.Name] || u.State == manifest.StateAbsent {
			continue
		}
		du := desiredUser{User: u}
		for _, b := range u.Keypairs {
			pub, ok := keypairs[b.Keypair]
			if !ok {
				return nil, fmt.Errorf("user %s binds unknown key pair %s", u.Name, b.Keypair)
			}
			k, err := keyLine(b, pub)
			if err != nil {
				return nil, fmt.Errorf("user %s, key pair %s: %w", u.Name, b.Keypair, err)
			}
			du.Keys = append(du.Keys, k)
		}
		d.Users = append(d.Users, du)
	}
	for k, v := range d.Sshd {
		if !safeSshdValue(v) {
			return nil, fmt.Errorf("sshd %s: invalid value %q", k, v)
		}
	}
	return d, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func safeSshdValue(v string) bool {
	switch v {
	case "yes", "no", "prohibit-password", "forced-commands-only":
		return true
	}
	return false
}

// keyLine renders a binding as an authorized_keys line. Validation has already rejected hostile
// values; this checks again what would break the line's syntax.
func keyLine(b manifest.Binding, pub string) (desiredKey, error) {
	pub = strings.TrimSpace(pub)
	if strings.ContainsAny(pub, "\r\n") {
		return desiredKey{}, fmt.Errorf("public key spans lines")
	}
	pk, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil || len(opts) > 0 {
		return desiredKey{}, fmt.Errorf("not a plain OpenSSH public key line")
	}
	var o []string
	if len(b.From) > 0 {
		for _, f := range b.From {
			if f == "" || strings.ContainsAny(f, "\",\\ \t\r\n") {
				return desiredKey{}, fmt.Errorf("invalid from pattern %q", f)
			}
		}
		o = append(o, `from="`+strings.Join(b.From, ",")+`"`)
	}
	if b.Expires != "" {
		e := strings.ReplaceAll(b.Expires, "-", "")
		if len(e) != 8 || strings.Trim(e, "0123456789") != "" {
			return desiredKey{}, fmt.Errorf("invalid expiry %q", b.Expires)
		}
		o = append(o, `expiry-time="`+e+`"`)
	}
	line := pub
	if len(o) > 0 {
		line = strings.Join(o, ",") + " " + pub
	}
	return desiredKey{Keypair: b.Keypair, Fingerprint: ssh.FingerprintSHA256(pk), Line: line}, nil
}

// authorizedKeysText is the whole file accessctl writes for keys.
func authorizedKeysText(keys []desiredKey) string {
	var b strings.Builder
	b.WriteString(ManagedHeader + "\n")
	for _, k := range keys {
		b.WriteString(k.Line + "\n")
	}
	return b.String()
}
