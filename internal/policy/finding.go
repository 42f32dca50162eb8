package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/manifest"
)

// Severities of a finding: a deny fails check (exit 1), a warn is reported only.
const (
	SeverityDeny = "deny"
	SeverityWarn = "warn"
)

// Finding is one rule's verdict on one place in the manifest, in the shape of SPEC §5.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Path     string `json:"path"`
	// Host is set for findings about one live host (plan and apply).
	Host string `json:"host,omitempty"`
}

// Pos returns where the finding is, as a manifest position.
func (f Finding) Pos() manifest.Pos {
	return manifest.Pos{File: f.File, Line: f.Line, Column: f.Column}
}

// locate maps a policy path to where it is written: the path itself, else its nearest written
// parent ("users[1].password.env" → "users[1].password" → "users[1]"), else the first file.
func locate(m *manifest.Manifest, path string) manifest.Pos {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := m.Positions[p]; ok {
			return pos
		}
	}
	if len(m.Files) > 0 {
		return manifest.Pos{File: m.Files[0]}
	}
	return manifest.Pos{}
}

// parentPath strips the last ".field" or "[i]" from a path; "" when nothing is left.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// entity names what a path points into: ("users", 3) for "users[3].password".
func entity(path string) (kind string, index int, ok bool) {
	open := strings.IndexByte(path, '[')
	if open <= 0 {
		return "", 0, false
	}
	end := strings.IndexByte(path[open:], ']')
	if end < 0 {
		return "", 0, false
	}
	i, err := strconv.Atoi(path[open+1 : open+end])
	if err != nil || i < 0 {
		return "", 0, false
	}
	return path[:open], i, true
}

// waived reports whether an unexpired exception for f's rule names the entity f's path points
// into, or f's host. today is YYYY-MM-DD; an exception applies through its expiry date.
func waived(m *manifest.Manifest, f Finding, today string) bool {
	if len(m.Policy.Exceptions) == 0 {
		return false
	}
	var user, keypair, group, host string
	if kind, i, ok := entity(f.Path); ok {
		switch {
		case kind == "users" && i < len(m.Users):
			user = m.Users[i].Name
		case kind == "keypairs" && i < len(m.Keypairs):
			keypair = m.Keypairs[i].Name
		case kind == "hostGroups" && i < len(m.HostGroups):
			group = m.HostGroups[i].Name
		case kind == "hosts" && i < len(m.Hosts):
			host = m.Hosts[i].Name
		}
	}
	for _, e := range m.Policy.Exceptions {
		if e.Rule != f.Rule || e.Expires < today {
			continue
		}
		switch {
		case e.User != "" && e.User == user,
			e.Keypair != "" && e.Keypair == keypair,
			e.HostGroup != "" && e.HostGroup == group,
			e.Host != "" && (e.Host == host || e.Host == f.Host):
			return true
		}
	}
	return false
}

// sortFindings orders findings by file, line, column and rule (then the rest, for a stable
// order) and drops exact duplicates.
func sortFindings(fs []Finding) []Finding {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(fs)
}
