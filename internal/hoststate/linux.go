package hoststate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Paths accessctl reads and writes on a Linux host.
const (
	SudoersPath    = "/etc/sudoers.d/accessctl"
	SshdConfigPath = "/etc/ssh/sshd_config"
	SshdDropInDir  = "/etc/ssh/sshd_config.d"
	SshdDropIn     = "00-accessctl.conf"
	StatePath      = "/var/lib/accessctl/state.json"
)

// FileKind says what a path is; symlinks are reported, never followed.
type FileKind string

// File kinds.
const (
	KindFile       FileKind = "file"
	KindSymlink    FileKind = "symlink"     // Content is the link target
	KindSymlinkDir FileKind = "symlink-dir" // authorized_keys: ~/.ssh itself is a symlink
	KindOther      FileKind = "other"       // a directory, device, fifo...
	KindAbsent     FileKind = "absent"
)

// File is one file as read on the host.
type File struct {
	Kind    FileKind `json:"kind"`
	Content string   `json:"content,omitempty"`
}

// Exists reports whether something is at the path.
func (f File) Exists() bool { return f.Kind != "" && f.Kind != KindAbsent }

// Account is one line of `getent passwd`.
type Account struct {
	Name  string `json:"name"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	GECOS string `json:"gecos"`
	Home  string `json:"home"`
	Shell string `json:"shell"`
	// Directory: the account resolves by name through NSS (SSSD, LDAP, systemd-userdb) but
	// /etc/passwd does not hold it, so useradd/usermod/chpasswd cannot change it.
	Directory bool `json:"directory,omitempty"`
}

// Human reports whether the account is a person's on Linux conventions (uid >= 1000, not nobody).
func (a Account) Human() bool { return a.UID >= 1000 && a.UID < 65534 }

// Group is one line of `getent group`; Members are the supplementary members only.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members"`
}

// Shadow is the part of a shadow entry the plan needs.
type Shadow struct {
	Hash string `json:"-"` // the password field; never rendered
	// Expire is the account expiry in days since 1970-01-01, -1 when unset.
	Expire int `json:"expire"`
}

// Locked reports whether the password is locked ("!" prefix).
func (s Shadow) Locked() bool { return strings.HasPrefix(s.Hash, "!") }

// InstalledKey is a key accessctl installed for a user, as recorded in its state file.
type InstalledKey struct {
	Keypair     string `json:"keypair"`
	Fingerprint string `json:"fingerprint"`
}

// Record is accessctl's state file on a host (/var/lib/accessctl/state.json).
type Record struct {
	FormatVersion string                    `json:"formatVersion"`
	Created       []string                  `json:"created"`
	Keys          map[string][]InstalledKey `json:"keys"`
	LastApplied   string                    `json:"lastApplied,omitempty"`
	Sshd          map[string]string         `json:"sshd,omitempty"`
	// Groups are the supplementary groups accessctl manages per user (the manifest's list when it
	// was last applied): a group that leaves the list is left by the user.
	Groups map[string][]string `json:"groups,omitempty"`
}

// CreatedUser reports whether accessctl created the user on this host.
func (r *Record) CreatedUser(name string) bool {
	for _, c := range r.Created {
		if c == name {
			return true
		}
	}
	return false
}

// DropIn is one file in /etc/ssh/sshd_config.d.
type DropIn struct {
	Name string `json:"name"`
	File
}

// Linux is what a Linux host has now, as far as accessctl cares.
type Linux struct {
	Accounts []Account `json:"accounts"`
	Groups   []Group   `json:"groups"`
	// Shadow holds the entries of the users asked for that exist.
	Shadow map[string]Shadow `json:"shadow"`
	// AuthorizedKeys holds ~/.ssh/authorized_keys of the users asked for that have a home.
	AuthorizedKeys map[string]File `json:"authorizedKeys"`
	Sudoers        File            `json:"sudoers"`
	SshdConfig     File            `json:"sshdConfig"`
	DropIns        []DropIn        `json:"dropIns"`
	// SshdT is the effective configuration from `sshd -T`: lower-case keyword to its first value,
	// permitrootlogin without-password normalised to prohibit-password.
	SshdT map[string]string `json:"sshdT"`
	// SshdTError is the output of `sshd -T` when it failed.
	SshdTError string `json:"sshdTError,omitempty"`
	Record     Record `json:"record"`
	// RecordError says why the state file could not be used ("" when it is absent or fine).
	RecordError string `json:"recordError,omitempty"`
	// Generation is the run id of the last apply committed on the host ("" before any).
	Generation string `json:"generation,omitempty"`
	// Interrupted are runs that died mid-way and left backups (apply restores them first).
	Interrupted []string `json:"interrupted,omitempty"`
	// Busy: another apply held the host's lock for the whole wait.
	Busy    bool   `json:"busy,omitempty"`
	Systemd bool   `json:"systemd"`
	SshdPID int    `json:"sshdPid"`
	PIDFile string `json:"pidFile"`
	Root    bool   `json:"root"`
	// Pull is what the host has of pull mode (pull.go).
	Pull Pull `json:"pull"`
	// Effective is what sshd and sudo decide for the users asked about (effective.go).
	Effective Effective `json:"effective"`
	// Extra holds the facts read for ReadExtras (extra.go); nil when none were asked for.
	Extra *Extra `json:"extra,omitempty"`
	// Fingerprint is a digest of everything the plan depends on, for stale-plan detection.
	Fingerprint string `json:"fingerprint"`
}

// Account returns the named account, or nil.
func (l *Linux) Account(name string) *Account {
	for i := range l.Accounts {
		if l.Accounts[i].Name == name {
			return &l.Accounts[i]
		}
	}
	return nil
}

// Group returns the named group, or nil.
func (l *Linux) Group(name string) *Group {
	for i := range l.Groups {
		if l.Groups[i].Name == name {
			return &l.Groups[i]
		}
	}
	return nil
}

// SupplementaryGroups lists the groups that name user as a member, sorted.
func (l *Linux) SupplementaryGroups(user string) []string {
	var gs []string
	for _, g := range l.Groups {
		for _, m := range g.Members {
			if m == user {
				gs = append(gs, g.Name)
				break
			}
		}
	}
	sort.Strings(gs)
	return gs
}

// maxReadOutput bounds what the parser accepts; a host's answer is a few hundred KB at most.
const maxReadOutput = 64 << 20

type section struct {
	kind, arg string
	attrs     map[string]string
	body      []byte
}

// ParseLinux parses the output of the read script. It never panics; an error says what is
// missing or malformed.
func ParseLinux(out []byte) (*Linux, error) {
	if len(out) > maxReadOutput {
		return nil, fmt.Errorf("read output is larger than %d bytes", maxReadOutput)
	}
	secs, err := splitSections(out)
	if err != nil {
		return nil, err
	}
	l := &Linux{
		Shadow:         map[string]Shadow{},
		AuthorizedKeys: map[string]File{},
		SshdT:          map[string]string{},
		Sudoers:        File{Kind: KindAbsent},
		SshdConfig:     File{Kind: KindAbsent},
		Effective:      newEffective(),
	}
	var byName []Account
	seen := map[string]bool{}
	// The fingerprint hashes the sections as the one-section-per-file format sent them (a shadow
	// and a keys section per user), whichever format the host used, so it does not depend on the
	// batching or on its random separator.
	var (
		hashed      []section
		shadowLines map[string]string // the batched shadow section, by user; nil if none
		refs        []keyRef
		parts       []string // the keyfiles section, split
		extra       *extraParser
	)
	for _, s := range secs {
		switch {
		case s.kind == "facts" || s.kind == "pidfile" || s.kind == "keyfiles" || isExtraSection(s.kind):
		case s.kind == "shadow" && s.arg == "-":
		case s.kind == "keys" && shadowLines != nil:
			hashed = append(hashed, section{kind: "shadow", arg: s.arg, attrs: map[string]string{}, body: []byte(shadowLines[s.arg])})
			if s.attrs["kind"] != kindNoHome {
				hashed = append(hashed, s)
			}
		default:
			hashed = append(hashed, s)
		}
		seen[s.kind] = true
		if isExtraSection(s.kind) {
			if extra == nil {
				extra = &extraParser{x: &Extra{}}
			}
			if err := extra.section(s); err != nil {
				return nil, fmt.Errorf("section %s: %w", s.kind, err)
			}
			continue
		}
		switch s.kind {
		case "passwd":
			l.Accounts, err = parsePasswd(s.body)
		case "group":
			l.Groups, err = parseGroup(s.body)
		case "shadow":
			if s.arg == "-" {
				shadowLines = map[string]string{}
				err = parseShadowBatch(l.Shadow, shadowLines, s.body)
			} else if len(bytes.TrimSpace(s.body)) > 0 {
				var sh Shadow
				sh, err = parseShadow(s.arg, s.body)
				l.Shadow[s.arg] = sh
			}
		case "keys":
			switch {
			case s.attrs["kind"] == kindNoHome:
			case s.attrs["kind"] == string(KindFile) && s.attrs["ref"] != "":
				// The content is a part of the keyfiles section, which comes later.
				n, aerr := strconv.Atoi(s.attrs["ref"])
				if aerr != nil || n < 0 || len(s.body) > 0 {
					err = fmt.Errorf("bad reference %q", s.attrs["ref"])
					break
				}
				refs = append(refs, keyRef{user: s.arg, part: n, hashed: len(hashed) - 1, file: -1})
				l.AuthorizedKeys[s.arg] = File{Kind: KindFile}
			default:
				l.AuthorizedKeys[s.arg], err = fileOf(s)
			}
		case "akeys":
			path := s.attrs["path"]
			if !strings.HasPrefix(path, "/") {
				err = fmt.Errorf("key file path %q is not absolute", path)
				break
			}
			kf := KeyPathFile{Path: path}
			if s.attrs["kind"] == string(KindFile) && s.attrs["ref"] != "" {
				n, aerr := strconv.Atoi(s.attrs["ref"])
				if aerr != nil || n < 0 || len(s.body) > 0 {
					err = fmt.Errorf("bad reference %q", s.attrs["ref"])
					break
				}
				kf.File = File{Kind: KindFile}
				refs = append(refs, keyRef{user: s.arg, part: n, hashed: len(hashed) - 1, file: len(l.Effective.KeyFiles[s.arg])})
			} else if kf.File, err = fileOf(s); err != nil {
				break
			}
			l.Effective.KeyFiles[s.arg] = append(l.Effective.KeyFiles[s.arg], kf)
		case "facts_x":
			byName, err = parseFactsX(&l.Effective, s.body)
		case "sshd_conn":
			err = parseConns(&l.Effective, s.body)
		case "sudo_l":
			err = parseSudoL(&l.Effective, s.body)
		case "keyfiles":
			if parts != nil {
				err = fmt.Errorf("a second keyfiles section")
				break
			}
			parts, err = splitKeyFiles(s)
		case "sudoers":
			l.Sudoers, err = fileOf(s)
		case "sshd_config":
			l.SshdConfig, err = fileOf(s)
		case "sshd_dropin":
			var f File
			f, err = fileOf(s)
			l.DropIns = append(l.DropIns, DropIn{Name: s.arg, File: f})
		case "sshd_t":
			if s.attrs["rc"] != "0" {
				l.SshdTError = strings.TrimSpace(string(s.body))
				if l.SshdTError == "" {
					l.SshdTError = "sshd -T exited with status " + s.attrs["rc"]
				}
			} else {
				l.SshdT = parseSshdT(s.body)
			}
		case "state":
			var f File
			f, err = fileOf(s)
			if err == nil {
				l.Record, l.RecordError = parseRecord(f)
			}
		case "generation":
			if s.attrs["kind"] == string(KindFile) {
				l.Generation = strings.TrimSpace(string(s.body))
			}
		case "interrupted":
			l.Interrupted = lines(s.body)
		case "busy":
			l.Busy = true
		case "pull_snapshot":
			err = parsePullSnapshot(l, s)
		case "pull_pub":
			l.Pull.VerifyKey, err = fileOf(s)
		case "pull_paths":
			err = parsePullPaths(l, s)
		case "pidfile":
			l.PIDFile = s.arg
			if s.attrs["kind"] == string(KindFile) {
				l.SshdPID, _ = strconv.Atoi(strings.TrimSpace(string(s.body)))
			}
		case "facts":
			for _, line := range strings.Split(string(s.body), "\n") {
				k, v, _ := strings.Cut(line, "=")
				switch k {
				case "systemd":
					l.Systemd = v == "1"
				case "uid":
					l.Root = v == "0"
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("section %s %s: %w", s.kind, s.arg, err)
		}
	}
	for _, k := range []string{"passwd", "group", "sudoers", "sshd_config", "sshd_t", "state", "facts"} {
		if !seen[k] {
			return nil, fmt.Errorf("read output lacks the %s section", k)
		}
	}
	for _, r := range refs {
		if r.part >= len(parts) {
			return nil, fmt.Errorf("section keys %s: no part %d in the keyfiles section", r.user, r.part)
		}
		if r.file >= 0 {
			if kfs := l.Effective.KeyFiles[r.user]; r.file < len(kfs) {
				kfs[r.file].Content = parts[r.part]
			}
		} else {
			l.AuthorizedKeys[r.user] = File{Kind: KindFile, Content: parts[r.part]}
		}
		if r.hashed >= 0 && r.hashed < len(hashed) && (hashed[r.hashed].kind == "keys" || hashed[r.hashed].kind == "akeys") {
			hashed[r.hashed].body = []byte(parts[r.part])
		}
	}
	mergeByName(l, byName)
	if extra != nil {
		if err := extra.finish(); err != nil {
			return nil, err
		}
		l.Extra = extra.x
	}
	h := sha256.New()
	for _, s := range hashed {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", s.kind, s.arg, s.attrs["kind"], len(s.body))
		h.Write(s.body)
	}
	sort.Slice(l.DropIns, func(i, j int) bool { return l.DropIns[i].Name < l.DropIns[j].Name })
	l.Fingerprint = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return l, nil
}

// kindNoHome marks, in the batched format, a user asked for who has no home directory (and so
// no authorized_keys entry).
const kindNoHome = "nohome"

// keyRef is a user whose authorized_keys (file < 0) or Effective.KeyFiles[user][file] is part
// number part of the keyfiles section; hashed is the index of its section among the hashed ones.
type keyRef struct {
	user   string
	part   int
	hashed int
	file   int
}

// splitKeyFiles splits the keyfiles section: the regular authorized_keys files, each followed by
// the separator "ACCESSCTL_SEP=<sep>\x00" (cat's environment, read from /proc/self/environ).
func splitKeyFiles(s section) ([]string, error) {
	sep := s.attrs["sep"]
	n, err := strconv.Atoi(s.attrs["n"])
	if len(sep) < 16 || err != nil || n < 1 {
		return nil, fmt.Errorf("malformed keyfiles header")
	}
	parts := strings.Split(string(s.body), "ACCESSCTL_SEP="+sep+"\x00")
	if len(parts) != n+1 || parts[n] != "" {
		return nil, fmt.Errorf("%d separated parts, want %d (a file could not be read)", len(parts)-1, n)
	}
	return parts[:n], nil
}

// parseShadowBatch parses the output of `getent shadow USER...`: one entry per line.
func parseShadowBatch(into map[string]Shadow, raw map[string]string, b []byte) error {
	for _, line := range lines(b) {
		name, _, _ := strings.Cut(line, ":")
		if _, dup := raw[name]; dup {
			continue
		}
		sh, err := parseShadow(name, []byte(line))
		if err != nil {
			return err
		}
		into[name] = sh
		raw[name] = line + "\n"
	}
	return nil
}

func splitSections(out []byte) ([]section, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		secs    []section
		cur     *section
		b64     strings.Builder
		started bool
		done    bool
	)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if !strings.HasPrefix(line, "@@") {
			if cur != nil && cur.attrs["enc"] == "raw" {
				// Lines the script made itself, each starting with a keyword of its own.
				b64.WriteString(line + "\n")
			} else if cur != nil {
				b64.WriteString(strings.TrimSpace(line))
			}
			// Anything outside a section (a login banner, a sudo lecture) is ignored.
			continue
		}
		fields := strings.Fields(line[2:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("empty marker line")
		}
		switch fields[0] {
		case "accessctl-read":
			if len(fields) < 2 || fields[1] != "1" {
				return nil, fmt.Errorf("unknown read format %q", line)
			}
			started = true
		case "begin":
			if !started {
				return nil, fmt.Errorf("section before the read header")
			}
			if cur != nil {
				return nil, fmt.Errorf("section %s not ended", cur.kind)
			}
			if len(fields) < 3 {
				return nil, fmt.Errorf("malformed section header %q", line)
			}
			cur = &section{kind: fields[1], arg: fields[2], attrs: map[string]string{}}
			for _, a := range fields[3:] {
				k, v, _ := strings.Cut(a, "=")
				cur.attrs[k] = v
			}
			b64.Reset()
		case "end":
			if cur == nil {
				return nil, fmt.Errorf("end marker outside a section")
			}
			body, err := base64.StdEncoding.DecodeString(b64.String())
			if cur.attrs["enc"] == "raw" {
				if cur.kind != "facts_x" {
					return nil, fmt.Errorf("section %s %s: only facts_x may be raw", cur.kind, cur.arg)
				}
				body, err = []byte(b64.String()), nil
			}
			if err != nil {
				return nil, fmt.Errorf("section %s %s: bad base64: %w", cur.kind, cur.arg, err)
			}
			cur.body = body
			secs = append(secs, *cur)
			cur = nil
		case "done":
			if cur != nil {
				return nil, fmt.Errorf("section %s not ended", cur.kind)
			}
			done = true
		default:
			return nil, fmt.Errorf("unknown marker %q", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read output: %w", err)
	}
	if !started {
		return nil, fmt.Errorf("read output has no header (did the script run?)")
	}
	if !done {
		return nil, fmt.Errorf("read output is truncated")
	}
	return secs, nil
}

func fileOf(s section) (File, error) {
	k := FileKind(s.attrs["kind"])
	switch k {
	case KindFile, KindSymlink, KindSymlinkDir:
		return File{Kind: k, Content: string(s.body)}, nil
	case KindOther, KindAbsent:
		return File{Kind: k}, nil
	}
	return File{}, fmt.Errorf("unknown file kind %q", k)
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func parsePasswd(b []byte) ([]Account, error) {
	var as []Account
	for _, l := range lines(b) {
		f := strings.Split(l, ":")
		if len(f) != 7 {
			return nil, fmt.Errorf("passwd line with %d fields", len(f))
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("passwd entry %q: bad uid or gid", f[0])
		}
		as = append(as, Account{Name: f[0], UID: uid, GID: gid, GECOS: f[4], Home: f[5], Shell: f[6]})
	}
	return as, nil
}

func parseGroup(b []byte) ([]Group, error) {
	var gs []Group
	for _, l := range lines(b) {
		f := strings.Split(l, ":")
		if len(f) != 4 {
			return nil, fmt.Errorf("group line with %d fields", len(f))
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("group entry %q: bad gid", f[0])
		}
		g := Group{Name: f[0], GID: gid}
		if f[3] != "" {
			g.Members = strings.Split(f[3], ",")
		}
		gs = append(gs, g)
	}
	return gs, nil
}

func parseShadow(user string, b []byte) (Shadow, error) {
	ls := lines(b)
	if len(ls) != 1 {
		return Shadow{}, fmt.Errorf("%d shadow lines", len(ls))
	}
	f := strings.Split(ls[0], ":")
	if len(f) != 9 || f[0] != user {
		return Shadow{}, fmt.Errorf("malformed shadow entry")
	}
	s := Shadow{Hash: f[1], Expire: -1}
	if f[7] != "" {
		n, err := strconv.Atoi(f[7])
		if err != nil {
			return Shadow{}, fmt.Errorf("bad account expiry")
		}
		s.Expire = n
	}
	return s, nil
}

// listKeywords are the sshd -T keywords printed once per entry.
var listKeywords = map[string]bool{"allowusers": true, "denyusers": true, "allowgroups": true, "denygroups": true}

func parseSshdT(b []byte) map[string]string {
	m := map[string]string{}
	for _, l := range lines(b) {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		k = strings.ToLower(k)
		v = strings.TrimSpace(v)
		if prev, dup := m[k]; dup && listKeywords[k] {
			// sshd -T prints one line per entry of these lists.
			m[k] = prev + " " + v
			continue
		}
		if _, dup := m[k]; dup || k == "" {
			continue
		}
		if k == "permitrootlogin" && v == "without-password" {
			v = "prohibit-password"
		}
		m[k] = v
	}
	return m
}

func parseRecord(f File) (Record, string) {
	r := Record{Keys: map[string][]InstalledKey{}}
	switch f.Kind {
	case KindAbsent:
		return r, ""
	case KindFile:
	default:
		return r, fmt.Sprintf("%s is a %s, not a file", StatePath, f.Kind)
	}
	if err := json.Unmarshal([]byte(f.Content), &r); err != nil {
		return Record{Keys: map[string][]InstalledKey{}}, fmt.Sprintf("%s: %v", StatePath, err)
	}
	if r.Keys == nil {
		r.Keys = map[string][]InstalledKey{}
	}
	return r, ""
}
