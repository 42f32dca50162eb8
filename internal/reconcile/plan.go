package reconcile

import (
	"fmt"
	"sort"
	"strings"

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

// Change is one planned change. Before and After are short human descriptions, never secrets.
type Change struct {
	Host     string `json:"-"`
	Action   Action `json:"action"`
	Resource string `json:"resource"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Before   string `json:"before,omitempty"`
	After    string `json:"after,omitempty"`
	// Blocked says why apply cannot make this change (a missing home, a missing tool); a host
	// with a blocked change is not started.
	Blocked string `json:"blocked,omitempty"`
	// Ops are what apply runs for this change; see Op.
	Ops []Op `json:"ops,omitempty"`
}

// Guard states what a host's plan does to accessctl's own way in (policy rule `lockout`).
type Guard struct {
	Login              string `json:"login"`
	LoginUserRemoved   bool   `json:"loginUserRemoved"`
	LoginKeysRemoved   bool   `json:"loginKeysRemoved"`
	LoginSudoRemoved   bool   `json:"loginSudoRemoved"`
	PubkeyAuthDisabled bool   `json:"pubkeyAuthDisabled"`
}

// HostPlan is the plan of one host.
type HostPlan struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Error   string   `json:"error"`
	Changes []Change `json:"changes"`
	// Fingerprint is the digest of the live state the plan was made from (stale-plan check).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Unmanaged lists human accounts neither in the manifest nor created by accessctl.
	Unmanaged []string `json:"unmanaged,omitempty"`

	// Path is the host's policy path ("hosts[2]").
	Path  string           `json:"-"`
	Guard Guard            `json:"-"`
	Live  *hoststate.State `json:"-"`
	ops   *hostOps
	win   *WindowsHostPlan // set for Windows hosts; their apply goes through ApplyWindowsHost
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
