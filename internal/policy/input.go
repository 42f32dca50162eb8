package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/accessctl/accessctl/internal/manifest"
)

// InputOptions are what BuildInput needs besides the manifests.
type InputOptions struct {
	// Today is the run's date; exceptions and binding expiries are compared with it.
	// Zero means now. Only the UTC date is used.
	Today time.Time
	// LookupEnv reads password environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Live and Plan become input.live and input.plan (plan and apply); nil becomes null.
	// They must marshal to JSON.
	Live any
	Plan any
	// Usage becomes input.usage (--usage: login records per host, docs/policy-input.md).
	Usage any
}

// DefaultSettings returns the documented defaults of policy.settings (docs/policy-input.md).
func DefaultSettings() map[string]any {
	return map[string]any{
		"minPasswordLength": 12,
		"minPasswordScore":  3,
		"minRSABits":        2048,
		"allowedKeyTypes": []any{
			"ssh-ed25519",
			"ecdsa-sha2-nistp256",
			"ecdsa-sha2-nistp384",
			"ecdsa-sha2-nistp521",
			"ssh-rsa",
			"sk-ssh-ed25519@openssh.com",
			"sk-ecdsa-sha2-nistp256@openssh.com",
		},
		"maxRdpUsers": 2,
		// stale-key: a bound key unused this many days on all its hosts (--usage).
		"staleKeyDays": 90,
	}
}

// BuildInput makes the document policies see as input (docs/policy-input.md): the manifest in
// its YAML vocabulary with defaults filled in, key facts, password strength facts instead of
// passwords, settings, today, facts, and live/plan passed through. base may be nil.
//
// Passwords are read through m.Secret only to compute their strength; the plaintext is dropped
// at once and is not in the result. A password that cannot be read is not an error: the input
// says why ("unreadable") and the password-unverifiable rule reports it.
func BuildInput(m *manifest.Manifest, base *manifest.Manifest, o InputOptions) (map[string]any, error) {
	if m == nil {
		return nil, fmt.Errorf("build policy input: no manifest")
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Today.IsZero() {
		o.Today = time.Now()
	}
	settings, err := mergeSettings(m.Policy.Settings)
	if err != nil {
		return nil, err
	}
	in := map[string]any{
		"manifest": manifestDoc(m, settings, passwordStrengths(m, o.LookupEnv)),
		"base":     nil,
		"settings": settings,
		"today":    o.Today.UTC().Format(time.DateOnly),
		"facts":    map[string]any{"privateKeyPaths": stringList(m.PrivateKeyPaths)},
		"live":     o.Live,
		"plan":     o.Plan,
		"usage":    o.Usage,
	}
	if base != nil {
		baseSettings, err := mergeSettings(base.Policy.Settings)
		if err != nil {
			return nil, fmt.Errorf("base manifest: %w", err)
		}
		// The base revision's secrets are not read: its rules judge the change, not its passwords,
		// and a git:REV base has no files on disk.
		in["base"] = manifestDoc(base, baseSettings, nil)
	}
	return in, nil
}

// mergeSettings lays the manifest's policy.settings over the defaults, normalised to JSON
// values (YAML may decode dates and odd integer types that OPA would not take as they are).
func mergeSettings(user map[string]any) (map[string]any, error) {
	s := DefaultSettings()
	if len(user) == 0 {
		return s, nil
	}
	b, err := json.Marshal(user)
	if err != nil {
		return nil, fmt.Errorf("policy.settings: %w", err)
	}
	var norm map[string]any
	if err := json.Unmarshal(b, &norm); err != nil {
		return nil, fmt.Errorf("policy.settings: %w", err)
	}
	for k, v := range norm {
		// Whole numbers stay integers, so "%d" in a rule's message prints 12, not 12.0.
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			v = int(f)
		}
		s[k] = v
	}
	return s, nil
}

// manifestDoc renders a manifest in the policy vocabulary. strengths holds each user's password
// document by user index; nil gives only the source of each password.
func manifestDoc(m *manifest.Manifest, settings map[string]any, strengths []map[string]any) map[string]any {
	keypairs := make([]any, len(m.Keypairs))
	facts := keyFactsAll(m.Keypairs)
	for i, kp := range m.Keypairs {
		d := map[string]any{"name": kp.Name, "publicKey": kp.PublicKey, "key": facts[i]}
		if len(kp.Clouds) > 0 {
			d["clouds"] = stringList(kp.Clouds)
		}
		keypairs[i] = d
	}

	users := make([]any, len(m.Users))
	for i, u := range m.Users {
		bindings := make([]any, len(u.Keypairs))
		for j, b := range u.Keypairs {
			d := map[string]any{"keypair": b.Keypair, "from": stringList(b.From)}
			if b.Expires != "" {
				d["expires"] = b.Expires
			}
			bindings[j] = d
		}
		d := map[string]any{
			"name":       u.Name,
			"fullName":   u.FullName,
			"shell":      u.Shell,
			"groups":     stringList(u.Groups),
			"sudo":       orDefault(u.Sudo, manifest.SudoNone),
			"rdp":        u.RDP,
			"state":      orDefault(u.State, manifest.StatePresent),
			"removeHome": u.RemoveHome,
			"keypairs":   bindings,
		}
		if u.UID != nil {
			d["uid"] = *u.UID
		}
		if u.Password != nil {
			if strengths != nil && strengths[i] != nil {
				d["password"] = strengths[i]
			} else {
				d["password"] = map[string]any{"source": u.Password.Source()}
			}
		}
		users[i] = d
	}

	groups := make([]any, len(m.HostGroups))
	for i, g := range m.HostGroups {
		d := map[string]any{
			"name":  g.Name,
			"users": stringList(g.Users),
			"keys":  orDefault(g.Keys, "push"),
		}
		if g.Sshd != nil {
			sshd := map[string]any{}
			putBool(sshd, "passwordAuthentication", g.Sshd.PasswordAuthentication)
			putBool(sshd, "pubkeyAuthentication", g.Sshd.PubkeyAuthentication)
			putBool(sshd, "kbdInteractiveAuthentication", g.Sshd.KbdInteractiveAuthentication)
			if g.Sshd.PermitRootLogin != nil {
				sshd["permitRootLogin"] = *g.Sshd.PermitRootLogin
			}
			d["sshd"] = sshd
		}
		groups[i] = d
	}

	hosts := make([]any, len(m.Hosts))
	for i, h := range m.Hosts {
		hostOS := orDefault(h.OS, "linux")
		transport := h.Transport
		if transport == "" {
			transport = "ssh"
			if hostOS == "windows" {
				transport = "winrm"
			}
		}
		port := h.Port
		if port == 0 {
			port = 22
			if transport == "winrm" {
				port = 5986
			}
		}
		hosts[i] = map[string]any{
			"name":      h.Name,
			"address":   h.Address,
			"port":      port,
			"os":        hostOS,
			"transport": transport,
			"user":      h.User,
			"groups":    stringList(h.Groups),
		}
		if h.Cloud != nil {
			hosts[i].(map[string]any)["cloud"] = map[string]any{"registry": h.Cloud.Registry, "instance": h.Cloud.Instance, "keypair": h.Cloud.Keypair}
		}
	}

	exceptions := make([]any, len(m.Policy.Exceptions))
	for i, e := range m.Policy.Exceptions {
		d := map[string]any{"rule": e.Rule, "reason": e.Reason, "expires": e.Expires}
		putString(d, "hostGroup", e.HostGroup)
		putString(d, "host", e.Host)
		putString(d, "user", e.User)
		putString(d, "keypair", e.Keypair)
		exceptions[i] = d
	}

	doc := map[string]any{
		"apiVersion": m.APIVersion,
		"keypairs":   keypairs,
		"users":      users,
		"hostGroups": groups,
		"hosts":      hosts,
		"policy":     map[string]any{"settings": maps.Clone(settings), "exceptions": exceptions},
	}
	if len(m.Clouds) > 0 {
		clouds := make([]any, len(m.Clouds))
		for i, c := range m.Clouds {
			d := map[string]any{"name": c.Name, "provider": c.Provider, "region": c.Region}
			putString(d, "endpoint", c.Endpoint)
			putString(d, "project", c.Project)
			if c.Discover != nil {
				disc := map[string]any{"tag": c.Discover.Tag, "groups": stringList(c.Discover.Groups), "address": c.Discover.Address}
				putString(disc, "user", c.Discover.User)
				if c.Discover.Port != 0 {
					disc["port"] = c.Discover.Port
				}
				d["discover"] = disc
			}
			clouds[i] = d
		}
		doc["clouds"] = clouds
	}
	return doc
}

func stringList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func putBool(d map[string]any, k string, v *bool) {
	if v != nil {
		d[k] = *v
	}
}

func putString(d map[string]any, k, v string) {
	if v != "" {
		d[k] = v
	}
}
