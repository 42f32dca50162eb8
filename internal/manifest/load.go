package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// APIVersion is the only manifest version this build understands.
const APIVersion = "accessctl/v1"

// Options change how Load reads.
type Options struct {
	// Inventory is a file in manifest format whose hosts replace the manifest's (`-i FILE`).
	Inventory string
}

// Source is one manifest document in memory (a file read by the caller, or a git revision).
type Source struct {
	Name string
	Data []byte
}

// ErrUsage marks errors that are the caller's (missing file, nothing to read): exit 4, not 1.
var ErrUsage = errors.New("usage")

// Load reads files and directories (their *.yaml and *.yml files, sorted, not recursive), merges
// them and validates the result. A non-nil error is a usage problem (a path that does not exist);
// diagnostics describe an invalid manifest. The manifest is returned even when invalid, so callers
// can show partial results, but it must not be acted upon then.
func Load(paths []string, opts Options) (*Manifest, []Diagnostic, error) {
	if len(paths) == 0 {
		paths = []string{"access.yaml"}
	}
	var srcs []Source
	dir := ""
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, nil, err
		}
		if dir == "" {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				dir = p
			} else {
				dir = filepath.Dir(p)
			}
		}
		for _, f := range files {
			data, err := readBounded(f)
			if err != nil {
				return nil, nil, err
			}
			srcs = append(srcs, Source{Name: f, Data: data})
		}
	}
	m, diags := parse(srcs, false)
	m.Dir = dir
	if opts.Inventory != "" {
		data, err := readBounded(opts.Inventory)
		if err != nil {
			return nil, nil, err
		}
		inv, idiags := parse([]Source{{Name: opts.Inventory, Data: data}}, true)
		diags = append(diags, idiags...)
		m.Hosts = inv.Hosts
		for k := range m.Positions {
			if strings.HasPrefix(k, "hosts") {
				delete(m.Positions, k)
			}
		}
		for k, v := range inv.Positions {
			if strings.HasPrefix(k, "hosts") {
				m.Positions[k] = v
			}
		}
		m.Files = append(m.Files, opts.Inventory)
	}
	diags = append(diags, validate(m)...)
	sortDiags(diags)
	return m, dedupe(diags), nil
}

func expand(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s: no such file or directory", ErrUsage, p)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, p, unwrapPathErr(err))
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, p, unwrapPathErr(err))
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			files = append(files, filepath.Join(p, n))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s: no *.yaml or *.yml files in the directory", ErrUsage, p)
	}
	return files, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, path, unwrapPathErr(err))
	}
	defer f.Close()
	// One byte more than the limit tells "too large" apart from "exactly the limit".
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, path, unwrapPathErr(err))
	}
	return data, nil
}

// LoadSources parses and validates in-memory documents as Load does.
func LoadSources(srcs []Source) (*Manifest, []Diagnostic) {
	m, diags := parse(srcs, false)
	diags = append(diags, validate(m)...)
	sortDiags(diags)
	return m, dedupe(diags)
}

func sortDiags(diags []Diagnostic) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Pos, diags[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func dedupe(diags []Diagnostic) []Diagnostic {
	out := diags[:0]
	for i, d := range diags {
		if i > 0 && d.Pos == diags[i-1].Pos && d.Message == diags[i-1].Message {
			continue
		}
		out = append(out, d)
	}
	return out
}

// parse decodes every source into one merged manifest (lists concatenated, settings merged).
func parse(srcs []Source, inventory bool) (*Manifest, []Diagnostic) {
	m := &Manifest{Positions: map[string]Pos{}, Policy: Policy{Settings: map[string]any{}}}
	var diags []Diagnostic
	for _, src := range srcs {
		m.Files = append(m.Files, src.Name)
		parseOne(m, src, inventory, &diags)
	}
	if m.Keypairs == nil {
		m.Keypairs = []Keypair{}
	}
	if m.Users == nil {
		m.Users = []User{}
	}
	if m.HostGroups == nil {
		m.HostGroups = []HostGroup{}
	}
	if m.Hosts == nil {
		m.Hosts = []Host{}
	}
	if m.Policy.Exceptions == nil {
		m.Policy.Exceptions = []Exception{}
	}
	return m, diags
}

func parseOne(m *Manifest, src Source, inventory bool, diags *[]Diagnostic) {
	top := Pos{File: src.Name, Line: 1, Column: 1}
	fail := func(p Pos, format string, a ...any) {
		*diags = append(*diags, Diagnostic{Pos: p, Message: fmt.Sprintf(format, a...)})
	}
	data := src.Data
	if len(data) > MaxFileSize {
		fail(top, "file is larger than %d MiB; a manifest is expected to be far smaller", MaxFileSize>>20)
		return
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		fail(posOf(data, i, src.Name), "file contains a NUL byte; it is not a YAML text file")
		return
	}
	if !utf8.Valid(data) {
		fail(top, "file is not valid UTF-8 text")
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if err == io.EOF {
			fail(top, "file is empty; expected a manifest starting with 'apiVersion: %s'", APIVersion)
			return
		}
		fail(yamlErrPos(err, src.Name, data), "invalid YAML: %s", yamlErrMsg(err, data))
		return
	}
	var extra yaml.Node
	if err := safeDecode(dec, &extra); err == nil {
		fail(Pos{File: src.Name, Line: extra.Line, Column: extra.Column}, "file holds more than one YAML document; put each in its own file")
		return
	} else if err != io.EOF {
		fail(yamlErrPos(err, src.Name, data), "invalid YAML: %s", yamlErrMsg(err, data))
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d := &decoder{file: src.Name, diags: diags, pos: m.Positions, priv: &m.PrivateKeyPaths}
	if !d.checkSize(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		fail(Pos{File: src.Name, Line: root.Line, Column: root.Column}, "a manifest must be a mapping with apiVersion, keypairs, users, hostGroups, hosts and policy")
		return
	}
	var sawVersion bool
	offsets := [5]int{len(m.Keypairs), len(m.Users), len(m.HostGroups), len(m.Hosts), len(m.Clouds)}
	for _, f := range d.mapping(root, "", "apiVersion", "keypairs", "clouds", "users", "hostGroups", "hosts", "policy") {
		switch f.key.Value {
		case "apiVersion":
			sawVersion = true
			if v, ok := d.str(f.val, "apiVersion"); ok && v != APIVersion {
				d.errorf(f.val, "apiVersion", "apiVersion must be %q, not %q", APIVersion, safeText(v))
			}
		case "keypairs":
			d.record("keypairs", f.val)
			for i, it := range d.sequence(f.val, "keypairs") {
				if d.emptyItem(it, index("keypairs", offsets[0]+i)) {
					continue
				}
				m.Keypairs = append(m.Keypairs, d.keypair(it, index("keypairs", offsets[0]+i)))
			}
		case "users":
			d.record("users", f.val)
			for i, it := range d.sequence(f.val, "users") {
				if d.emptyItem(it, index("users", offsets[1]+i)) {
					continue
				}
				m.Users = append(m.Users, d.user(it, index("users", offsets[1]+i)))
			}
		case "hostGroups":
			d.record("hostGroups", f.val)
			for i, it := range d.sequence(f.val, "hostGroups") {
				if d.emptyItem(it, index("hostGroups", offsets[2]+i)) {
					continue
				}
				m.HostGroups = append(m.HostGroups, d.hostGroup(it, index("hostGroups", offsets[2]+i)))
			}
		case "hosts":
			d.record("hosts", f.val)
			for i, it := range d.sequence(f.val, "hosts") {
				if d.emptyItem(it, index("hosts", offsets[3]+i)) {
					continue
				}
				m.Hosts = append(m.Hosts, d.host(it, index("hosts", offsets[3]+i)))
			}
		case "clouds":
			d.record("clouds", f.val)
			for i, it := range d.sequence(f.val, "clouds") {
				if d.emptyItem(it, index("clouds", offsets[4]+i)) {
					continue
				}
				m.Clouds = append(m.Clouds, d.cloud(it, index("clouds", offsets[4]+i)))
			}
		case "policy":
			d.record("policy", f.val)
			d.policy(f.val, m)
		}
	}
	commentKeys([]*yaml.Node{&doc}, root, offsets, m)
	if !sawVersion && !inventory {
		fail(top, "apiVersion is missing; the first line should be 'apiVersion: %s'", APIVersion)
	}
	if m.APIVersion == "" && sawVersion {
		m.APIVersion = APIVersion
	}
}

// commentKeys finds private key material in YAML comments, which the decoder never sees, and
// records it under the path of the nearest entry (the comment's own line is not kept by yaml.v3).
// offsets are the lengths of the top-level lists before this file, as the decoder numbers them.
func commentKeys(docNodes []*yaml.Node, root *yaml.Node, offsets [5]int, m *Manifest) {
	add := func(path string) {
		for _, p := range m.PrivateKeyPaths {
			if p == path {
				return
			}
		}
		m.PrivateKeyPaths = append(m.PrivateKeyPaths, path)
	}
	has := func(n *yaml.Node) bool {
		return n != nil && hasPrivateKey(n.HeadComment+"\n"+n.LineComment+"\n"+n.FootComment)
	}
	first := "apiVersion"
	if len(root.Content) > 0 {
		first = root.Content[0].Value
	}
	if has(root) {
		add(first)
	}
	for _, n := range docNodes {
		if has(n) {
			add(first)
		}
	}
	sections := map[string]int{"keypairs": 0, "users": 1, "hostGroups": 2, "hosts": 3, "clouds": 4}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n == nil || depth > maxDepth {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if has(k) || has(v) || (v.Kind == yaml.ScalarNode && path == "policy.settings" && hasPrivateKey(v.Value)) {
					add(p)
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			off := 0
			if o, ok := sections[path]; ok {
				off = offsets[o]
			}
			for i, it := range n.Content {
				p := index(path, off+i)
				if has(it) {
					add(p)
				}
				walk(it, p, depth+1)
			}
		}
	}
	walk(root, "", 0)
}

// safeDecode turns a panic inside the YAML library into an error: no input may crash accessctl.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser gave up on this input: %v", r)
		}
	}()
	return dec.Decode(n)
}

func posOf(data []byte, off int, file string) Pos {
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return Pos{File: file, Line: line, Column: col}
}

// yamlErrPos pulls "line N" out of a yaml.v3 error. yaml.v3 reports parser errors (as opposed
// to scanner errors) with a 0-based line, the start of the construct being parsed; add one so the
// line is the one an editor shows. A tab where indentation is expected is pointed at exactly.
func yamlErrPos(err error, file string, data []byte) Pos {
	msg := err.Error()
	p := Pos{File: file, Line: 1, Column: 1}
	if i := strings.Index(msg, "line "); i >= 0 {
		var n int
		if _, e := fmt.Sscanf(msg[i:], "line %d", &n); e == nil && n >= 0 {
			p.Line = n
			if isParserError(msg) {
				p.Line++
			}
		}
	}
	if p.Line < 1 {
		p.Line = 1
	}
	// "unknown anchor 'x' referenced" has no line: point at the first *x.
	if strings.HasPrefix(msg, "yaml: unknown anchor '") {
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "yaml: unknown anchor '"), "'")
		if i := bytes.Index(data, []byte("*"+name)); name != "" && i >= 0 {
			return posOf(data, i, file)
		}
	}
	switch {
	case strings.Contains(msg, "cannot start any token"):
		if line, col, ok := tabIndent(data, p.Line, p.Line-1); ok {
			p.Line, p.Column = line, col
		}
	case strings.Contains(msg, "tab character that violates indentation"):
		// yaml.v3 gives the 0-based line of the scalar being scanned: the tab is on the next
		// line as an editor counts (or, at the end of input, on that one).
		if line, col, ok := tabIndent(data, p.Line+1, p.Line); ok {
			p.Line, p.Column = line, col
		}
	}
	return p
}

// isParserError tells yaml.v3's parser errors from its scanner errors by their fixed texts.
func isParserError(msg string) bool {
	for _, s := range []string{
		"did not find expected <document start>", "did not find expected node content",
		"did not find expected '-' indicator", "did not find expected key",
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"found undefined tag handle", "found duplicate %YAML directive", "found incompatible YAML document",
		"found duplicate %TAG directive",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// tabIndent finds a tab in the indentation of the first of the candidate lines (1-based) that has
// one: YAML forbids tabs there, and yaml.v3's messages point near it rather than at it.
func tabIndent(data []byte, candidates ...int) (int, int, bool) {
	lines := bytes.Split(data, []byte("\n"))
	for _, l := range candidates {
		if l < 1 || l > len(lines) {
			continue
		}
		text := lines[l-1]
		indent := len(text) - len(bytes.TrimLeft(text, " \t"))
		if i := bytes.IndexByte(text[:indent], '\t'); i >= 0 {
			return l, i + 1, true
		}
	}
	return 0, 0, false
}

func tabIndentAny(data []byte, candidates ...int) bool {
	_, _, ok := tabIndent(data, candidates...)
	return ok
}

func yamlErrMsg(err error, data []byte) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	msg = safeText(msg)
	if strings.Contains(msg, "cannot start any token") {
		if l := yamlErrPos(err, "", nil).Line; tabIndentAny(data, l, l-1) {
			msg += " (a tab in the indentation: YAML indents with spaces only)"
		}
	}
	return msg
}
