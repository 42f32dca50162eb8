package hoststate

import (
	"fmt"
	"strconv"
	"strings"
)

// Effective access (HOSTS.md §11): what sshd and sudo decide for the users asked about, beyond the
// files accessctl writes. The read script sends these sections; a host read by an older script
// lacks them and Effective.Read is false.

// KeyPathFile is a file other than ~/.ssh/authorized_keys from which sshd may read a user's keys
// (an AuthorizedKeysFile path with its tokens expanded).
type KeyPathFile struct {
	Path string `json:"path"`
	File
}

// Conn is the effective sshd configuration for one user and one kind of connection, as
// `sshd -T -C user=U,host=H,addr=A` reported it (only the keywords accessctl judges).
type Conn struct {
	User string `json:"user"`
	Addr string `json:"addr"`
	Host string `json:"host"`
	// Local is "lport=N" or "laddr=A" for a Match LocalPort/LocalAddress connection, else "".
	Local  string            `json:"local,omitempty"`
	Values map[string]string `json:"values"`
	// Error is sshd's output when it failed.
	Error string `json:"error,omitempty"`
}

// PathStat is the owner and permission bits of a path.
type PathStat struct {
	UID  int    `json:"uid"`
	Mode uint32 `json:"mode"`
}

// SudoList is what `sudo -l -U USER` said about one user.
type SudoList struct {
	// Level is "nopasswd" or "true" (manifest words) when a rule grants every command as any
	// user, "" when none does.
	Level string `json:"level"`
	// Rules are the rule lines sudo printed ("(ALL : ALL) NOPASSWD: ALL").
	Rules []string `json:"rules,omitempty"`
	// Error is sudo's output when it failed.
	Error string `json:"error,omitempty"`
	// Outside: Level is what rules outside accessctl's drop-in grant (judged from plain rules
	// without sudo -l); otherwise it is sudo -l's answer, the drop-in included.
	Outside bool `json:"outside,omitempty"`
}

// Effective is the effective-access part of a Linux read.
type Effective struct {
	// Read: the host sent these sections (false for an older read script).
	Read bool `json:"read"`
	// Local says which of the users asked about /etc/passwd holds; the others that resolve by
	// name come from a directory (NSS: SSSD, LDAP, systemd-userdb).
	Local map[string]bool `json:"local"`
	// Homes: for each user asked about, "dir", "absent", "symlink", "other" or "none" (no account).
	Homes map[string]string `json:"homes"`
	// HomeStat holds the owner and mode of each managed user's home and ~/.ssh that are
	// directories, and of ~/.ssh/authorized_keys when it is a regular file, by path.
	HomeStat map[string]PathStat `json:"homeStat,omitempty"`
	// Tools maps each account tool accessctl may run to its path ("" when missing).
	Tools map[string]string `json:"tools"`
	// Server is the SSH server the read came through: "sshd", "dropbear" or "unknown".
	Server string `json:"server"`
	// Shells are the login shells /etc/shells lists (dropbear refuses any other).
	Shells []string `json:"shells,omitempty"`
	// KeyFiles are, per user, the other files sshd may read keys from.
	KeyFiles map[string][]KeyPathFile `json:"keyFiles"`
	// MatchBlocks: the sshd configuration has a Match block other than "Match all"; then Conns
	// holds the per-connection values.
	MatchBlocks bool   `json:"matchBlocks"`
	Conns       []Conn `json:"conns,omitempty"`
	// SudoIncludeDir: /etc/sudoers includes /etc/sudoers.d (so accessctl's drop-in counts).
	SudoIncludeDir bool `json:"sudoIncludeDir"`
	// Sudo holds `sudo -l -U` for the users sudoers names outside accessctl's drop-in; any other
	// user's sudo is what the drop-in grants (if SudoIncludeDir) and nothing else.
	Sudo map[string]SudoList `json:"sudo"`
	// SudoNoAuth is where a global `Defaults !authenticate` is (file:line): no sudo rule without
	// a PASSWD tag asks a password.
	SudoNoAuth string `json:"sudoNoAuth,omitempty"`
	// SudoNoAuthUsers: where a `Defaults:USER !authenticate` (or `Defaults:%GROUP`, a group of
	// the user's) is, by user asked about: that user's rules ask no password.
	SudoNoAuthUsers map[string]string `json:"sudoNoAuthUsers,omitempty"`
	// SudoGroups: what each plain "%GROUP ALL=(ALL[:ALL]) [NOPASSWD: ]ALL" rule grants (Level,
	// and the rule's file:line), by group name.
	SudoGroups map[string]SudoList `json:"sudoGroups,omitempty"`
}

// MissingTools lists which of names the host lacks (nil when the host did not say).
func (e *Effective) MissingTools(names ...string) []string {
	if !e.Read {
		return nil
	}
	var out []string
	for _, n := range names {
		if e.Tools[n] == "" {
			out = append(out, n)
		}
	}
	return out
}

// ConnsOf returns the per-connection values of one user.
func (e *Effective) ConnsOf(user string) []Conn {
	var out []Conn
	for _, c := range e.Conns {
		if c.User == user {
			out = append(out, c)
		}
	}
	return out
}

func newEffective() Effective {
	return Effective{Local: map[string]bool{}, Homes: map[string]string{}, Tools: map[string]string{},
		KeyFiles: map[string][]KeyPathFile{}, Sudo: map[string]SudoList{}}
}

// parseFactsX parses the facts_x section: local, byname, home, tool and server lines, and
// scan_config's (match, addr, host, akf, pidfile, includedir, sudo, sudolevel).
func parseFactsX(e *Effective, b []byte) ([]Account, error) {
	e.Read = true
	var byName []Account
	for _, l := range lines(b) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "local":
			if len(f) == 2 {
				e.Local[f[1]] = true
			}
		case "byname":
			as, err := parsePasswd([]byte(strings.TrimPrefix(l, "byname ")))
			if err != nil {
				return nil, err
			}
			byName = append(byName, as...)
		case "home":
			if len(f) == 3 {
				e.Homes[f[1]] = f[2]
			}
		case "tool":
			switch len(f) {
			case 2:
				e.Tools[f[1]] = ""
			case 3:
				e.Tools[f[1]] = f[2]
			}
		case "server":
			if len(f) == 2 {
				e.Server = f[1]
			}
		case "shell":
			if len(f) == 2 {
				e.Shells = append(e.Shells, f[1])
			}
		case "match":
			e.MatchBlocks = true
		case "includedir":
			e.SudoIncludeDir = true
		case "sudolevel":
			// Only plain rules name the user outside accessctl's drop-in: their level and where.
			if len(f) == 4 && (f[2] == "true" || f[2] == "nopasswd") {
				e.Sudo[f[1]] = SudoList{Level: f[2], Rules: []string{"rule at " + f[3]}, Outside: true}
			}
		case "homest":
			// homest UID MODE PATH (the path may hold spaces: the rest of the line)
			if len(f) >= 4 {
				uid, err1 := strconv.Atoi(f[1])
				mode, err2 := strconv.ParseUint(f[2], 8, 32)
				p := strings.SplitN(l, " ", 4)
				if err1 == nil && err2 == nil && len(p) == 4 {
					if e.HomeStat == nil {
						e.HomeStat = map[string]PathStat{}
					}
					e.HomeStat[p[3]] = PathStat{UID: uid, Mode: uint32(mode)}
				}
			}
		case "sudogroup":
			if len(f) == 4 && (f[2] == "true" || f[2] == "nopasswd") {
				if e.SudoGroups == nil {
					e.SudoGroups = map[string]SudoList{}
				}
				e.SudoGroups[f[1]] = SudoList{Level: f[2], Rules: []string{"rule at " + f[3]}, Outside: true}
			}
		case "sudonoauth":
			if len(f) == 2 {
				e.SudoNoAuth = f[1]
			}
		case "sudonoauthuser":
			if len(f) == 3 {
				if e.SudoNoAuthUsers == nil {
					e.SudoNoAuthUsers = map[string]string{}
				}
				e.SudoNoAuthUsers[f[1]] = f[2]
			}
		case "addr", "host", "lport", "laddr", "akf", "pidfile", "sudo":
		default:
			return nil, fmt.Errorf("unknown line %q", f[0])
		}
	}
	return byName, nil
}

// relevantConnKeys are the keywords the read script keeps from `sshd -T -C`.
var relevantConnKeys = map[string]bool{
	"passwordauthentication": true, "kbdinteractiveauthentication": true, "pubkeyauthentication": true,
	"permitrootlogin": true, "authorizedkeysfile": true, "authorizedkeyscommand": true,
	"authorizedkeyscommanduser": true, "allowusers": true, "denyusers": true, "allowgroups": true,
	"denygroups": true, "authenticationmethods": true, "usepam": true,
}

// parseConns parses the sshd_conn section: "=conn USER ADDR HOST", sshd's lines, "=rc N".
func parseConns(e *Effective, b []byte) error {
	var cur *Conn
	var errLines []string
	for _, l := range lines(b) {
		switch {
		case strings.HasPrefix(l, "=conn "):
			f := strings.Fields(l)
			if len(f) < 4 || len(f) > 5 || cur != nil {
				return fmt.Errorf("malformed connection header")
			}
			cur = &Conn{User: f[1], Addr: f[2], Host: f[3], Values: map[string]string{}}
			if len(f) == 5 {
				cur.Local = f[4]
			}
			errLines = nil
		case strings.HasPrefix(l, "=rc "):
			if cur == nil {
				return fmt.Errorf("exit status outside a connection")
			}
			if rc := strings.TrimSpace(l[4:]); rc != "0" {
				cur.Error = strings.Join(errLines, "\n")
				if cur.Error == "" {
					cur.Error = "sshd -T exited with status " + rc
				}
			}
			e.Conns = append(e.Conns, *cur)
			cur = nil
		case cur != nil:
			k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
			k = strings.ToLower(k)
			if relevantConnKeys[k] {
				if prev, dup := cur.Values[k]; dup && listKeywords[k] {
					cur.Values[k] = prev + " " + strings.TrimSpace(v)
				} else if !dup {
					if k == "permitrootlogin" && v == "without-password" {
						v = "prohibit-password"
					}
					cur.Values[k] = strings.TrimSpace(v)
				}
			} else {
				errLines = append(errLines, l)
			}
		}
	}
	if cur != nil {
		return fmt.Errorf("connection %s %s not ended", cur.User, cur.Addr)
	}
	return nil
}

// maxSudoError bounds the sudo output kept for a failed `sudo -l`.
const maxSudoError = 4096

// parseSudoL parses the sudo_l section: "=user USER", sudo -l's output, "=rc N".
func parseSudoL(e *Effective, b []byte) error {
	user := ""
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "=user "):
			if user != "" {
				return fmt.Errorf("sudo -l of %s not ended", user)
			}
			user = strings.TrimSpace(l[6:])
			out = nil
		case strings.HasPrefix(l, "=rc "):
			if user == "" {
				return fmt.Errorf("exit status outside a user")
			}
			sl := ParseSudoList(strings.Join(out, "\n"))
			if rc := strings.TrimSpace(l[4:]); rc != "0" {
				sl.Error = strings.TrimSpace(strings.Join(out, "\n"))
				if len(sl.Error) > maxSudoError {
					sl.Error = sl.Error[:maxSudoError]
				}
				if sl.Error == "" {
					sl.Error = "sudo -l exited with status " + rc
				}
			}
			e.Sudo[user] = sl
			user = ""
		case user != "":
			out = append(out, l)
		}
	}
	if user != "" {
		return fmt.Errorf("sudo -l of %s not ended", user)
	}
	return nil
}

// ParseSudoList reads the output of `sudo -l -U USER`: the rules after "may run the following
// commands", and whether one of them grants every command as any user (with or without a
// password).
func ParseSudoList(out string) SudoList {
	var sl SudoList
	in, defaults := false, false
	full, nopw := false, false
	noauth := false // "!authenticate" among the matching Defaults: untagged rules ask no password
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "Matching Defaults entries") {
			defaults = true
			continue
		}
		if strings.Contains(t, "may run the following commands") {
			in, defaults = true, false
			continue
		}
		if defaults {
			if t == "" {
				defaults = false
			}
			for _, d := range strings.Split(t, ",") {
				switch strings.TrimSpace(d) {
				case "!authenticate":
					noauth = true
				case "authenticate":
					noauth = false
				}
			}
			continue
		}
		if !in || t == "" || !strings.HasPrefix(t, "(") {
			continue
		}
		sl.Rules = append(sl.Rules, t)
		end := strings.IndexByte(t, ')')
		if end < 0 {
			continue
		}
		runas := t[1:end]
		rest := strings.TrimSpace(t[end+1:])
		tagNopw := noauth
		for {
			w, r, ok := strings.Cut(rest, " ")
			if !strings.HasSuffix(w, ":") || !isSudoTag(strings.TrimSuffix(w, ":")) {
				break
			}
			if w == "NOPASSWD:" {
				tagNopw = true
			}
			if w == "PASSWD:" {
				tagNopw = false
			}
			if !ok {
				rest = ""
				break
			}
			rest = strings.TrimSpace(r)
		}
		users, _, _ := strings.Cut(runas, ":")
		anyUser := false
		for _, u := range strings.Split(users, ",") {
			if u = strings.TrimSpace(u); u == "ALL" || u == "root" {
				anyUser = true
			}
		}
		if anyUser && rest == "ALL" {
			full = true
			if tagNopw {
				nopw = true
			}
		}
	}
	switch {
	case nopw:
		sl.Level = "nopasswd"
	case full:
		sl.Level = "true"
	}
	return sl
}

func isSudoTag(w string) bool {
	switch w {
	case "NOPASSWD", "PASSWD", "NOEXEC", "EXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT",
		"LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT":
		return true
	}
	return false
}

// mergeByName adds the accounts resolved by name that the enumeration did not list, and marks
// every account that /etc/passwd does not hold as a directory account.
func mergeByName(l *Linux, byName []Account) {
	for _, a := range byName {
		if l.Account(a.Name) == nil {
			l.Accounts = append(l.Accounts, a)
		}
	}
	if !l.Effective.Read {
		return
	}
	for _, a := range byName {
		if acct := l.Account(a.Name); acct != nil && !l.Effective.Local[a.Name] {
			acct.Directory = true
		}
	}
}
