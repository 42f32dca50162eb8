// Package windows is the apply side of Windows hosts: the change set that APPLY (apply.ps1,
// Windows PowerShell 5.1, run over WinRM or PowerShell over SSH) makes, and running it. The plan
// (reconcile) builds change sets from its windows.change ops; hoststate only reads.
package windows

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/transport"
)

//go:embed apply.ps1
var applyScript string

// ApplyScript is the APPLY script; it reads its change set from stdin.
func ApplyScript() string { return applyScript }

// NoOpScript is the privileged no-op run over a fresh connection after an apply (SPEC §7).
const NoOpScript = hoststate.WinNoOpScript

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if s == "" {
		return "no error output"
	}
	return s
}

// APPLY change operations.
const (
	OpCreateUser   = "createUser"
	OpSetUser      = "setUser"
	OpSetPassword  = "setPassword"
	OpEnableUser   = "enableUser"
	OpDisableUser  = "disableUser"
	OpRemoveUser   = "removeUser"
	OpAddMember    = "addMember"
	OpRemoveMember = "removeMember"
	OpWriteKeys    = "writeKeys"
	OpWriteState   = "writeState"
)

// NotUndoable is the one list of APPLY changes that cannot be undone, with why: a rollback
// leaves them done and says so. The APPLY script (apply.ps1) records the same reasons
// (a test checks they agree), and the simulator follows this list.
var NotUndoable = map[string]string{
	OpSetPassword: "the previous password is unknown",
	OpRemoveUser:  "a removed account cannot be restored with its SID",
}

// Change is one change APPLY makes. Every field is always encoded (the script runs under
// Set-StrictMode, where a missing property is an error).
type Change struct {
	ID          int    `json:"id"`
	Op          string `json:"op"`
	User        string `json:"user"`
	FullName    string `json:"fullName"`
	Description string `json:"description"`
	// Password is the plaintext for createUser/setPassword. It travels only inside the stdin
	// payload; use Redacted for anything shown.
	Password string `json:"password"`
	Disabled bool   `json:"disabled"` // createUser: create disabled (state locked)
	Group    string `json:"group"`    // addMember/removeMember: SIDAdministrators or SIDRemoteDesktopUsers
	SID      string `json:"sid"`      // removeMember: the member's SID (an orphan has no name)
	File     string `json:"file"`     // writeKeys: "admin" or "user"
	Content  string `json:"content"`  // writeKeys, writeState: the whole file
	FixACL   bool   `json:"fixAcl"`   // writeKeys: rewrite even when the content is equal
}

// ChangeSet is APPLY's input, in the order the changes are made.
type ChangeSet struct {
	FormatVersion string   `json:"formatVersion"`
	Changes       []Change `json:"changes"`
}

// Redacted returns a copy with every password replaced by "<redacted>" (or left "" when none).
func (s *ChangeSet) Redacted() *ChangeSet {
	out := &ChangeSet{FormatVersion: s.FormatVersion, Changes: append([]Change(nil), s.Changes...)}
	for i := range out.Changes {
		if out.Changes[i].Password != "" {
			out.Changes[i].Password = "<redacted>"
		}
	}
	return out
}

// Result statuses of APPLY.
const (
	Done          = "done"
	Unchanged     = "unchanged"
	Failed        = "failed"
	Skipped       = "skipped"
	RolledBack    = "rolledBack"
	NotRolledBack = "notRolledBack"
)

// Result is what became of one change.
type Result struct {
	ID     int    `json:"id"`
	Op     string `json:"op"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// ApplyReport is APPLY's answer.
type ApplyReport struct {
	FormatVersion  string   `json:"formatVersion"`
	OK             bool     `json:"ok"`
	Results        []Result `json:"results"`
	RollbackErrors []string `json:"rollbackErrors"`
}

// ParseApplyReport parses the framed output of the APPLY script.
func ParseApplyReport(out []byte) (*ApplyReport, error) {
	doc, err := hoststate.Unframe(out, hoststate.WinApplyMarker)
	if err != nil {
		return nil, err
	}
	var r ApplyReport
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("apply report: %w", err)
	}
	if r.FormatVersion != "1" {
		return nil, fmt.Errorf("apply report has format version %q, want 1", r.FormatVersion)
	}
	return &r, nil
}

// ApplyWindows runs APPLY with set on stdin. A report is returned whenever the script produced
// one, also when a change failed (then report.OK is false and err is nil): the caller reads per
// change what was done, rolled back or left.
func Apply(ctx context.Context, c transport.Conn, set *ChangeSet) (*ApplyReport, error) {
	if set.FormatVersion == "" {
		set.FormatVersion = "1"
	}
	in, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, applyScript, bytes.NewReader(in), &stdout, &stderr)
	clear(in)
	if err != nil {
		return nil, fmt.Errorf("run apply script: %w", err)
	}
	rep, perr := ParseApplyReport(stdout.Bytes())
	if perr != nil {
		if code != 0 {
			return nil, fmt.Errorf("apply script exited with status %d: %s", code, hoststate.Bounded(stderr.String()))
		}
		return nil, fmt.Errorf("parse apply output: %w", perr)
	}
	if len(rep.Results) != len(set.Changes) {
		return rep, fmt.Errorf("apply report has %d results for %d changes", len(rep.Results), len(set.Changes))
	}
	return rep, nil
}
