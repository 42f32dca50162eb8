package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/accessctl/accessctl/internal/access"
	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/policy"
	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
)

func init() {
	register("access", "report who can log in where, managed or not (changes nothing)", runAccess)
}

// hostRead is one host read for access or import: its live state, or why it could not be read.
type hostRead struct {
	target inventory.Target
	state  *hoststate.State
	err    error
}

// readFleet dials and reads every selected host of m in parallel with the extras x, in one
// round trip per host, and closes each connection at once. Hosts are returned in name order.
func (c *cli) readFleet(ctx context.Context, o *fleetOptions, m *manifest.Manifest, x hoststate.ReadExtras) ([]hostRead, int) {
	var shard inventory.Shard
	if o.shard != "" {
		s, err := inventory.ParseShard(o.shard)
		if err != nil {
			c.errorf("%v", err)
			return nil, exitUsage
		}
		shard = s
	}
	targets, err := inventory.Targets(m, inventory.Options{
		Limit: o.limit, Shard: shard, SSHConfigFile: o.sshConfig, KnownHostsFiles: o.knownHosts,
		IdentityFiles: o.identities, UseAgent: c.getenv("SSH_AUTH_SOCK") != "" || os.Getenv("SSH_AUTH_SOCK") != "",
		ConnectTimeout: o.connectTimeout, InsecureIgnoreHostKey: o.insecure,
	})
	if err != nil {
		c.errorf("%v", err)
		return nil, exitUsage
	}
	var mu sync.Mutex
	reads := map[string]*hostRead{}
	prog := c.progress("read")
	inventory.Run(ctx, targets, o.parallel, o.timeout, func(ctx context.Context, t inventory.Target) error {
		r := &hostRead{target: t}
		r.state, r.err = c.readHost(ctx, &o.winrm, m, t, x)
		mu.Lock()
		reads[t.Name] = r
		mu.Unlock()
		return r.err
	}, prog)
	c.progressDone(prog)
	out := make([]hostRead, 0, len(targets))
	for _, t := range targets {
		r, ok := reads[t.Name]
		if !ok {
			err := t.Err
			if err == nil {
				err = fmt.Errorf("not read")
			}
			r = &hostRead{target: t, err: err}
		}
		out = append(out, *r)
	}
	return out, exitOK
}

func (c *cli) readHost(ctx context.Context, wo *winrmOptions, m *manifest.Manifest, t inventory.Target, x hoststate.ReadExtras) (*hoststate.State, error) {
	d, err := c.dial(ctx, wo, t)
	if err != nil {
		return nil, err
	}
	defer d.conn.Close()
	switch t.Host.OS {
	case "windows":
		var users []string
		for _, u := range m.Users {
			if hoststate.ValidWinUserName(u.Name) {
				users = append(users, u.Name)
			}
		}
		w, err := hoststate.ReadWindows(ctx, d.conn, users)
		if err != nil {
			return nil, fmt.Errorf("read host: %w", err)
		}
		return &hoststate.State{OS: "windows", Windows: w}, nil
	case "", "linux":
		// The +access facts cover every account that may log in; the manifest's users are read
		// per user too, for what sshd decides for each of them (Match blocks: sshd -T -C per user,
		// the key files a Match block names).
		users := reconcile.ReadUsers(m, d.login)
		l, err := hoststate.ReadLinuxWith(ctx, d.conn, d.login == "root", users, x)
		if err != nil {
			return nil, fmt.Errorf("read host: %w", err)
		}
		return &hoststate.State{OS: "linux", Linux: l}, nil
	}
	return nil, fmt.Errorf("%s hosts are not supported by this version", t.Host.OS)
}

// loadForAccess reads the manifest, or, when no -f is given and access.yaml does not exist,
// only the inventory of -i (nothing is then managed).
func (c *cli) loadForAccess(o *checkOptions) (*manifest.Manifest, bool, int) {
	if len(o.files) == 0 && o.inventory != "" {
		if _, err := os.Stat("access.yaml"); err != nil {
			m, diags, err := manifest.LoadInventory(o.inventory)
			if err != nil {
				c.errorf("%s", strings.TrimPrefix(err.Error(), "usage: "))
				return nil, false, exitUsage
			}
			if len(diags) > 0 {
				_ = c.render(c.stderr, "text", diagFindings(diags), m.Files)
				return nil, false, exitInvalid
			}
			return m, false, exitOK
		}
	}
	m, diags, code := c.load(o)
	if code != exitOK {
		return nil, false, code
	}
	if len(diags) > 0 {
		_ = c.render(c.stderr, "text", diagFindings(diags), m.Files)
		c.errorf("the manifest is invalid; no host was contacted")
		return nil, false, exitInvalid
	}
	return m, true, exitOK
}

func runAccess(c *cli, args []string) int {
	fs := c.newFlags("access", "[-f PATH]... [-i FILE] [--limit GLOB] [--usage] [--format text|json|csv] [--out FILE]",
		"Read the hosts (changing nothing) and report effective access: every account that can log in or\n"+
			"elevate, managed or not, with its keys, password, AuthorizedKeysCommand, what blocks it, sudo\n"+
			"and groups. --usage adds the last accepted login per key and password from sshd's records.\n"+
			"Without -f and without access.yaml, -i alone reviews an unmanaged fleet.\n"+
			"Exit 0: all hosts read; 1: the manifest is invalid; 3: a host could not be read (the others\n"+
			"are still reported); 4: usage error.")
	var o fleetOptions
	o.bind(fs)
	if f := fs.Lookup("format"); f != nil {
		f.Usage = "output `FORMAT`: text, json or csv"
	}
	usage := fs.Bool("usage", false, "read sshd's login records and fill lastUsed (and judge stale-key)")
	out := fs.String("out", "", "write the report to `FILE` instead of standard output")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("access takes no arguments (got %q)", fs.Arg(0))
		return exitUsage
	}
	if o.format != "text" && o.format != "json" && o.format != "csv" {
		c.errorf("--format %q: want text, json or csv", o.format)
		return exitUsage
	}
	m, withManifest, code := c.loadForAccess(&o.check)
	if code != exitOK {
		return code
	}
	ctx := context.Background()
	now := time.Now()
	reads, code := c.readFleet(ctx, &o, m, hoststate.ReadExtras{Access: true, Usage: *usage})
	if code != exitOK {
		return code
	}
	var hosts []*access.Host
	var usageHosts []access.UsageHost
	for _, r := range reads {
		if r.err != nil {
			hosts = append(hosts, access.ErrorHost(r.target.Name, r.err))
			usageHosts = append(usageHosts, access.UsageHost{Name: r.target.Name})
			continue
		}
		d := access.DesiredFor(m, r.target.Host)
		switch {
		case r.state.Linux != nil:
			hosts = append(hosts, access.Linux(r.target.Name, r.state.Linux, d, now))
			uh := access.UsageHost{Name: r.target.Name, OK: true}
			if r.state.Linux.Extra != nil {
				uh.Usage = r.state.Linux.Extra.Usage
			}
			usageHosts = append(usageHosts, uh)
		case r.state.Windows != nil:
			hosts = append(hosts, access.Windows(r.target.Name, r.state.Windows, d))
			usageHosts = append(usageHosts, access.UsageHost{Name: r.target.Name})
		}
	}
	rep := access.NewReport(hosts)
	var b strings.Builder
	if err := report.RenderAccess(&b, o.format, rep); err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			c.errorf("write %s: %v", *out, err)
			return exitUsage
		}
	} else {
		fmt.Fprint(c.stdout, b.String())
	}
	// What the manifest does not grant to users it manages (foreign-access), and, with --usage,
	// the policies that judge live access (stale-key), warn on stderr.
	if withManifest {
		var usageIn map[string]any
		if *usage {
			usageIn = access.UsageInput(now, usageHosts)
		}
		if code := c.accessFindings(ctx, &o.check, m, usageIn, foreignAccess(m, rep)); code != exitOK {
			return code
		}
	}
	for _, h := range rep.Hosts {
		if h.Status != "ok" {
			fmt.Fprintf(c.stderr, "accessctl: error: %s: %s\n", h.Host, h.Error)
		}
	}
	if rep.Failed() > 0 {
		return exitHost
	}
	return exitOK
}

// accessFindings runs the policies with input.usage and prints their warnings on stderr; only
// the rules that judge usage (stale-key) are shown, the manifest's own are check's business.
func (c *cli) accessFindings(ctx context.Context, o *checkOptions, m *manifest.Manifest, usage map[string]any, keep []report.Finding) int {
	if usage == nil {
		if len(keep) > 0 {
			_ = c.render(c.stderr, "text", keep, m.Files)
		}
		return exitOK
	}
	eng, err := policy.New(ctx, o.policyDirs)
	if err != nil {
		c.errorf("load policies: %v", err)
		return exitUsage
	}
	input, err := policy.BuildInput(m, nil, policy.InputOptions{LookupEnv: c.lookupEnv, Usage: usage})
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	fs, err := eng.Eval(ctx, input, m)
	if err != nil {
		c.errorf("evaluate policies: %v", err)
		return exitInvalid
	}
	for _, f := range fs {
		if f.Rule == "stale-key" {
			keep = append(keep, f)
		}
	}
	if len(keep) > 0 {
		_ = c.render(c.stderr, "text", keep, m.Files)
	}
	return exitOK
}

// planUsageInput is input.usage of plan --usage (nil without it): the login records each host's
// read returned.
func planUsageInput(run *fleetRun) any {
	if !run.usage {
		return nil
	}
	var hosts []access.UsageHost
	for _, h := range run.plan.Hosts {
		uh := access.UsageHost{Name: h.Name}
		if h.Status == reconcile.StatusOK && h.Live != nil && h.Live.Linux != nil && h.Live.Linux.Extra != nil {
			uh.OK, uh.Usage = true, h.Live.Linux.Extra.Usage
		}
		hosts = append(hosts, uh)
	}
	return access.UsageInput(time.Now(), hosts)
}

// foreignAccess is the foreign-access rule (SPEC §4) of access: a key that sshd reads for a user
// the manifest manages on that host, which the manifest does not bind to that user there, and an
// AuthorizedKeysCommand that is not accessctl's pull mode.
func foreignAccess(m *manifest.Manifest, rep *access.Report) []report.Finding {
	userPath := map[string]string{}
	rdp := map[string]bool{}
	for i, u := range m.Users {
		userPath[u.Name] = fmt.Sprintf("users[%d]", i)
		rdp[u.Name] = u.RDP
	}
	var out []report.Finding
	for _, h := range rep.Hosts {
		for _, a := range h.Accounts {
			p, named := userPath[a.User]
			if !a.Managed || !named {
				continue
			}
			for _, k := range a.Paths {
				var msg string
				switch {
				case k.Kind == access.KindKey && !k.Managed:
					what := "a key the manifest does not know"
					if k.Keypair != "" {
						what = "key pair " + k.Keypair + ", which the manifest does not bind to " + a.User
					}
					msg = fmt.Sprintf("%s on %s can log in with %s (%s %s, %s:%d)", a.User, h.Host, what, k.Type, k.Fingerprint, k.File, k.Line)
				case k.Kind == access.KindKeyCommand && !strings.Contains(k.Command, "accessctl"):
					msg = fmt.Sprintf("%s on %s: sshd asks AuthorizedKeysCommand %s for keys, which the manifest does not grant", a.User, h.Host, k.Command)
				case k.Kind == access.KindRDP && k.Allowed && !rdp[a.User]:
					// Windows: membership (Administrators), the logon right and RDP on.
					msg = fmt.Sprintf("%s on %s can log on through Remote Desktop (%s), which the manifest does not grant (rdp: false)", a.User, h.Host, strings.Join(a.Groups, ", "))
				default:
					continue
				}
				out = append(out, report.Finding{Rule: "foreign-access", Severity: report.SeverityWarn, Message: msg,
					Path: p, Host: h.Host, File: posOf(m, p).File, Line: posOf(m, p).Line, Column: posOf(m, p).Column})
			}
		}
	}
	return out
}

func posOf(m *manifest.Manifest, path string) manifest.Pos {
	if pos, ok := m.Positions[path]; ok {
		return pos
	}
	if len(m.Files) > 0 {
		return manifest.Pos{File: m.Files[0]}
	}
	return manifest.Pos{}
}
