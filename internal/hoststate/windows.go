package hoststate

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"strings"

	"github.com/accessctl/accessctl/internal/transport"
)

// The Windows side of hoststate: the embedded READ script (Windows PowerShell 5.1,
// windows/read.ps1), which changes nothing and prints one document ([Windows]). The APPLY script
// and its change set live in reconcile/windows (hoststate only reads). Both are sent through transport.Conn.Run as a PowerShell script with their
// JSON input on stdin (the WinRM and SSH transports deliver it through a small bootstrap, so no
// script or payload ever reaches a command line).

//go:embed windows/read.ps1
var readWindowsScript string

// ReadWindowsScript is the READ script sent to Windows hosts.
func ReadWindowsScript() string { return readWindowsScript }

// Well-known SIDs and the paths accessctl uses on Windows (SPEC §6). Groups are always addressed
// by SID: their names are localised ("Administratoren", "Administrateurs", ...).
const (
	SIDAdministrators     = "S-1-5-32-544"
	SIDRemoteDesktopUsers = "S-1-5-32-555"
	SIDSystem             = "S-1-5-18"
	WinAdminKeysPath      = `C:\ProgramData\ssh\administrators_authorized_keys`
	WinStatePath          = `C:\ProgramData\accessctl\state.json`
)

// Frame markers of the scripts' output.
const (
	winReadMarker  = "@@accessctl-windows-read 1"
	winApplyMarker = "@@accessctl-windows-apply 1"
	winEndMarker   = "@@end"
)

// WinMaxUserName is the longest local account name Windows accepts.
const WinMaxUserName = 20

// ValidWinUserName reports whether name is a manifest user name that fits a Windows host.
func ValidWinUserName(name string) bool { return names.WindowsUser(name) }

// WinLogin is the account the scripts run as.
type WinLogin struct {
	Name  string `json:"name"` // DOMAIN\user as Windows spells it
	SID   string `json:"sid"`
	Admin bool   `json:"admin"` // member of Administrators with an elevated token
}

// WinUser is one local account (Get-LocalUser).
type WinUser struct {
	Name        string `json:"name"`
	SID         string `json:"sid"`
	Enabled     bool   `json:"enabled"`
	FullName    string `json:"fullName"`
	Description string `json:"description"`
	// Profile is the profile directory from the registry, "" before the account's first logon.
	Profile string `json:"profile"`
}

// Human reports whether the account is a person's: not one of the built-in accounts (RID < 1000:
// Administrator 500, Guest 501, DefaultAccount 503, WDAGUtilityAccount 504).
func (u WinUser) Human() bool {
	i := strings.LastIndexByte(u.SID, '-')
	if i < 0 {
		return false
	}
	rid := u.SID[i+1:]
	return len(rid) >= 4 && strings.Trim(rid, "0123456789") == ""
}

// WinMember is one member of a local group.
type WinMember struct {
	SID    string `json:"sid"`
	Name   string `json:"name"`   // "" for an orphaned SID
	Class  string `json:"class"`  // User, Group, Win32_UserAccount, ...
	Source string `json:"source"` // Local, ActiveDirectory, ... ("" through WMI)
}

// WinGroup is a local group, read by SID.
type WinGroup struct {
	SID  string `json:"sid"`
	Name string `json:"name"` // localised; for messages only
	// Via is "cmdlet" (Get-LocalGroupMember) or "wmi" (the fallback when the cmdlet failed, as it
	// does on orphaned SIDs; then CmdletError holds its message).
	Via         string      `json:"via"`
	CmdletError string      `json:"cmdletError"`
	Members     []WinMember `json:"members"`
}

// HasMember reports whether sid is a member.
func (g *WinGroup) HasMember(sid string) bool {
	if g == nil {
		return false
	}
	for _, m := range g.Members {
		if strings.EqualFold(m.SID, sid) {
			return true
		}
	}
	return false
}

// Windows key file kinds beyond the Linux ones.
const (
	// KindNoProfile: the account has no profile yet, so it has no key file.
	KindNoProfile FileKind = "noprofile"
)

// WinKeyFile is an authorized_keys file and whether its ACL is as OpenSSH for Windows requires.
type WinKeyFile struct {
	Path    string   `json:"path"`
	Kind    FileKind `json:"kind"`
	Content string   `json:"content"`
	Owner   string   `json:"owner"`
	ACL     []string `json:"acl"` // "SID:Allow:FullControl"
	// ACLOK: inheritance removed, owner and every rule among the allowed SIDs (Administrators,
	// SYSTEM, and for a user's own file the user), no Deny rule.
	ACLOK bool `json:"aclOk"`
}

// WinFile is a file read whole (state.json).
type WinFile struct {
	Path    string   `json:"path"`
	Kind    FileKind `json:"kind"`
	Content string   `json:"content"`
}

// WinRecord is accessctl's record on a Windows host (C:\ProgramData\accessctl\state.json).
type WinRecord struct {
	FormatVersion string `json:"formatVersion"`
	// Created are the accounts accessctl created.
	Created []string `json:"created"`
	// Keys are the keys accessctl installed, per user (also those in administrators_authorized_keys).
	Keys map[string][]InstalledKey `json:"keys"`
	// Passwords are salted PBKDF2 stamps of the passwords accessctl set, per user, so a later
	// plan can tell whether the manifest's password changed. Never a reversible form.
	Passwords   map[string]string `json:"passwords,omitempty"`
	LastApplied string            `json:"lastApplied,omitempty"`
}

// CreatedUser reports whether accessctl created the account on this host.
func (r *WinRecord) CreatedUser(name string) bool {
	for _, c := range r.Created {
		if c == name {
			return true
		}
	}
	return false
}

// Windows is what a Windows host has now, as READ reports it.
type Windows struct {
	FormatVersion string                `json:"formatVersion"`
	Computer      string                `json:"computer"`
	PSVersion     string                `json:"psVersion"`
	Login         WinLogin              `json:"login"`
	Users         []WinUser             `json:"users"`
	Groups        []WinGroup            `json:"groups"`
	AdminKeys     WinKeyFile            `json:"adminKeys"`
	UserKeys      map[string]WinKeyFile `json:"userKeys"`
	State         WinFile               `json:"state"`
	// SshdConfig is C:\ProgramData\ssh\sshd_config, read whole (kind absent: OpenSSH's default).
	SshdConfig WinFile `json:"sshdConfig"`
	// RDP is what decides Remote Desktop logons: fDenyTSConnections and the user rights
	// (nil in a document from an older READ: then RDP is not judged).
	RDP *WinRDP `json:"rdp"`

	// Record is State parsed; RecordError says why it could not be used ("" when absent or fine).
	Record      WinRecord `json:"-"`
	RecordError string    `json:"-"`
	// Fingerprint is a digest of the document, for stale-plan detection.
	Fingerprint string `json:"-"`
}

// User returns the named account (case-insensitively, as Windows compares), or nil.
func (w *Windows) User(name string) *WinUser {
	for i := range w.Users {
		if strings.EqualFold(w.Users[i].Name, name) {
			return &w.Users[i]
		}
	}
	return nil
}

// Group returns the group with the SID, or nil.
func (w *Windows) Group(sid string) *WinGroup {
	for i := range w.Groups {
		if w.Groups[i].SID == sid {
			return &w.Groups[i]
		}
	}
	return nil
}

// ParseWindows parses the framed output of the READ script. It never panics; an error says
// what is missing or malformed.
func ParseWindows(out []byte) (*Windows, error) {
	doc, err := unframe(out, winReadMarker)
	if err != nil {
		return nil, err
	}
	var w Windows
	if err := json.Unmarshal(doc, &w); err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	if w.FormatVersion != "1" {
		return nil, fmt.Errorf("read document has format version %q, want 1", w.FormatVersion)
	}
	if w.Login.SID == "" {
		return nil, fmt.Errorf("read document names no login")
	}
	if w.Group(SIDAdministrators) == nil || w.Group(SIDRemoteDesktopUsers) == nil {
		return nil, fmt.Errorf("read document lacks the Administrators or Remote Desktop Users group")
	}
	for _, u := range w.Users {
		if u.Name == "" || u.SID == "" {
			return nil, fmt.Errorf("read document has a user without name or SID")
		}
	}
	if w.UserKeys == nil {
		w.UserKeys = map[string]WinKeyFile{}
	}
	sum := sha256.Sum256(doc)
	w.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	w.Record, w.RecordError = parseWinRecord(w.State)
	return &w, nil
}

func parseWinRecord(f WinFile) (WinRecord, string) {
	r := WinRecord{FormatVersion: "1", Keys: map[string][]InstalledKey{}, Passwords: map[string]string{}}
	switch f.Kind {
	case KindAbsent, "":
		return r, ""
	case KindFile:
	default:
		return r, fmt.Sprintf("%s is a %s, not a file", WinStatePath, f.Kind)
	}
	var got WinRecord
	if err := json.Unmarshal([]byte(strings.TrimPrefix(f.Content, "\ufeff")), &got); err != nil {
		return r, fmt.Sprintf("%s is not valid JSON: %v", WinStatePath, err)
	}
	if got.FormatVersion != "1" {
		return r, fmt.Sprintf("%s has format version %q", WinStatePath, got.FormatVersion)
	}
	if got.Keys == nil {
		got.Keys = map[string][]InstalledKey{}
	}
	if got.Passwords == nil {
		got.Passwords = map[string]string{}
	}
	return got, ""
}

// maxWinOutput bounds what the parsers accept.
const maxWinOutput = 64 << 20

// unframe finds "marker\n<base64>\n@@end" in out, ignoring anything around it (a profile or a
// module may print), and returns the decoded document.
// Unframe is unframe, for the APPLY report (reconcile/windows).
func Unframe(out []byte, marker string) ([]byte, error) { return unframe(out, marker) }

func unframe(out []byte, marker string) ([]byte, error) {
	if len(out) > maxWinOutput {
		return nil, fmt.Errorf("output is larger than %d bytes", maxWinOutput)
	}
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	i := strings.Index(text, marker+"\n")
	if i < 0 {
		return nil, fmt.Errorf("no %q frame in the output", marker)
	}
	rest := text[i+len(marker)+1:]
	body, tail, ok := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(tail, winEndMarker) {
		return nil, fmt.Errorf("frame %q is not terminated", marker)
	}
	doc, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
	if err != nil {
		return nil, fmt.Errorf("frame %q: %w", marker, err)
	}
	return bytes.TrimPrefix(doc, []byte("\ufeff")), nil
}

// Frame renders doc as the scripts frame their output (used by the simulator and tests).
func Frame(marker string, doc []byte) []byte {
	return []byte(marker + "\n" + base64.StdEncoding.EncodeToString(doc) + "\n" + winEndMarker + "\n")
}

// WinReadMarker and WinApplyMarker are the frame markers of READ and APPLY output.
const (
	WinReadMarker  = winReadMarker
	WinApplyMarker = winApplyMarker
)

// WinNoOpScript is the privileged no-op run over a fresh connection after an apply (SPEC §7):
// it exits 0 only for an administrator.
const WinNoOpScript = `$p = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) { [Console]::Error.WriteLine('not an administrator'); exit 1 }
exit 0
`

// WinReadRequest is READ's input.
type WinReadRequest struct {
	// Users are the accounts whose %USERPROFILE%\.ssh\authorized_keys is read.
	Users []string `json:"users"`
}

// ReadWindows reads a Windows host in one round trip: the READ script with the request on stdin.
func ReadWindows(ctx context.Context, c transport.Conn, users []string) (*Windows, error) {
	req := WinReadRequest{Users: []string{}}
	for _, u := range users {
		if !ValidWinUserName(u) {
			return nil, fmt.Errorf("invalid Windows user name %q", u)
		}
		req.Users = append(req.Users, u)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, readWindowsScript, bytes.NewReader(in), &stdout, &stderr)
	if err != nil {
		return nil, fmt.Errorf("run read script: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("read script exited with status %d: %s", code, Bounded(stderr.String()))
	}
	w, err := ParseWindows(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parse read output: %w", err)
	}
	if !w.Login.Admin {
		return nil, fmt.Errorf("read script did not run as an administrator (%s); WinRM logins of local accounts other than Administrator are filtered by UAC unless LocalAccountTokenFilterPolicy is set", w.Login.Name)
	}
	return w, nil
}
