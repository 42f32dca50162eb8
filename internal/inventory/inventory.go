package inventory

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"

	"github.com/accessctl/accessctl/internal/manifest"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// Default ports by transport.
const (
	DefaultSSHPort   = 22
	DefaultWinRMPort = 5986
)

// NoSSHConfig as Options.SSHConfigFile reads no ssh_config at all.
const NoSSHConfig = "none"

// Options are the command-line settings that shape targets.
type Options struct {
	// Limit keeps hosts whose name matches one of its comma-separated globs (path.Match
	// syntax: * ? [a-z]); "" keeps all.
	Limit string
	// Shard keeps one stable slice of the hosts; the zero value keeps all.
	Shard Shard

	// SSHConfigFile is the ssh_config to honour: "" means ~/.ssh/config (if it exists),
	// NoSSHConfig none.
	SSHConfigFile string
	// KnownHostsFiles (--known-hosts) replace ssh_config's and the default known_hosts files.
	KnownHostsFiles []string
	// IdentityFiles (--identity) are tried before ssh_config's IdentityFile.
	IdentityFiles []string
	// UseAgent uses ssh-agent ($SSH_AUTH_SOCK) when it is set.
	UseAgent bool
	// ConnectTimeout bounds connecting to each hop; 0 means sshtr.DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// InsecureIgnoreHostKey is --insecure-skip-host-key-check.
	InsecureIgnoreHostKey bool
	// DefaultUser is the login when neither the manifest nor ssh_config names one; "" means the
	// local user's name, as ssh does.
	DefaultUser string
	// HomeDir is where ~ points; "" means the current user's home (tests set it).
	HomeDir string
}

// Target is one host to work on and how to reach it.
type Target struct {
	// Name is the manifest host name.
	Name string
	// Host is the manifest entry, unchanged.
	Host manifest.Host
	// Transport is "ssh" or "winrm".
	Transport string
	// Address, Port and User are the effective values (see the package doc for precedence).
	Address string
	Port    int
	User    string
	// SSH is how to dial an ssh host; nil for winrm.
	SSH *sshtr.Config
	// Err is why this host cannot be reached as configured; the host fails, the others go on.
	Err error
}

// Shard is the K-th of N stable slices of a fleet, K from 1 to N (--shard K/N). A host belongs
// to shard 1 + FNV-1a(name) mod N: adding or removing other hosts never moves it, every host is
// in exactly one shard, and N runners with K = 1…N together cover the fleet once.
type Shard struct {
	K, N int
}

// ParseShard parses "K/N" with 1 <= K <= N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 <= K <= N, e.g. 1/4 (a Kubernetes Indexed Job passes $((JOB_COMPLETION_INDEX+1))/N)", s)
	}
	return Shard{K: ki, N: ni}, nil
}

func (s Shard) String() string {
	if s.N == 0 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// Contains reports whether the host named name is in the shard; the zero Shard holds every host.
func (s Shard) Contains(name string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return int(h.Sum64()%uint64(s.N))+1 == s.K
}

// Select returns the indexes of the hosts that pass the limit and the shard, in manifest order.
// A limit that matches no host at all is an error (a typo should not look like "no changes");
// an empty shard is not.
func Select(hosts []manifest.Host, limit string, shard Shard) ([]int, error) {
	var globs []string
	for _, g := range strings.Split(limit, ",") {
		if g = strings.TrimSpace(g); g != "" {
			if _, err := path.Match(g, ""); err != nil {
				return nil, fmt.Errorf("--limit %q: bad pattern %q: %w", limit, g, err)
			}
			globs = append(globs, g)
		}
	}
	var out []int
	matched := false
	for i, h := range hosts {
		if len(globs) > 0 && !matchAny(globs, h.Name) {
			continue
		}
		matched = true
		if shard.Contains(h.Name) {
			out = append(out, i)
		}
	}
	if len(globs) > 0 && !matched {
		return nil, fmt.Errorf("--limit %q matches no host", limit)
	}
	return out, nil
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// Targets selects the manifest's hosts (Options.Limit, Options.Shard) and works out how to reach
// each. The error is for problems that concern every host (an unreadable ssh_config, a bad
// --limit); a problem of one host is in its Target.Err.
//
// Whether a port was written in the manifest is read from m.Positions ("hosts[i].port"); a
// manifest built in code without Positions counts every non-zero port as written.
func Targets(m *manifest.Manifest, opts Options) ([]Target, error) {
	idx, err := Select(m.Hosts, opts.Limit, opts.Shard)
	if err != nil {
		return nil, err
	}
	r, err := newResolver(opts)
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(idx))
	for _, i := range idx {
		h := m.Hosts[i]
		portSet := h.Port != 0
		if m.Positions != nil {
			_, portSet = m.Positions[fmt.Sprintf("hosts[%d].port", i)]
		}
		out = append(out, r.target(h, portSet))
	}
	return out, nil
}

// resolver applies ssh_config and the options to hosts.
type resolver struct {
	opts      Options
	home      string
	localUser string
	cfg       *ssh_config.Config // nil: no ssh_config
}

func newResolver(opts Options) (*resolver, error) {
	r := &resolver{opts: opts, home: opts.HomeDir}
	if r.home == "" {
		r.home, _ = os.UserHomeDir()
	}
	if u, err := user.Current(); err == nil {
		r.localUser = u.Username
	}
	file := opts.SSHConfigFile
	explicit := file != ""
	if file == "" {
		file = filepath.Join(r.home, ".ssh", "config")
	}
	if file == NoSSHConfig {
		return r, nil
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	if r.cfg, err = ssh_config.Decode(f); err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", file, err)
	}
	return r, nil
}

func (r *resolver) get(alias, key string) string {
	if r.cfg == nil {
		return ""
	}
	v, _ := r.cfg.Get(alias, key)
	return strings.TrimSpace(v)
}

func (r *resolver) getAll(alias, key string) []string {
	if r.cfg == nil {
		return nil
	}
	v, _ := r.cfg.GetAll(alias, key)
	return v
}

func (r *resolver) target(h manifest.Host, portSet bool) Target {
	t := Target{Name: h.Name, Host: h, Transport: h.Transport}
	if t.Transport == "" {
		t.Transport = "ssh"
		if h.OS == "windows" {
			t.Transport = "winrm"
		}
	}
	if t.Transport == "winrm" {
		t.Address, t.Port, t.User = h.Address, h.Port, h.User
		if t.Address == "" {
			t.Address = h.Name
		}
		if t.Port == 0 {
			t.Port = DefaultWinRMPort
		}
		return t
	}
	port := 0
	if portSet {
		port = h.Port
	}
	cfg, err := r.sshConfig(h.Name, h.Address, port, h.User, 0)
	if err != nil {
		t.Err = fmt.Errorf("%s: %w", h.Name, err)
		return t
	}
	cfg.Name = h.Name
	t.SSH = &cfg
	t.Address, t.Port, t.User = cfg.Addr, cfg.Port, cfg.User
	return t
}

// sshConfig resolves one host or jump host: the given values win, ssh_config fills the rest.
func (r *resolver) sshConfig(alias, addr string, port int, login string, depth int) (sshtr.Config, error) {
	if depth > 8 {
		return sshtr.Config{}, errors.New("ProxyJump chain longer than 8 hops (a loop?)")
	}
	if pc := r.get(alias, "ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") {
		return sshtr.Config{}, fmt.Errorf("ssh_config gives ProxyCommand for %s, which accessctl does not run; use ProxyJump", alias)
	}
	c := sshtr.Config{
		Addr: addr, Port: port, User: login,
		ConnectTimeout:        r.opts.ConnectTimeout,
		InsecureIgnoreHostKey: r.opts.InsecureIgnoreHostKey,
		HostKeyAlias:          r.get(alias, "HostKeyAlias"),
		IdentitiesOnly:        strings.EqualFold(r.get(alias, "IdentitiesOnly"), "yes"),
	}
	if c.Addr == "" {
		c.Addr = r.expand(r.get(alias, "HostName"), alias, "", 0)
	}
	if c.Addr == "" {
		c.Addr = alias
	}
	if c.Port == 0 {
		if p := r.get(alias, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return c, fmt.Errorf("ssh_config Port %q for %s is not a port", p, alias)
			}
			c.Port = n
		}
	}
	if c.Port == 0 {
		c.Port = DefaultSSHPort
	}
	if c.User == "" {
		c.User = r.get(alias, "User")
	}
	if c.User == "" {
		c.User = r.opts.DefaultUser
	}
	if c.User == "" {
		c.User = r.localUser
	}

	switch ia := r.get(alias, "IdentityAgent"); {
	case strings.EqualFold(ia, "none"):
	case ia == "" || ia == "SSH_AUTH_SOCK":
		c.UseAgent = r.opts.UseAgent // the transport reads $SSH_AUTH_SOCK
	case strings.HasPrefix(ia, "$"):
		c.UseAgent, c.AgentSocket = r.opts.UseAgent, os.Getenv(ia[1:])
	default:
		c.UseAgent, c.AgentSocket = r.opts.UseAgent, r.expand(unquote(ia), alias, c.User, c.Port)
	}

	c.IdentityFiles = append(c.IdentityFiles, r.opts.IdentityFiles...)
	for _, f := range r.getAll(alias, "IdentityFile") {
		p := r.expand(unquote(f), alias, c.User, c.Port)
		if _, err := os.Stat(p); err == nil {
			c.IdentityFiles = append(c.IdentityFiles, p)
		} // ssh skips a missing IdentityFile too
	}
	if len(c.IdentityFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			if p := filepath.Join(r.home, ".ssh", n); fileExists(p) {
				c.IdentityFiles = append(c.IdentityFiles, p)
			}
		}
	}

	switch {
	case len(r.opts.KnownHostsFiles) > 0:
		c.KnownHostsFiles = append([]string(nil), r.opts.KnownHostsFiles...)
	case r.get(alias, "UserKnownHostsFile") != "":
		for _, f := range strings.Fields(r.get(alias, "UserKnownHostsFile")) {
			c.KnownHostsFiles = append(c.KnownHostsFiles, r.expand(unquote(f), alias, c.User, c.Port))
		}
	default:
		c.KnownHostsFiles = []string{filepath.Join(r.home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"}
	}

	if pj := r.get(alias, "ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, hop := range strings.Split(pj, ",") {
			hu, hh, hp, err := parseJump(strings.TrimSpace(hop))
			if err != nil {
				return c, fmt.Errorf("ssh_config ProxyJump for %s: %w", alias, err)
			}
			hc, err := r.sshConfig(hh, "", hp, hu, depth+1)
			if err != nil {
				return c, fmt.Errorf("jump host %s: %w", hh, err)
			}
			hc.Name = hh
			// A hop's own jumps come first: OpenSSH reaches the hop through them.
			c.ProxyJump = append(c.ProxyJump, hc.ProxyJump...)
			hc.ProxyJump = nil
			c.ProxyJump = append(c.ProxyJump, hc)
		}
	}
	return c, nil
}

// parseJump parses one ProxyJump hop: [user@]host[:port] or ssh://[user@]host[:port].
func parseJump(s string) (login, host string, port int, err error) {
	s = strings.TrimPrefix(s, "ssh://")
	if i := strings.LastIndex(s, "@"); i >= 0 {
		login, s = s[:i], s[i+1:]
	}
	host = s
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", 0, fmt.Errorf("bad hop %q", s)
		}
		host, s = s[1:end], s[end+1:]
		if s != "" && !strings.HasPrefix(s, ":") {
			return "", "", 0, fmt.Errorf("bad hop %q", s)
		}
		s = strings.TrimPrefix(s, ":")
		if s != "" {
			if port, err = strconv.Atoi(s); err != nil {
				return "", "", 0, fmt.Errorf("bad port in hop %q", s)
			}
		}
	} else if h, p, ok := strings.Cut(s, ":"); ok && !strings.Contains(p, ":") {
		host = h
		if port, err = strconv.Atoi(p); err != nil {
			return "", "", 0, fmt.Errorf("bad port in hop %q", s)
		}
	}
	if host == "" {
		return "", "", 0, errors.New("empty hop")
	}
	return login, host, port, nil
}

// expand applies ssh_config's ~ and % tokens to a path or name.
func (r *resolver) expand(s, alias, login string, port int) string {
	if s == "~" {
		return r.home
	}
	if strings.HasPrefix(s, "~/") {
		s = filepath.Join(r.home, s[2:])
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(r.home)
		case 'u':
			b.WriteString(r.localUser)
		case 'h', 'n':
			b.WriteString(alias)
		case 'r':
			b.WriteString(login)
		case 'p':
			b.WriteString(strconv.Itoa(port))
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
