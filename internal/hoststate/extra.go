package hoststate

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/transport"
)

//go:embed read_extra_linux.sh
var readExtraScript string

// ReadExtras asks the Linux read for facts beyond what plan needs. Each costs forks on the host,
// so each is asked for only by the command that uses it (docs/access.md).
type ReadExtras struct {
	// Access: facts on every account that may log in (access, import).
	Access bool
	// Sudo: `sudo -l -U` for these users only (plan: the effective sudo of manifest users).
	Sudo []string
	// Usage: sshd's accepted-login records (--usage).
	Usage bool
}

func (x ReadExtras) any() bool { return x.Access || x.Usage || len(x.Sudo) > 0 }

// Extra holds the facts read for ReadExtras. Nothing in it reaches the host's fingerprint.
type Extra struct {
	// UIDMin and UIDMax are login.defs' range of human accounts (0 when unset there).
	UIDMin int `json:"uidMin,omitempty"`
	UIDMax int `json:"uidMax,omitempty"`
	// Candidates are the accounts the access facts cover: root, the UID range, and every account
	// whose shell is not nologin/false.
	Candidates map[string]bool `json:"candidates,omitempty"`
	// Passwords is the state of each candidate's password, never the hash.
	Passwords map[string]PasswordStatus `json:"passwords,omitempty"`
	// KeyFiles are, per candidate, the files of AuthorizedKeysFile that exist, in its order.
	KeyFiles map[string][]KeyFile `json:"keyFiles,omitempty"`
	// Sudo is what `sudo -l -U` says each user asked for may run.
	Sudo map[string]SudoRights `json:"sudo,omitempty"`
	// Usage is the accepted-login records, nil unless asked for.
	Usage *Usage `json:"usage,omitempty"`
}

// PasswordStatus is what a shadow entry's password field allows, and the account's expiry.
type PasswordStatus struct {
	// State is "usable", "locked" (a "!" prefix), "empty" (no password needed!) or "none".
	State string `json:"state"`
	// Expire is the account expiry in days since 1970-01-01, -1 when unset.
	Expire int `json:"expire"`
}

// KeyFile is one AuthorizedKeysFile path of a user.
type KeyFile struct {
	Path string   `json:"path"`
	Kind FileKind `json:"kind"`
	// Content is set for regular files (symlinks are followed, as sshd follows them).
	Content string `json:"content,omitempty"`
}

// SudoRights is the rule list `sudo -l -U USER` printed for USER.
type SudoRights struct {
	// Rules are the lines under "may run the following commands", trimmed.
	Rules []string `json:"rules"`
}

// Level is the manifest's sudo level the rules amount to: "nopasswd" when a rule lets the user
// run ALL as any user (or root) without a password, "true" when with a password, "false" when
// there is no rule, and "partial" when the rules grant less than everything.
func (s SudoRights) Level() string {
	level := "false"
	if len(s.Rules) > 0 {
		level = "partial"
	}
	for _, r := range s.Rules {
		runas, rest, ok := strings.Cut(strings.TrimPrefix(r, "("), ")")
		if !ok || !strings.HasPrefix(r, "(") {
			continue
		}
		user, _, _ := strings.Cut(runas, ":")
		if u := strings.TrimSpace(user); u != "ALL" && u != "root" {
			continue
		}
		nopw := false
		cmd := strings.TrimSpace(rest)
		for {
			tag, after, ok := strings.Cut(cmd, ":")
			if !ok || strings.ContainsAny(tag, " /") || tag == "" {
				break
			}
			switch tag {
			case "NOPASSWD":
				nopw = true
			case "PASSWD":
				nopw = false
			}
			cmd = strings.TrimSpace(after)
		}
		if cmd != "ALL" {
			continue
		}
		if nopw {
			return "nopasswd"
		}
		level = "true"
	}
	return level
}

// NoPasswd reports whether any rule runs without a password.
func (s SudoRights) NoPasswd() bool {
	for _, r := range s.Rules {
		if strings.Contains(r, "NOPASSWD:") {
			return true
		}
	}
	return false
}

// ReadLinuxWith reads a Linux host like ReadLinux, with the extra sections x asks for, still in
// one round trip.
func ReadLinuxWith(ctx context.Context, c transport.Conn, root bool, users []string, x ReadExtras) (*Linux, error) {
	if !x.any() {
		return ReadLinux(ctx, c, root, users)
	}
	cmd, err := ReadLinuxCommandWith(root, users, x)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, cmd, strings.NewReader(readExtraScript+readLinuxScript), &stdout, &stderr)
	if err != nil {
		return nil, fmt.Errorf("run read script: %w", err)
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "sudo") && strings.Contains(msg, "password") {
			msg += " (the login needs passwordless sudo)"
		}
		return nil, fmt.Errorf("read script exited with status %d: %s", code, firstLine(msg))
	}
	l, err := ParseLinux(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parse read output: %w", err)
	}
	if !l.Root {
		return nil, fmt.Errorf("read script did not run as root")
	}
	if l.Extra == nil {
		l.Extra = &Extra{}
	}
	return l, nil
}

// ReadLinuxCommandWith is ReadLinuxCommand with the extras' leading +words before the users.
func ReadLinuxCommandWith(root bool, users []string, x ReadExtras) (string, error) {
	var b strings.Builder
	b.WriteString("sh -s --")
	if x.Access {
		b.WriteString(" +access")
	}
	if x.Usage {
		b.WriteString(" +usage")
	}
	if len(x.Sudo) > 0 {
		for _, u := range x.Sudo {
			if !ValidUserName(u) {
				return "", fmt.Errorf("invalid user name %q", u)
			}
		}
		b.WriteString(" " + ShellQuote("+sudo="+strings.Join(x.Sudo, ",")))
	}
	for _, u := range users {
		if !ValidUserName(u) {
			return "", fmt.Errorf("invalid user name %q", u)
		}
		b.WriteString(" " + ShellQuote(u))
	}
	return transport.Privileged{Root: root}.Command(b.String()), nil
}

// ReadExtraScript is the extra sections' script, sent in front of ReadLinuxScript.
func ReadExtraScript() string { return readExtraScript }

// isExtraSection reports whether a section kind belongs to read_extra_linux.sh.
func isExtraSection(kind string) bool {
	return strings.HasPrefix(kind, "ax_") || strings.HasPrefix(kind, "usage_")
}

// extraParser collects the extra sections of one read.
type extraParser struct {
	x       *Extra
	index   []string // ax_keyindex lines
	parts   []string // ax_keyfiles, split
	partsOK bool
}

func (p *extraParser) section(s section) error {
	x := p.x
	switch s.kind {
	case "ax_logindefs":
		if x.Candidates == nil {
			x.Candidates = map[string]bool{}
		}
		for _, l := range lines(s.body) {
			k, v, _ := strings.Cut(l, "=")
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			switch k {
			case "uid_min":
				x.UIDMin = n
			case "uid_max":
				x.UIDMax = n
			}
		}
	case "ax_shadow":
		x.Passwords = map[string]PasswordStatus{}
		if x.Candidates == nil {
			x.Candidates = map[string]bool{}
		}
		for _, l := range lines(s.body) {
			f := strings.Split(l, ":")
			if len(f) != 3 {
				return fmt.Errorf("malformed shadow status line")
			}
			ps := PasswordStatus{State: f[1], Expire: -1}
			if f[2] != "" {
				n, err := strconv.Atoi(f[2])
				if err != nil {
					return fmt.Errorf("bad account expiry")
				}
				ps.Expire = n
			}
			x.Passwords[f[0]] = ps
			x.Candidates[f[0]] = true
		}
	case "ax_keyindex":
		p.index = lines(s.body)
	case "ax_keyfiles":
		parts, err := splitKeyFiles(s)
		if err != nil {
			return err
		}
		p.parts, p.partsOK = parts, true
	case "ax_keyfile":
		head, content, _ := strings.Cut(string(s.body), "\n")
		u, path, ok := strings.Cut(head, "\t")
		if !ok {
			return fmt.Errorf("malformed key file header")
		}
		p.addKeyFile(u, KeyFile{Path: path, Kind: KindFile, Content: content})
	case "ax_sudo":
		// "@@sudo NAME BASE64" per user (inside the base64 body, so unforgeable by sudo's output).
		if x.Sudo == nil {
			x.Sudo = map[string]SudoRights{}
		}
		for _, l := range lines(s.body) {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "@@sudo" {
				continue
			}
			var out []byte
			if len(f) == 3 {
				b, err := base64.StdEncoding.DecodeString(f[2])
				if err != nil {
					return fmt.Errorf("sudo output of %s: bad base64", f[1])
				}
				out = b
			}
			x.Sudo[f[1]] = parseSudoList(string(out))
		}
	case "usage_journal", "usage_file":
		if x.Usage == nil {
			x.Usage = &Usage{}
		}
		return x.Usage.addSource(s.kind == "usage_journal", s.body)
	}
	return nil
}

func (p *extraParser) addKeyFile(user string, f KeyFile) {
	if p.x.KeyFiles == nil {
		p.x.KeyFiles = map[string][]KeyFile{}
	}
	p.x.KeyFiles[user] = append(p.x.KeyFiles[user], f)
}

// finish resolves the key index against the batched files.
func (p *extraParser) finish() error {
	for _, l := range p.index {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			return fmt.Errorf("section ax_keyindex: malformed line")
		}
		kf := KeyFile{Path: f[1], Kind: FileKind(f[2])}
		if kf.Kind == KindFile {
			n, err := strconv.Atoi(f[3])
			if err != nil || n < 0 || !p.partsOK || n >= len(p.parts) {
				return fmt.Errorf("section ax_keyindex: no part %q in ax_keyfiles", f[3])
			}
			kf.Content = p.parts[n]
		}
		p.addKeyFile(f[0], kf)
	}
	if u := p.x.Usage; u != nil {
		u.finish()
	}
	return nil
}

// parseSudoList reads `sudo -l -U USER` output: the indented lines after "may run the following
// commands" (there may be several such blocks, one per sudoers source).
func parseSudoList(out string) SudoRights {
	r := SudoRights{Rules: []string{}}
	in := false
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.Contains(l, "may run the following commands"):
			in = true
		case t == "":
			in = false
		case in && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")):
			r.Rules = append(r.Rules, t)
		default:
			in = false
		}
	}
	sort.Strings(r.Rules)
	return r
}
