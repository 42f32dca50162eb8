package hoststate

import (
	"path"
	"strconv"
	"strings"
)

// Directive is one keyword line of the sshd configuration, in the order sshd reads it.
type Directive struct {
	File    string
	Line    int
	Keyword string // lower case
	Value   string
	// Match is the Match line the directive sits under, "" at top level.
	Match string
}

// Where names the directive's place as file:line.
func (d Directive) Where() string { return d.File + ":" + strconv.Itoa(d.Line) }

// SshdLayout returns the configuration as sshd would read it: the main file with Include lines
// that point into sshd_config.d expanded in lexical order. dropIns replaces the drop-ins read from
// the host and mainText the main file when not nil, so a planned change can be judged before it
// is made. Includes of other directories are not followed.
func (l *Linux) SshdLayout(mainText *string, dropIns []DropIn) []Directive {
	main := l.SshdConfig.Content
	if mainText != nil {
		main = *mainText
	}
	if dropIns == nil {
		dropIns = l.DropIns
	}
	var out []Directive
	var walk func(file, text string, depth int)
	walk = func(file, text string, depth int) {
		match := ""
		for i, raw := range strings.Split(text, "\n") {
			kw, val := splitDirective(raw)
			if kw == "" {
				continue
			}
			switch kw {
			case "match":
				match = strings.TrimSpace(raw)
				if strings.EqualFold(strings.TrimSpace(val), "all") {
					match = ""
				}
				continue
			case "include":
				if depth > 0 {
					// Includes inside drop-ins are rare and would let a crafted file fan out.
					continue
				}
				for _, g := range strings.Fields(val) {
					if !strings.HasPrefix(g, "/") {
						g = "/etc/ssh/" + g
					}
					dir, pat := path.Split(g)
					if path.Clean(dir) != SshdDropInDir {
						continue
					}
					for _, d := range dropIns {
						if ok, _ := path.Match(pat, d.Name); ok && d.Kind == KindFile {
							walk(SshdDropInDir+"/"+d.Name, d.Content, depth+1)
						}
					}
				}
				continue
			}
			out = append(out, Directive{File: file, Line: i + 1, Keyword: kw, Value: val, Match: match})
		}
	}
	walk(SshdConfigPath, main, 0)
	return out
}

func splitDirective(raw string) (kw, val string) {
	s := strings.TrimSpace(raw)
	if s == "" || strings.HasPrefix(s, "#") {
		return "", ""
	}
	i := strings.IndexAny(s, " \t=")
	if i < 0 {
		return strings.ToLower(s), ""
	}
	kw = strings.ToLower(s[:i])
	val = strings.TrimLeft(s[i:], " \t=")
	if kw == "challengeresponseauthentication" {
		kw = "kbdinteractiveauthentication"
	}
	return kw, strings.TrimSpace(val)
}

// IncludesDropInsFirst reports whether the main sshd_config includes sshd_config.d/*.conf (so a
// file named 00-accessctl.conf would be read) before any top-level line setting one of keywords,
// and outside any Match block. Only then can a drop-in decide those keywords.
func (l *Linux) IncludesDropInsFirst(keywords []string) bool {
	want := map[string]bool{}
	for _, k := range keywords {
		want[strings.ToLower(k)] = true
	}
	inMatch := false
	for _, raw := range strings.Split(l.SshdConfig.Content, "\n") {
		kw, val := splitDirective(raw)
		switch {
		case kw == "":
		case kw == "match":
			inMatch = !strings.EqualFold(strings.TrimSpace(val), "all")
		case kw == "include" && !inMatch:
			for _, g := range strings.Fields(val) {
				if !strings.HasPrefix(g, "/") {
					g = "/etc/ssh/" + g
				}
				dir, pat := path.Split(g)
				if ok, _ := path.Match(pat, SshdDropIn); ok && path.Clean(dir) == SshdDropInDir {
					return true
				}
			}
		case want[kw]:
			return false
		}
	}
	return false
}

// Winner returns the directive that decides keyword for a connection that matches no Match
// block (the first top-level one), and the Match-block directives for it that could override it
// for some connections.
func Winner(ds []Directive, keyword string) (top *Directive, matches []Directive) {
	keyword = strings.ToLower(keyword)
	for i := range ds {
		if ds[i].Keyword != keyword {
			continue
		}
		if ds[i].Match != "" {
			matches = append(matches, ds[i])
		} else if top == nil {
			top = &ds[i]
		}
	}
	return top, matches
}

// RemoveManagedBlock returns text without accessctl's "# BEGIN accessctl" ... "# END accessctl"
// block.
func RemoveManagedBlock(text string) string {
	var out []string
	in := false
	for _, l := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == BlockBegin:
			in = true
		case t == BlockEnd && in:
			in = false
		case !in:
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// ManagedBlock returns accessctl's block in the main sshd_config ("" when there is none).
func ManagedBlock(text string) string {
	var out []string
	in := false
	for _, l := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == BlockBegin:
			in = true
			out = append(out, l)
		case t == BlockEnd && in:
			out = append(out, l)
			return strings.Join(out, "")
		case in:
			out = append(out, l)
		}
	}
	return ""
}

// Markers of accessctl's block at the top of sshd_config.
const (
	BlockBegin = "# BEGIN accessctl"
	BlockEnd   = "# END accessctl"
)
