package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Action is what a change does to a resource.
type Action string

// Actions, SPEC §5.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Resources, SPEC §5.
const (
	ResUser     = "user"
	ResKeys     = "authorized_keys"
	ResPassword = "password"
	ResSudo     = "sudo"
	ResGroup    = "group_membership"
	ResSshd     = "sshd"
)

// Host statuses.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// FormatVersion of the JSON plan.
const FormatVersion = "1"

// Change is one planned change. Action, Resource, Name, Before, After and Reason are for
// people (renderers read only these, and Blocked); apply and the lockout guard read only Ops.
// Before and After are structured values a reviewer can judge (for keys, the list of keys with
// key pair, fingerprint, type, options and file); never a secret.
type Change struct {
	Host     string `json:"-"`
	Action   Action `json:"action"`
	Resource string `json:"resource"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Before   any    `json:"before,omitempty"`
	After    any    `json:"after,omitempty"`
	// Blocked says why apply cannot make this change (a missing home, a missing tool); a host
	// with a blocked change is not started.
	Blocked string `json:"blocked,omitempty"`
	// Result is what apply made of the change when it reports per change ("applied", "failed:
	// ...", "blocked: ..."); cloud registries do (cloud.go). Empty in a plan.
	Result string `json:"result,omitempty"`
	// Ops are what apply runs for this change; see Op. Only plan files (--out) hold them.
	Ops []Op `json:"ops,omitempty"`
}

// HostPlan is the plan of one host (or of one cloud registry, named "cloud NAME").
type HostPlan struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Error   string   `json:"error"`
	Changes []Change `json:"changes"`
	// Fingerprint is the digest of the live state the plan was made from (stale-plan check).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Findings are what the plan saw about effective access for the policy rules
	// (foreign-access, login-blocked); input.plan.hosts[].findings.
	Findings []Finding `json:"findings,omitempty"`
	// Directory lists the desired users that are directory accounts (NSS, not in /etc/passwd):
	// accessctl manages their keys and sudo, never creates or modifies the account.
	Directory []string `json:"directory,omitempty"`
	// Unmanaged lists human accounts neither in the manifest nor created by accessctl.
	Unmanaged []string `json:"unmanaged,omitempty"`
	// Apply is what apply needs besides the changes' Ops: how to reach and re-read the host,
	// and the bookkeeping written with the changes. Only plan files (--out) hold it.
	Apply *HostApply `json:"apply,omitempty"`

	// Path is the host's policy path ("hosts[2]").
	Path  string           `json:"-"`
	Guard Guard            `json:"-"`
	Live  *hoststate.State `json:"-"`
}

// HostApply is the part of a host's plan that only apply reads.
type HostApply struct {
	// Host is the inventory entry the plan was made for (address, port, login, os, transport).
	Host manifest.Host `json:"host"`
	// ReadUsers are the accounts the host read covered; apply reads the same ones again to
	// compare the live-state fingerprint.
	ReadUsers []string `json:"readUsers"`
	// Root: the login is root (no sudo).
	Root bool `json:"root,omitempty"`
	// Generation is the run id of the last apply committed on the host when it was read; the
	// apply script refuses to start when another run changed the host since.
	Generation string `json:"generation,omitempty"`
	// Record is accessctl's state record (Linux: /var/lib/accessctl/state.json) as it will be
	// after the changes; apply stamps the time.
	Record *hoststate.Record `json:"record,omitempty"`
	// WinRecord is the same for Windows (C:\ProgramData\accessctl\state.json).
	WinRecord *hoststate.WinRecord `json:"winRecord,omitempty"`
}

// Summary counts a plan's changes.
type Summary struct {
	Create      int `json:"create"`
	Update      int `json:"update"`
	Delete      int `json:"delete"`
	HostsFailed int `json:"hostsFailed"`
}

// Plan is the plan of a run, SPEC §5.
type Plan struct {
	FormatVersion string      `json:"formatVersion"`
	Hosts         []*HostPlan `json:"hosts"`
	Summary       Summary     `json:"summary"`
}

// NewPlan assembles host plans (sorted by name) and counts them.
func NewPlan(hosts []*HostPlan) *Plan {
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	p := &Plan{FormatVersion: FormatVersion, Hosts: hosts}
	for _, h := range hosts {
		if h.Changes == nil {
			h.Changes = []Change{}
		}
		if h.Status == StatusError {
			p.Summary.HostsFailed++
		}
		for _, c := range h.Changes {
			switch c.Action {
			case Create:
				p.Summary.Create++
			case Update:
				p.Summary.Update++
			case Delete:
				p.Summary.Delete++
			}
		}
	}
	return p
}

// HasChanges reports whether any host has a change.
func (p *Plan) HasChanges() bool {
	return p.Summary.Create+p.Summary.Update+p.Summary.Delete > 0
}

// ErrorPlan is the plan of a host that could not be read.
func ErrorPlan(h manifest.Host, path string, err error) *HostPlan {
	return &HostPlan{Name: h.Name, Path: path, Status: StatusError, Error: err.Error(), Changes: []Change{}}
}

// Options are what planning needs beyond the manifest and the live state.
type Options struct {
	// Login is the user accessctl logs in as on the host.
	Login string
	// LoginKeys are the SHA256 fingerprints of the public keys accessctl authenticated with.
	LoginKeys []string
	// LookupEnv reads password environment variables (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Today is the run's date as days since 1970-01-01 (account expiry is in days).
	Today int
	// Recover: restore what applies killed mid-way left before reading (apply only).
	Recover bool
	// Waits bound the wait for the host's apply lock (Recover).
	Waits Waits
	// Now is the run's time (pull-mode snapshots: generatedAt, notAfter). Planning reads no clock.
	Now time.Time
	// Pull configures pull mode for hosts whose groups say keys: pull (pull.go); nil: defaults
	// (unsigned, the plug-in must be on the host, DefaultSnapshotMaxAge).
	Pull *PullOptions
	// Usage also reads sshd's login records (--usage; the live state's Extra.Usage).
	Usage bool
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ",")
}
