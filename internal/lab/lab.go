package lab

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
)

// Variant is the flavour of a lab host's sshd and accounts.
type Variant string

// Variants of a lab host. The zero value is Debian.
const (
	// Debian is Debian 12's default sshd_config: `Include /etc/ssh/sshd_config.d/*.conf` at the
	// top, an empty sshd_config.d.
	Debian Variant = "debian"
	// CloudInit is Debian plus sshd_config.d/50-cloud-init.conf (mode 0600) with
	// `PasswordAuthentication yes`, as cloud-init >= 22.3 writes it.
	CloudInit Variant = "cloud-init"
	// NoInclude is Debian's sshd_config without the Include line (older images).
	NoInclude Variant = "no-include"
	// HumanUser is Debian plus a pre-existing human account, HumanUserName (uid 1001), whose
	// authorized_keys holds the lab's HumanIdentityFile key.
	HumanUser Variant = "human-user"
)

// Names of the lab's accounts.
const (
	// AdminUser is the login of every lab host: uid 1000, member of sudo, NOPASSWD sudo.
	AdminUser = "labadmin"
	// HumanUserName is the account present on HumanUser hosts.
	HumanUserName = "carol"
)

// HostSpec describes one host to start.
type HostSpec struct {
	// Name identifies the host in tests and manifests; default "host-<index+1>".
	Name string
	// Variant defaults to Debian.
	Variant Variant
	// AuthLog is how the host's /var/log/auth.log stamps sshd's records: AuthLogTraditional
	// (the default, rsyslog's "Mmm dd HH:MM:SS host sshd[pid]: ...") or AuthLogRFC3339.
	AuthLog AuthLogFormat
}

// AuthLogFormat is the timestamp style of a lab host's /var/log/auth.log.
type AuthLogFormat string

// Auth log formats.
const (
	AuthLogTraditional AuthLogFormat = "traditional"
	AuthLogRFC3339     AuthLogFormat = "rfc3339"
)

// Specs returns n specs of one variant named prefix-1 … prefix-n.
func Specs(prefix string, n int, v Variant) []HostSpec {
	specs := make([]HostSpec, n)
	for i := range specs {
		specs[i] = HostSpec{Name: fmt.Sprintf("%s-%d", prefix, i+1), Variant: v}
	}
	return specs
}

// Lab is a set of running hosts. Its exported fields are read-only.
type Lab struct {
	// Hosts in the order of the specs.
	Hosts []*Host
	// Dir holds the lab's keys, known_hosts and every host's files.
	Dir string
	// KnownHostsFile lists every host's address and key (as at Start; see RegenerateHostKey).
	KnownHostsFile string
	// IdentityFile is the OpenSSH private key (0600) that logs in as AdminUser on every host.
	IdentityFile string
	// AdminUser is the login user, AdminUser.
	AdminUser string
	// AdminSigner is the key of IdentityFile, for in-process SSH clients.
	AdminSigner ssh.Signer
	// HumanIdentityFile logs in as HumanUserName on HumanUser hosts.
	HumanIdentityFile string
	// HumanSigner is the key of HumanIdentityFile.
	HumanSigner ssh.Signer

	addrs []*addrLock
	// templates holds, per variant family, the tree hosts start from: "base" and, when a spec
	// asks for it, "human" (base plus HumanUserName).
	templates map[string]string
	// overlay: each host's /etc is an overlay on its template's etc (cheap: 250 hosts share one
	// copy); else, where the kernel or file system refuses, a full copy per host.
	overlay bool
	closed  bool
	mu      sync.Mutex
}

// tools are the programs the lab runs.
var tools = []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "unshare", "nsenter", "mount", "sudo", "visudo", "useradd", "cp"}

// Check reports why the lab cannot run on this machine, or nil.
func Check() error {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "not running as root (the lab creates mount namespaces)")
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			problems = append(problems, t+" not found")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("lab of real OpenSSH hosts unavailable: %s (run the tests as root after `apt-get install -y openssh-server openssh-client sudo util-linux`)",
			strings.Join(problems, "; "))
	}
	return nil
}

// Require fails the test (it does not skip it: CI runs the suite as root) when the lab cannot run.
func Require(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

// New starts a lab for a test and closes it when the test ends; it fails the test on error.
func New(t testing.TB, specs ...HostSpec) *Lab {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := Start(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

//go:embed debian12_sshd_config
var debianSSHDConfig string

// Start starts one host per spec, in parallel. On error nothing is left running.
func Start(ctx context.Context, specs []HostSpec) (_ *Lab, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "accessctl-lab-")
	if err != nil {
		return nil, err
	}
	for _, p := range mounted {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("lab: temp dir %s lies under %s, which the hosts mount over; set TMPDIR elsewhere", dir, p)
		}
	}
	l := &Lab{
		Dir:               dir,
		KnownHostsFile:    filepath.Join(dir, "known_hosts"),
		IdentityFile:      filepath.Join(dir, "id_labadmin"),
		HumanIdentityFile: filepath.Join(dir, "id_"+HumanUserName),
		AdminUser:         AdminUser,
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if l.AdminSigner, err = GenerateKey(l.IdentityFile, AdminUser+"@lab"); err != nil {
		return nil, err
	}
	if l.HumanSigner, err = GenerateKey(l.HumanIdentityFile, HumanUserName+"@lab"); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "template-base")
	if err := l.buildTemplate(ctx, base); err != nil {
		return nil, fmt.Errorf("lab: build host template: %w", err)
	}
	l.templates = map[string]string{"base": base}
	for _, s := range specs {
		if withHuman(s.Variant) {
			human := filepath.Join(dir, "template-human")
			if err := copyTree(ctx, base, human); err != nil {
				return nil, fmt.Errorf("lab: build host template: %w", err)
			}
			if err := addUser(ctx, human, HumanUserName, 1001, "Carol Human", nil, l.HumanSigner.PublicKey()); err != nil {
				return nil, fmt.Errorf("lab: build host template: %w", err)
			}
			l.templates["human"] = human
			break
		}
	}
	l.overlay = overlayWorks(ctx, dir, base)

	seen := map[string]bool{}
	for i, s := range specs {
		if s.Name == "" {
			s.Name = fmt.Sprintf("host-%d", i+1)
		}
		if s.Variant == "" {
			s.Variant = Debian
		}
		switch s.Variant {
		case Debian, CloudInit, NoInclude, HumanUser:
		default:
			if isZoo(s.Variant) {
				break
			}
			return nil, fmt.Errorf("lab: host %s: unknown variant %q", s.Name, s.Variant)
		}
		if seen[s.Name] || strings.ContainsAny(s.Name, "/ \t\n") {
			return nil, fmt.Errorf("lab: host name %q is repeated or not a plain name", s.Name)
		}
		seen[s.Name] = true
		a, err := reserveAddr(len(specs))
		if err != nil {
			return nil, err
		}
		l.addrs = append(l.addrs, a)
		l.Hosts = append(l.Hosts, &Host{
			Name: s.Name, Addr: a.addr, Port: 22, Variant: s.Variant, AuthLog: s.AuthLog,
			lab: l, dir: filepath.Join(dir, "hosts", s.Name),
		})
	}

	// Copying /etc and starting sshd are mostly I/O and exec; a few more workers than CPUs keep
	// 250 hosts to seconds without drowning the machine.
	sem := make(chan struct{}, 8)
	errs := make([]error, len(l.Hosts))
	var wg sync.WaitGroup
	for i, h := range l.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := h.setup(ctx); err != nil {
				errs[i] = fmt.Errorf("lab: set up %s: %w", h.Name, err)
				return
			}
			if err := h.Start(ctx); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := l.WriteKnownHosts(); err != nil {
		return nil, err
	}
	return l, nil
}

// Host returns the host with that name, or nil.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// WriteKnownHosts rewrites KnownHostsFile from the hosts' current keys (after
// RegenerateHostKey, when a test wants the new key trusted).
func (l *Lab) WriteKnownHosts() error {
	var b strings.Builder
	for _, h := range l.Hosts {
		if k := h.HostKey(); k != nil {
			fmt.Fprintf(&b, "%s %s", h.Addr, ssh.MarshalAuthorizedKey(k))
		}
	}
	return os.WriteFile(l.KnownHostsFile, []byte(b.String()), 0o644)
}

// ManifestHosts returns the lab's hosts as manifest inventory entries that log in as AdminUser,
// each in the given host groups.
func (l *Lab) ManifestHosts(groups ...string) []manifest.Host {
	out := make([]manifest.Host, len(l.Hosts))
	for i, h := range l.Hosts {
		out[i] = manifest.Host{
			Name: h.Name, Address: h.Addr, Port: h.Port, OS: "linux", Transport: "ssh",
			User: l.AdminUser, Groups: append([]string(nil), groups...),
		}
	}
	return out
}

// Close kills every process of every host, releases the addresses and removes Dir.
// It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	var errs []error
	if err := stopAll(l.Hosts); err != nil {
		errs = append(errs, err)
	}
	for _, a := range l.addrs {
		a.release()
	}
	if l.Dir != "" {
		if err := os.RemoveAll(l.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mounted are the directories each host has its own copy of.
var mounted = []string{"/etc", "/home", "/root", "/run", "/var/lib", "/var/log"}

// buildTemplate prepares, once per lab, the files every host starts from.
func (l *Lab) buildTemplate(ctx context.Context, tmpl string) error {
	for _, d := range []string{"home", "root", "run", "var/lib", "var/log"} {
		if err := os.MkdirAll(filepath.Join(tmpl, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(tmpl, "root"), 0o700); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", "/etc", filepath.Join(tmpl, "etc")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy /etc: %v: %s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", "/etc/skel/.", filepath.Join(tmpl, "root")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy /etc/skel: %v: %s", err, out)
	}
	etc := filepath.Join(tmpl, "etc")
	if err := dropHumanAccounts(etc); err != nil {
		return err
	}
	// Only lab-made host keys: each host writes its own ed25519 key.
	keys, _ := filepath.Glob(filepath.Join(etc, "ssh", "ssh_host_*"))
	for _, k := range keys {
		os.Remove(k)
	}
	if err := os.RemoveAll(filepath.Join(etc, "ssh", "sshd_config.d")); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(etc, "ssh", "sshd_config.d"), 0o755); err != nil {
		return err
	}
	// A host-wide sshd_config left by this machine's admin must not leak into the lab.
	if err := os.WriteFile(filepath.Join(etc, "ssh", "sshd_config"), []byte(debianSSHDConfig), 0o644); err != nil {
		return err
	}
	if err := addUser(ctx, tmpl, AdminUser, 1000, "lab admin", []string{"sudo"}, l.AdminSigner.PublicKey()); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(etc, "sudoers.d", AdminUser),
		[]byte(AdminUser+" ALL=(ALL:ALL) NOPASSWD: ALL\n"), 0o440)
}

// copyTree copies the directory src to dst (which must not exist), keeping owners and modes.
func copyTree(ctx context.Context, src, dst string) error {
	if out, err := exec.CommandContext(ctx, "cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", src, err, out)
	}
	return nil
}

// overlayWorks reports whether an overlay mount on lower works here (it does not where the
// lab's directory is itself on overlayfs, as in some containers).
func overlayWorks(ctx context.Context, dir, lower string) bool {
	p := filepath.Join(dir, "overlay-probe")
	defer os.RemoveAll(p)
	for _, d := range []string{"upper", "work", "mnt"} {
		if err := os.MkdirAll(filepath.Join(p, d), 0o755); err != nil {
			return false
		}
	}
	script := `mount -t overlay overlay -o "lowerdir=$1/etc,upperdir=$2/upper,workdir=$2/work" "$2/mnt" && test -f "$2/mnt/passwd"`
	return exec.CommandContext(ctx, "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", lower, p).Run() == nil
}

// addUser creates an account in the tree under root with the real useradd, and installs key.
func addUser(ctx context.Context, root, name string, uid int, gecos string, groups []string, key ssh.PublicKey) error {
	args := []string{"--prefix", root, "-m", "-U", "-u", strconv.Itoa(uid), "-s", "/bin/bash", "-c", gecos}
	if len(groups) > 0 {
		args = append(args, "-G", strings.Join(groups, ","))
	}
	args = append(args, name)
	if out, err := exec.CommandContext(ctx, "useradd", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("useradd %s: %v: %s", name, err, out)
	}
	sshDir := filepath.Join(root, "home", name, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return err
	}
	ak := filepath.Join(sshDir, "authorized_keys")
	if err := os.WriteFile(ak, ssh.MarshalAuthorizedKey(key), 0o600); err != nil {
		return err
	}
	for _, p := range []string{sshDir, ak} {
		if err := os.Chown(p, uid, uid); err != nil {
			return err
		}
	}
	return nil
}

// dropHumanAccounts removes this machine's own human accounts (uid/gid 1000-59999) from the
// account databases under etc, so lab hosts look the same on every machine.
func dropHumanAccounts(etc string) error {
	human := func(id string) bool {
		n, err := strconv.Atoi(id)
		return err == nil && n >= 1000 && n < 60000
	}
	users := map[string]bool{}
	groups := map[string]bool{}
	// filter rewrites one colon-separated file; keep decides per line, members lists the fields
	// that hold comma-separated user names to clean.
	filter := func(name string, keep func(f []string) bool, members ...int) error {
		p := filepath.Join(etc, name)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		var out []string
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 3 {
				out = append(out, line)
				continue
			}
			if !keep(f) {
				continue
			}
			for _, m := range members {
				if m < len(f) && f[m] != "" {
					var kept []string
					for _, u := range strings.Split(f[m], ",") {
						if !users[u] {
							kept = append(kept, u)
						}
					}
					f[m] = strings.Join(kept, ",")
				}
			}
			out = append(out, strings.Join(f, ":"))
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), st.Mode().Perm())
	}
	if err := filter("passwd", func(f []string) bool {
		if len(f) > 3 && human(f[2]) {
			users[f[0]] = true
			return false
		}
		return true
	}); err != nil {
		return err
	}
	if err := filter("shadow", func(f []string) bool { return !users[f[0]] }); err != nil {
		return err
	}
	if err := filter("group", func(f []string) bool {
		if human(f[2]) {
			groups[f[0]] = true
			return false
		}
		return true
	}, 3); err != nil {
		return err
	}
	return filter("gshadow", func(f []string) bool { return !groups[f[0]] }, 2, 3)
}
