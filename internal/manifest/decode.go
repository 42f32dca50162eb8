package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bounds that keep any input, however hostile, from costing more than a moment.
const (
	// MaxFileSize bounds one manifest file.
	MaxFileSize = 32 << 20
	// maxNodes bounds the nodes visited in one file, alias expansions included (alias bombs).
	maxNodes = 2_000_000
	// maxDepth bounds nesting; the manifest is at most a handful of levels deep.
	maxDepth = 64
	// maxString bounds a scalar; key lines are the longest legitimate values (8 KiB in sshd).
	maxString = 16 << 10
)

// decoder walks the yaml.v3 node tree of one file, recording positions and diagnostics.
type decoder struct {
	file  string
	diags *[]Diagnostic
	pos   map[string]Pos
	priv  *[]string
}

func (d *decoder) at(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, a ...any) {
	*d.diags = append(*d.diags, Diagnostic{Pos: d.at(n), Path: path, Message: fmt.Sprintf(format, a...)})
}

// resolve follows aliases. The size of the whole document, aliases expanded, was bounded by
// checkSize before the walk began, so following an alias never costs more than that bound.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxDepth {
			d.errorf(n, path, "alias chain is too long")
			return nil
		}
		n = n.Alias
	}
	return n
}

// checkSize bounds the work a document can cause: its nodes, aliases expanded (alias bombs),
// and its nesting. It reports the first bound exceeded and returns false then.
func (d *decoder) checkSize(root *yaml.Node) bool {
	s := sizer{limit: maxNodes}
	s.walk(root, 0)
	switch {
	case s.deep != nil:
		d.errorf(s.deep, "", "the document is nested more than %d levels deep; a manifest needs only a few", maxDepth)
		return false
	case s.count > maxNodes:
		at := root
		if s.alias != nil {
			at = s.alias
		}
		d.errorf(at, "", "the document expands to more than %d YAML nodes (an alias bomb?)", maxNodes)
		return false
	}
	return true
}

// sizer counts nodes, aliases expanded, stopping once the limit or the depth bound is passed.
type sizer struct {
	limit, count int
	deep         *yaml.Node // first node nested deeper than maxDepth
	alias        *yaml.Node // the outermost alias being expanded when the count passed the limit
}

func (s *sizer) walk(n *yaml.Node, depth int) {
	if n == nil || s.deep != nil || s.count > s.limit {
		return
	}
	if depth > maxDepth {
		s.deep = n
		return
	}
	s.count++
	if n.Kind == yaml.AliasNode {
		s.walk(n.Alias, depth+1)
		if s.count > s.limit {
			s.alias = n // unwinding: the outermost alias wins, the one the user wrote last
		}
		return
	}
	for _, ch := range n.Content {
		s.walk(ch, depth+1)
	}
}

// field is one entry of a mapping after merge keys were applied.
type field struct {
	key, val *yaml.Node
}

// mapping checks n is a mapping and returns its fields in order. Unknown keys, duplicate keys and
// non-string keys are reported; merge keys (<<: *anchor) supply fields not written explicitly.
func (d *decoder) mapping(n *yaml.Node, path string, known ...string) []field {
	return d.mappingDepth(n, path, 0, known)
}

func (d *decoder) mappingDepth(n *yaml.Node, path string, depth int, known []string) []field {
	n = d.resolve(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if !isNull(n) {
			d.errorf(n, path, "%s must be a mapping, not %s", describe(path), kindName(n))
		}
		return nil
	}
	var out []field
	var merges []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			merges = append(merges, v)
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, path, "keys of %s must be plain strings", describe(path))
		case seen[k.Value] != nil:
			d.errorf(k, join(path, k.Value), "field %q is set twice (first at line %d)", safeText(k.Value), seen[k.Value].Line)
		default:
			seen[k.Value] = k
			if !contains(known, k.Value) {
				d.errorf(k, join(path, k.Value), "unknown field %q in %s%s", safeText(k.Value), describe(path), suggest(k.Value, known))
				continue
			}
			out = append(out, field{k, v})
		}
	}
	for _, m := range merges {
		if depth >= 4 {
			d.errorf(m, path, "merge keys (<<) are nested too deeply")
			break
		}
		src := d.resolve(m, path)
		if src == nil || src.Kind != yaml.MappingNode {
			d.errorf(m, path, "a merge key (<<) must refer to a mapping")
			continue
		}
		for _, f := range d.mappingDepth(src, path, depth+1, known) {
			if seen[f.key.Value] == nil {
				seen[f.key.Value] = f.key
				out = append(out, f)
			}
		}
	}
	return out
}

// sequence checks n is a sequence (or null) and returns its items.
func (d *decoder) sequence(n *yaml.Node, path string) []*yaml.Node {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "%s must be a list, not %s", describe(path), kindName(n))
		return nil
	}
	return n.Content
}

// emptyItem reports a list item left empty ("- " alone, ~, null), which would otherwise become
// an entity without a name.
func (d *decoder) emptyItem(n *yaml.Node, path string) bool {
	r := d.resolve(n, path)
	if r == nil || !isNull(r) {
		return false
	}
	d.errorf(r, path, "%s is empty; remove the lone '-' or fill in the entry", path)
	return true
}

// str decodes a scalar string. Numbers and booleans written where a string belongs are accepted
// only when quoting was clearly forgotten for an identifier; control characters are refused.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = d.resolve(n, path)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "%s must be a string, not %s", describe(path), kindName(n))
		return "", false
	}
	if n.Tag == "!!binary" {
		d.errorf(n, path, "%s must be a string, not binary data", describe(path))
		return "", false
	}
	v := n.Value
	if len(v) > maxString {
		d.errorf(n, path, "%s is too long (%d bytes; at most %d)", describe(path), len(v), maxString)
		return "", false
	}
	if hasPrivateKey(v) {
		// Reported by the private-key rule at this place; the text itself is dropped so that it
		// reaches no policy input, no report and no error (a pasted key block has newlines too).
		*d.priv = append(*d.priv, path)
		d.pos[path] = d.at(n)
		return "", true
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		d.errorf(n, path, "%s contains a control character (%s)", describe(path), controlName(v[i]))
		return "", false
	}
	d.pos[path] = d.at(n)
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = d.resolve(n, path)
	if n == nil {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	d.errorf(n, path, "%s must be true or false, not %s", describe(path), quoteScalar(n))
	return false, false
}

func (d *decoder) integer(n *yaml.Node, path string, lo, hi int64) (int, bool) {
	n = d.resolve(n, path)
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil && i >= lo && i <= hi {
			return int(i), true
		}
		d.errorf(n, path, "%s must be between %d and %d", describe(path), lo, hi)
		return 0, false
	}
	d.errorf(n, path, "%s must be a whole number, not %s", describe(path), quoteScalar(n))
	return 0, false
}

func (d *decoder) strList(n *yaml.Node, path string) []string {
	items := d.sequence(n, path)
	out := make([]string, 0, len(items))
	for i, it := range items {
		if s, ok := d.str(it, index(path, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// record remembers where path is written: the key of a mapping entry, or a list item.
func (d *decoder) record(path string, n *yaml.Node) {
	d.pos[path] = d.at(n)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!timestamp":
			return "a date"
		}
		return "a string"
	}
	return "something else"
}

func quoteScalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	if isNull(n) {
		return "empty"
	}
	v := n.Value
	if len(v) > 40 || hasPrivateKey(v) {
		return kindName(n)
	}
	return strconv.Quote(v)
}

// describe names a path for a message: "users[1].sudo" -> "users[1].sudo", "" -> "the manifest".
func describe(path string) string {
	if path == "" {
		return "the manifest"
	}
	return path
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest offers the closest known field for a typo.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dd := editDistance(strings.ToLower(got), strings.ToLower(k)); dd < bestD {
			best, bestD = k, dd
		}
	}
	if best == "" {
		sorted := append([]string(nil), known...)
		sort.Strings(sorted)
		return " (known fields: " + strings.Join(sorted, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029
}

func controlName(b byte) string {
	switch b {
	case '\n':
		return "newline"
	case '\r':
		return "carriage return"
	case 0:
		return "NUL"
	}
	return fmt.Sprintf("0x%02x", b)
}

// safeText shortens and sanitises user text echoed in a message.
func safeText(s string) string {
	if hasPrivateKey(s) {
		return "<private key material>"
	}
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return '?'
		}
		return r
	}, s)
}

// hasPrivateKey reports private key material: PEM/OpenSSH private key blocks, PuTTY key files.
func hasPrivateKey(s string) bool {
	if !strings.Contains(s, "PRIVATE KEY") && !strings.Contains(s, "PuTTY-User-Key-File") {
		return false
	}
	u := strings.ToUpper(s)
	return strings.Contains(u, "-----BEGIN") && strings.Contains(u, "PRIVATE KEY") ||
		strings.Contains(s, "PuTTY-User-Key-File")
}
