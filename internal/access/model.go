package access

import (
	"encoding/json"
	"time"
)

// FormatVersion of the JSON report.
const FormatVersion = "1"

// Report is the access review of a run (SPEC §2b).
type Report struct {
	FormatVersion string  `json:"formatVersion"`
	Hosts         []*Host `json:"hosts"`
}

// Host is the access on one host. Status is "ok" or "error" (then Error says why and Accounts is
// empty).
type Host struct {
	Host     string    `json:"host"`
	Status   string    `json:"status"`
	Error    string    `json:"error"`
	Accounts []Account `json:"accounts"`

	// OS is "linux" or "windows".
	OS string `json:"-"`
	// Usage says how far the host's login records reach; nil without --usage.
	Usage *Coverage `json:"-"`
}

// Coverage is the reach of a host's login records.
type Coverage struct {
	// Since is the oldest time every source read reaches back to (zero: no records at all).
	Since time.Time
	// Sources are the journald / log file names read.
	Sources []string
}

// Account is one account that can log in or elevate, or a human account that cannot (then
// BlockedBy says why).
type Account struct {
	User string `json:"user"`
	// UID is the numeric uid on Linux, the SID on Windows.
	UID       any      `json:"uid"`
	Managed   bool     `json:"managed"`
	CanLogIn  bool     `json:"canLogIn"`
	BlockedBy []string `json:"blockedBy"`
	Paths     []Path   `json:"paths"`
	Sudo      Sudo     `json:"sudo"`
	Groups    []string `json:"groups"`
}

// Sudo is effective elevation: `sudo -l -U` on Linux, Administrators on Windows.
type Sudo struct {
	Allowed  bool     `json:"allowed"`
	NoPasswd bool     `json:"nopasswd"`
	Rules    []string `json:"rules"`
}

// Path kinds.
const (
	KindKey        = "key"
	KindPassword   = "password"
	KindKeyCommand = "keyCommand"
	KindRDP        = "rdp"
)

// Path is one way into an account. Only the fields of its Kind are rendered.
type Path struct {
	Kind string
	// key: the file and line it is on, the key's facts, the manifest's key pair name ("" when
	// the manifest does not know the key), its options, whether the manifest binds it to this
	// user on this host.
	File        string
	Line        int
	Fingerprint string
	Type        string
	Keypair     string
	Options     []string
	Managed     bool
	// Comment is the key's comment (not rendered in JSON; import names key pairs from it).
	Comment string
	// Line is the public key without options (import's publicKey).
	PublicKey string
	// LastUsed is the newest accepted login with this key (keys) or password; nil when unknown
	// or without --usage.
	LastUsed *time.Time
	// password, rdp: whether the server lets it be used.
	Allowed bool
	// keyCommand: sshd's AuthorizedKeysCommand.
	Command string
}

// MarshalJSON renders exactly SPEC §2b's fields for the path's kind.
func (p Path) MarshalJSON() ([]byte, error) {
	var last any
	if p.LastUsed != nil {
		last = p.LastUsed.UTC().Format(time.RFC3339)
	}
	switch p.Kind {
	case KindKey:
		var kp any
		if p.Keypair != "" {
			kp = p.Keypair
		}
		opts := p.Options
		if opts == nil {
			opts = []string{}
		}
		return json.Marshal(struct {
			Kind        string   `json:"kind"`
			File        string   `json:"file"`
			Fingerprint string   `json:"fingerprint"`
			Type        string   `json:"type"`
			Keypair     any      `json:"keypair"`
			Options     []string `json:"options"`
			Managed     bool     `json:"managed"`
			LastUsed    any      `json:"lastUsed"`
		}{p.Kind, p.File, p.Fingerprint, p.Type, kp, opts, p.Managed, last})
	case KindPassword, KindRDP:
		return json.Marshal(struct {
			Kind     string `json:"kind"`
			Allowed  bool   `json:"allowed"`
			LastUsed any    `json:"lastUsed"`
		}{p.Kind, p.Allowed, last})
	case KindKeyCommand:
		return json.Marshal(struct {
			Kind    string `json:"kind"`
			Command string `json:"command"`
		}{p.Kind, p.Command})
	}
	return json.Marshal(struct {
		Kind string `json:"kind"`
	}{p.Kind})
}

// UnmarshalJSON reads a path back (report merge, tests).
func (p *Path) UnmarshalJSON(b []byte) error {
	var v struct {
		Kind        string   `json:"kind"`
		File        string   `json:"file"`
		Fingerprint string   `json:"fingerprint"`
		Type        string   `json:"type"`
		Keypair     *string  `json:"keypair"`
		Options     []string `json:"options"`
		Managed     bool     `json:"managed"`
		LastUsed    *string  `json:"lastUsed"`
		Allowed     bool     `json:"allowed"`
		Command     string   `json:"command"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Path{Kind: v.Kind, File: v.File, Fingerprint: v.Fingerprint, Type: v.Type, Options: v.Options,
		Managed: v.Managed, Allowed: v.Allowed, Command: v.Command}
	if v.Keypair != nil {
		p.Keypair = *v.Keypair
	}
	if v.LastUsed != nil {
		if t, err := time.Parse(time.RFC3339, *v.LastUsed); err == nil {
			p.LastUsed = &t
		}
	}
	return nil
}
