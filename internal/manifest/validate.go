package manifest

import (
	"fmt"
	"sort"
	"strings"
)

// validate checks what spans entries: unique names, references, per-host consistency, defaults.
// It fills defaults (port, transport, address) in place.
func validate(m *Manifest) []Diagnostic {
	var diags []Diagnostic
	at := func(path string) Pos {
		for p := path; p != ""; p = parent(p) {
			if pos, ok := m.Positions[p]; ok {
				return pos
			}
		}
		if len(m.Files) > 0 {
			return Pos{File: m.Files[0], Line: 1, Column: 1}
		}
		return Pos{}
	}
	errorf := func(path, format string, a ...any) {
		diags = append(diags, Diagnostic{Pos: at(path), Path: path, Message: fmt.Sprintf(format, a...)})
	}
	unique := func(kind, list string, names []string) map[string]int {
		idx := map[string]int{}
		for i, n := range names {
			if n == "" {
				continue
			}
			p := fmt.Sprintf("%s[%d].name", list, i)
			if j, dup := idx[n]; dup {
				errorf(p, "%s %q is defined twice: here and at %s", kind, n, at(fmt.Sprintf("%s[%d].name", list, j)))
				continue
			}
			idx[n] = i
		}
		return idx
	}

	keypairs := unique("key pair", "keypairs", mapNames(m.Keypairs, func(k Keypair) string { return k.Name }))
	users := unique("user", "users", mapNames(m.Users, func(u User) string { return u.Name }))
	groups := unique("host group", "hostGroups", mapNames(m.HostGroups, func(g HostGroup) string { return g.Name }))
	hosts := unique("host", "hosts", mapNames(m.Hosts, func(h Host) string { return h.Name }))

	uids := map[int]int{}
	for i, u := range m.Users {
		if u.UID != nil {
			if j, dup := uids[*u.UID]; dup {
				errorf(fmt.Sprintf("users[%d].uid", i), "uid %d of user %q is already used by user %q", *u.UID, u.Name, m.Users[j].Name)
			} else {
				uids[*u.UID] = i
			}
		}
		seen := map[string]bool{}
		for j, b := range u.Keypairs {
			p := fmt.Sprintf("users[%d].keypairs[%d]", i, j)
			if _, ok := keypairs[b.Keypair]; !ok {
				errorf(p, "user %q binds key pair %q, which is not defined under keypairs", u.Name, b.Keypair)
			}
			if seen[b.Keypair] {
				errorf(p, "user %q binds key pair %q twice", u.Name, b.Keypair)
			}
			seen[b.Keypair] = true
		}
	}
	for i, g := range m.HostGroups {
		seen := map[string]bool{}
		for j, u := range g.Users {
			p := fmt.Sprintf("hostGroups[%d].users[%d]", i, j)
			if _, ok := users[u]; !ok {
				errorf(p, "host group %q lists user %q, which is not defined under users", g.Name, u)
			}
			if seen[u] {
				errorf(p, "host group %q lists user %q twice", g.Name, u)
			}
			seen[u] = true
		}
	}
	for i := range m.Hosts {
		h := &m.Hosts[i]
		path := fmt.Sprintf("hosts[%d]", i)
		if h.OS == "" {
			h.OS = "linux"
		}
		if h.Transport == "" {
			h.Transport = "ssh"
			if h.OS == "windows" {
				h.Transport = "winrm"
			}
		}
		if h.Transport == "winrm" && h.OS != "windows" {
			errorf(path+".transport", "host %q: transport winrm needs os: windows", h.Name)
		}
		if h.Port == 0 {
			h.Port = 22
			if h.Transport == "winrm" {
				h.Port = 5986
			}
		}
		// An address left out stays empty: the inventory resolves it (ssh_config HostName, else
		// the name), and a default filled in here would hide HostName (issue 11).
		seen := map[string]bool{}
		for j, g := range h.Groups {
			p := fmt.Sprintf("%s.groups[%d]", path, j)
			if _, ok := groups[g]; !ok {
				errorf(p, "host %q is in host group %q, which is not defined under hostGroups", h.Name, g)
			}
			if seen[g] {
				errorf(p, "host %q lists host group %q twice", h.Name, g)
			}
			seen[g] = true
		}
		diags = append(diags, sshdConflicts(m, i, groups, at)...)
		if h.OS == "windows" {
			for _, un := range m.DesiredUsers(h) {
				ui, ok := users[un]
				if !ok {
					continue // an undefined user, reported above
				}
				u := m.Users[ui]
				if len(u.Name) > 20 {
					errorf(fmt.Sprintf("users[%d].name", ui), "user %q reaches Windows host %q; Windows names are at most 20 characters", u.Name, h.Name)
				}
			}
		}
	}
	validateClouds(m, keypairs, errorf, at)
	for i, e := range m.Policy.Exceptions {
		p := fmt.Sprintf("policy.exceptions[%d]", i)
		check := func(field, kind, name string, idx map[string]int) {
			if name == "" {
				return
			}
			if _, ok := idx[name]; !ok {
				errorf(p+"."+field, "exception for %s names %s %q, which is not defined", e.Rule, kind, name)
			}
		}
		check("hostGroup", "host group", e.HostGroup, groups)
		check("host", "host", e.Host, hosts)
		check("user", "user", e.User, users)
		check("keypair", "key pair", e.Keypair, keypairs)
	}
	if m.APIVersion == "" {
		m.APIVersion = APIVersion
	}
	return diags
}

// sshdConflicts reports a host whose groups set one sshd keyword to different values.
func sshdConflicts(m *Manifest, hi int, groups map[string]int, at func(string) Pos) []Diagnostic {
	h := m.Hosts[hi]
	type setting struct {
		value string
		group int
	}
	seen := map[string]setting{}
	var diags []Diagnostic
	for _, gname := range h.Groups {
		gi, ok := groups[gname]
		if !ok || m.HostGroups[gi].Sshd == nil {
			continue
		}
		for _, kv := range m.HostGroups[gi].Sshd.Settings() {
			prev, ok := seen[kv[0]]
			if !ok {
				seen[kv[0]] = setting{kv[1], gi}
				continue
			}
			if prev.value != kv[1] {
				p := fmt.Sprintf("hosts[%d]", hi)
				diags = append(diags, Diagnostic{Pos: at(p), Path: p, Message: fmt.Sprintf(
					"host %q gets conflicting sshd %s: %s from host group %q (%s) and %s from host group %q (%s)",
					h.Name, kv[0], prev.value, m.HostGroups[prev.group].Name, at(fmt.Sprintf("hostGroups[%d].sshd.%s", prev.group, kv[0])),
					kv[1], m.HostGroups[gi].Name, at(fmt.Sprintf("hostGroups[%d].sshd.%s", gi, kv[0])))})
			}
		}
	}
	return diags
}

// Settings lists the managed keywords as (manifest field, value) pairs, in a fixed order.
func (s *Sshd) Settings() [][2]string {
	var out [][2]string
	b := func(name string, v *bool) {
		if v != nil {
			out = append(out, [2]string{name, fmt.Sprint(*v)})
		}
	}
	b("passwordAuthentication", s.PasswordAuthentication)
	b("pubkeyAuthentication", s.PubkeyAuthentication)
	b("kbdInteractiveAuthentication", s.KbdInteractiveAuthentication)
	if s.PermitRootLogin != nil {
		out = append(out, [2]string{"permitRootLogin", *s.PermitRootLogin})
	}
	return out
}

// DesiredUsers lists, sorted, the names of users a host's groups list (whatever their state).
func (m *Manifest) DesiredUsers(h *Host) []string {
	set := map[string]bool{}
	for _, g := range m.HostGroups {
		if !containsStr(h.Groups, g.Name) {
			continue
		}
		for _, u := range g.Users {
			set[u] = true
		}
	}
	out := make([]string, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// PositionOf maps a policy path to where it is written: the path itself or its nearest written
// parent; the first file when nothing matches.
func (m *Manifest) PositionOf(path string) Pos {
	for p := path; p != ""; p = parent(p) {
		if pos, ok := m.Positions[p]; ok {
			return pos
		}
	}
	if len(m.Files) > 0 {
		return Pos{File: m.Files[0]}
	}
	return Pos{}
}

// parent strips the last ".field" or "[i]" of a path.
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mapNames[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
