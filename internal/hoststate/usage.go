package hoststate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Login is the newest accepted login of one user by one method (and key) that a host recorded.
type Login struct {
	User   string `json:"user"`
	Method string `json:"method"` // publickey, password, keyboard-interactive/pam, ...
	// Fingerprint is the key's SHA256 fingerprint for publickey logins, else "".
	Fingerprint string    `json:"fingerprint,omitempty"`
	Time        time.Time `json:"time"`
}

// UsageSource is one place login records were read from.
type UsageSource struct {
	// Name is "journald" or the log file's path.
	Name string `json:"name"`
	// Oldest is the time of the oldest record the source reached (zero when it had none).
	Oldest time.Time `json:"oldest"`
	// Truncated: the byte bound cut the source; older records were not read.
	Truncated bool `json:"truncated,omitempty"`
}

// Usage is what a host's sshd records say about accepted logins.
type Usage struct {
	Sources []UsageSource `json:"sources"`
	// Logins holds the newest record per user, method and key, sorted.
	Logins []Login `json:"logins"`
	// Since is the oldest time every source read reaches back to: a key unused since then is
	// unused as far as the records know. Zero when there is no record at all.
	Since  time.Time `json:"since"`
	newest map[loginKey]time.Time
}

type loginKey struct{ user, method, fp string }

// LastKey is the newest accepted publickey login of user with the key fingerprint fp.
func (u *Usage) LastKey(user, fp string) (time.Time, bool) {
	return u.last(func(l Login) bool { return l.User == user && l.Method == "publickey" && l.Fingerprint == fp })
}

// LastPassword is the newest accepted password (or keyboard-interactive) login of user.
func (u *Usage) LastPassword(user string) (time.Time, bool) {
	return u.last(func(l Login) bool {
		return l.User == user && (l.Method == "password" || strings.HasPrefix(l.Method, "keyboard-interactive"))
	})
}

func (u *Usage) last(match func(Login) bool) (time.Time, bool) {
	var t time.Time
	if u == nil {
		return t, false
	}
	for _, l := range u.Logins {
		if match(l) && l.Time.After(t) {
			t = l.Time
		}
	}
	return t, !t.IsZero()
}

// addSource parses one usage section's body. journald's body: a "tz=… now=…" line, "@first
// LINE", then records. A file's: its path, "tz=… now=… mtime=… truncated=0|1", "@first LINE",
// then records.
func (u *Usage) addSource(journal bool, body []byte) error {
	ls := strings.Split(string(body), "\n")
	src := UsageSource{Name: "journald"}
	if !journal {
		if len(ls) == 0 {
			return nil
		}
		src.Name, ls = ls[0], ls[1:]
	}
	if len(ls) == 0 {
		return nil
	}
	meta := map[string]string{}
	for _, kv := range strings.Fields(ls[0]) {
		k, v, _ := strings.Cut(kv, "=")
		meta[k] = v
	}
	ls = ls[1:]
	loc := zoneOf(meta["tz"])
	ref := time.Now().In(loc)
	if n, err := strconv.ParseInt(meta["mtime"], 10, 64); err == nil {
		ref = time.Unix(n, 0).In(loc)
	} else if n, err := strconv.ParseInt(meta["now"], 10, 64); err == nil {
		ref = time.Unix(n, 0).In(loc)
	}
	src.Truncated = meta["truncated"] == "1"
	if u.newest == nil {
		u.newest = map[loginKey]time.Time{}
	}
	for _, l := range ls {
		if first, ok := strings.CutPrefix(l, "@first "); ok {
			if t, _, ok := ParseSyslogTime(first, ref); ok {
				src.Oldest = t
			}
			continue
		}
		lg, ok := ParseAcceptedLine(l, ref)
		if !ok {
			continue
		}
		k := loginKey{lg.User, lg.Method, lg.Fingerprint}
		if lg.Time.After(u.newest[k]) {
			u.newest[k] = lg.Time
		}
		// A record older than the source's first line (a clock step, a reordered merge) still
		// proves the source reaches back that far.
		if src.Oldest.IsZero() || lg.Time.Before(src.Oldest) {
			src.Oldest = lg.Time
		}
	}
	u.Sources = append(u.Sources, src)
	return nil
}

func (u *Usage) finish() {
	u.Logins = u.Logins[:0]
	for k, t := range u.newest {
		u.Logins = append(u.Logins, Login{User: k.user, Method: k.method, Fingerprint: k.fp, Time: t.UTC()})
	}
	sort.Slice(u.Logins, func(i, j int) bool {
		a, b := u.Logins[i], u.Logins[j]
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Fingerprint < b.Fingerprint
	})
	sort.Slice(u.Sources, func(i, j int) bool { return u.Sources[i].Name < u.Sources[j].Name })
	u.Since = time.Time{}
	for _, s := range u.Sources {
		if !s.Oldest.IsZero() && (u.Since.IsZero() || s.Oldest.Before(u.Since)) {
			u.Since = s.Oldest.UTC()
		}
	}
}

// zoneOf turns `date +%z` ("+0800") into a fixed zone; UTC when malformed.
func zoneOf(z string) *time.Location {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return time.UTC
	}
	h, err1 := strconv.Atoi(z[1:3])
	m, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return time.UTC
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off)
}

// ParseSyslogTime reads the timestamp at the start of a log line: RFC 3339 (rsyslog's
// RSYSLOG_FileFormat, journalctl -o short-iso, with or without fraction, "Z", "+00:00" or
// "+0000"), or the traditional "Mmm dd HH:MM:SS" without a year. A traditional stamp is in ref's
// zone and takes ref's year, or the year before when that would put it more than a day after
// ref (ref is the file's modification time, so a file written across New Year reads right). It
// returns the rest of the line after the stamp.
func ParseSyslogTime(line string, ref time.Time) (time.Time, string, bool) {
	if len(line) >= 20 && line[4] == '-' && line[10] == 'T' {
		stamp, rest, _ := strings.Cut(line, " ")
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05-0700"} {
			if t, err := time.Parse(layout, stamp); err == nil {
				return t, rest, true
			}
		}
		return time.Time{}, "", false
	}
	if len(line) < 15 || line[3] != ' ' || line[6] != ' ' || line[9] != ':' || line[12] != ':' {
		return time.Time{}, "", false
	}
	t, err := time.ParseInLocation("Jan _2 15:04:05", line[:15], ref.Location())
	if err != nil {
		return time.Time{}, "", false
	}
	y := ref.Year()
	t = time.Date(y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, ref.Location())
	if t.After(ref.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, strings.TrimPrefix(line[15:], " "), true
}

// ParseAcceptedLine reads one sshd "Accepted METHOD for USER from ADDR port N ssh2[: TYPE FP]"
// record with its timestamp. The program must be sshd or sshd-session (OpenSSH 9.8+); records of
// other programs are ignored.
func ParseAcceptedLine(line string, ref time.Time) (Login, bool) {
	t, rest, ok := ParseSyslogTime(line, ref)
	if !ok {
		return Login{}, false
	}
	// "HOST PROG[PID]: MESSAGE"
	_, rest, ok = strings.Cut(rest, " ")
	if !ok {
		return Login{}, false
	}
	prog, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return Login{}, false
	}
	if i := strings.IndexByte(prog, '['); i >= 0 {
		prog = prog[:i]
	}
	if prog != "sshd" && prog != "sshd-session" {
		return Login{}, false
	}
	f := strings.Fields(msg)
	if len(f) < 4 || f[0] != "Accepted" || f[2] != "for" || f[1] == "" {
		return Login{}, false
	}
	lg := Login{Method: f[1], User: f[3], Time: t.UTC()}
	if !userLike(lg.User) || !userLike(lg.Method) {
		return Login{}, false
	}
	if lg.Method == "publickey" {
		for _, w := range f[4:] {
			if strings.HasPrefix(w, "SHA256:") && len(w) > 7 && len(w) < 64 {
				lg.Fingerprint = w
				break
			}
		}
		if lg.Fingerprint == "" {
			return Login{}, false
		}
	}
	return lg, true
}

// userLike bounds what a record may name: printable, no spaces, at most 64 bytes.
func userLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// AddLog adds the records of one log file's text, last modified at modified (traditional stamps
// take its year and zone), as if the host had read it.
func (u *Usage) AddLog(name string, modified time.Time, text string) error {
	_, off := modified.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	tz := fmt.Sprintf("%c%02d%02d", sign, off/3600, off%3600/60)
	first, _, _ := strings.Cut(text, "\n")
	body := fmt.Sprintf("%s\ntz=%s mtime=%d truncated=0\n@first %s\n%s", name, tz, modified.Unix(), first, text)
	if err := u.addSource(false, []byte(body)); err != nil {
		return err
	}
	u.finish()
	return nil
}
