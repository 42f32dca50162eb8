package psparse

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func tool(t *testing.T) *Tool {
	t.Helper()
	tl, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func parse(t *testing.T, scripts ...Script) [][]Problem {
	t.Helper()
	res, err := tool(t).Parse(context.Background(), scripts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The grammar accepts valid Windows PowerShell 5.1: a corpus of the constructs our scripts use
// and their relatives (testdata/valid.ps1), as a file with CRLF line ends and a UTF-8 BOM too.
func TestGrammarAcceptsValid(t *testing.T) {
	b, err := os.ReadFile("testdata/valid.ps1")
	if err != nil {
		t.Fatal(err)
	}
	lf := string(b)
	Check(t,
		Script{"testdata/valid.ps1", lf},
		Script{"testdata/valid.ps1 (CRLF)", strings.ReplaceAll(lf, "\n", "\r\n")},
		Script{"testdata/valid.ps1 (BOM)", "\ufeff" + lf},
	)
}

// The grammar rejects broken PowerShell, at the line of the break: the mistakes a Go string
// that builds or quotes PowerShell would make.
func TestGrammarRejectsBroken(t *testing.T) {
	cases := []struct {
		name, text string
		line       int // the first problem's line
	}{
		{"unclosed brace", "function f {\n  if ($a) { 1 }\n", 2},
		{"unterminated single quote", "$a = 1\n$x = 'it's'\n", 2},
		{"unterminated double quote", "$a = 1\n$x = \"open\n", 2},
		{"stray closing brace", "$a = 1\n}\n", 2},
		{"unclosed hashtable", "$h = @{ a = 1\n", 1},
		{"unclosed foreach condition", "foreach ($u in $users { $u }\n", 1},
		{"unclosed parenthesis", "$x = (1 + 2\n", 1},
		{"unterminated here-string", "$a = @\"\nno end\n", 1},
		{"stray closing parenthesis", "Write-Output $x)\n", 1},
		{"else without block", "if ($a) { 1 } else\n", 1},
		{"dangling operator", "$x = 1 +\n", 1},
		{"unclosed method call", "[Console]::Error.WriteLine('a'\n", 1},
		{"broken subexpression in a string", "$s = \"a $(1 + ) b\"\n", 1},
		{"unclosed switch", "switch ($x) { 1 { 'a' }\n", 1},
		{"trailing comma in param", "param($a,)\n", 1},
		{"dangling comparison", "$x = $a -eq\n", 1},
		{"unclosed array", "$x = @(1, 2\n", 1},
		{"quote doubled wrongly", "$x = 'a'b'\n", 1},
	}
	var scripts []Script
	for _, c := range cases {
		scripts = append(scripts, Script{c.name, c.text})
	}
	res := parse(t, scripts...)
	for i, c := range cases {
		if len(res[i]) == 0 {
			t.Errorf("%s: %q parsed without error", c.name, c.text)
			continue
		}
		if res[i][0].Line != c.line {
			t.Errorf("%s: first problem %v, want line %d", c.name, res[i][0], c.line)
		}
	}
}

// Every mutation of the valid corpus that removes one closing brace, parenthesis, bracket or
// quote at the end of a line of code is rejected: the grammar does not recover silently from an
// unbalanced script. (Lines in comments and here-strings are text, so they are left alone.)
func TestGrammarRejectsUnbalancedCorpus(t *testing.T) {
	b, err := os.ReadFile("testdata/valid.ps1")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	text := textLines(src)
	var scripts []Script
	for _, tok := range []string{"}\n", ")\n", "]$", "'\n", "\"\n"} {
		for off := 0; ; {
			i := strings.Index(src[off:], tok)
			if i < 0 {
				break
			}
			at := off + i
			off = at + len(tok)
			line := strings.Count(src[:at], "\n") + 1
			if text[line] {
				continue
			}
			scripts = append(scripts, Script{
				Name: "valid.ps1 without the " + tok[:1] + " at line " + strconv.Itoa(line),
				Text: src[:at] + tok[1:] + src[at+len(tok):],
			})
		}
	}
	if len(scripts) < 40 {
		t.Fatalf("only %d mutations: the corpus changed?", len(scripts))
	}
	for i, probs := range parse(t, scripts...) {
		if len(probs) == 0 {
			t.Errorf("%s: parsed without error", scripts[i].Name)
		}
	}
}

// textLines returns the 1-based numbers of the lines of src that are not code: comment lines and
// here-string bodies with their terminators.
func textLines(src string) map[int]bool {
	out := map[int]bool{}
	end := ""
	for i, l := range strings.Split(src, "\n") {
		switch {
		case end != "":
			out[i+1] = true
			if strings.HasPrefix(l, end) {
				end = ""
			}
		case strings.HasSuffix(l, "@\""):
			end = "\"@"
		case strings.HasSuffix(l, "@'"):
			end = "'@"
		case strings.HasPrefix(strings.TrimSpace(l), "#"):
			out[i+1] = true
		}
	}
	return out
}

// Known gaps of tree-sitter-powershell 0.26.4, kept here so they stay true (if an upgrade fixes
// one, this test says so and the note goes). None of them occurs in accessctl's scripts; a new
// script must avoid the false positives (valid PowerShell the grammar rejects) rather than
// tolerate errors.
func TestGrammarKnownGaps(t *testing.T) {
	falsePositives := []Script{
		// A labelled break/continue: valid since PowerShell 1.
		{"continue with a label", ":outer foreach ($i in 1..3) { continue outer }\n"},
		{"break with a label", ":outer foreach ($i in 1..3) { break outer }\n"},
		// A script-level param block as the script's last statement, and [CmdletBinding()]
		// before a script-level param block after a using statement.
		{"param block alone", "param($Name)\n"},
		{"CmdletBinding after using", "using namespace System.Text\n[CmdletBinding()]\nparam($Name)\n$Name\n"},
		// A one-line function with [CmdletBinding()] and attributed parameters.
		{"one-line advanced function", "function f { [CmdletBinding()] param([Parameter(Mandatory = $true)][string]$N) $N }\n"},
		// A command argument that starts with - and holds = (a native program's flag); the
		// workflows write `-count 1` instead of `-count=1`.
		{"native flag with =", "go test ./x -count=1\n"},
	}
	falseNegatives := []Script{
		// PowerShell requires a catch or finally block after try.
		{"try without catch", "try { 1 }\n"},
	}
	res := parse(t, append(append([]Script{}, falsePositives...), falseNegatives...)...)
	for i, s := range falsePositives {
		if len(res[i]) == 0 {
			t.Errorf("known false positive %q now parses: remove it from this list", s.Name)
		}
	}
	for i, s := range falseNegatives {
		if len(res[len(falsePositives)+i]) != 0 {
			t.Errorf("known false negative %q is now rejected: remove it from this list", s.Name)
		}
	}
}

// Every .ps1 file in the repository parses (the embedded READ and APPLY scripts and any new
// one), wherever it lives.
func TestEveryPs1FileParses(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var scripts []Script
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".ps1") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		scripts = append(scripts, Script{filepath.ToSlash(rel), string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"internal/hoststate/windows/read.ps1": false, "internal/reconcile/windows/apply.ps1": false}
	for _, s := range scripts {
		if _, ok := want[s.Name]; ok {
			want[s.Name] = true
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s not found", name)
		}
	}
	Check(t, scripts...)
}

// The PowerShell steps of the GitHub workflows parse (jobs on Windows runners, whose default
// shell is pwsh, and steps with shell: powershell or pwsh).
func TestWorkflowPowerShellParses(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Name  string `yaml:"name"`
		Shell string `yaml:"shell"`
		Run   string `yaml:"run"`
	}
	var scripts []Script
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				RunsOn   any `yaml:"runs-on"`
				Defaults struct {
					Run struct {
						Shell string `yaml:"shell"`
					} `yaml:"run"`
				} `yaml:"defaults"`
				Steps []step `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for jname, j := range wf.Jobs {
			onWindows := strings.Contains(strings.ToLower(anyString(j.RunsOn)), "windows")
			for i, s := range j.Steps {
				shell := s.Shell
				if shell == "" {
					shell = j.Defaults.Run.Shell
				}
				if shell == "" && onWindows {
					shell = "pwsh"
				}
				if s.Run == "" || (shell != "pwsh" && shell != "powershell") {
					continue
				}
				if strings.Contains(s.Run, "${{") {
					t.Errorf("%s job %s step %d: an expression in a PowerShell step is substituted before it parses; pass it through env", filepath.Base(f), jname, i+1)
					continue
				}
				scripts = append(scripts, Script{filepath.Base(f) + " job " + jname + " step " + strconv.Itoa(i+1) + " (" + s.Name + ")", s.Run})
			}
		}
	}
	if len(scripts) == 0 {
		t.Fatal("no PowerShell steps found in .github/workflows (windows.yml has some)")
	}
	Check(t, scripts...)
}

func anyString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, e := range v {
			parts = append(parts, anyString(e))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// A missing npm install is a failure that says what to run, not a skip.
func TestMissingModulesSayWhatToInstall(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "parse.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := findIn(dir)
	if err == nil || !strings.Contains(err.Error(), "npm ci --prefix tools/psparse") {
		t.Fatalf("findIn without node_modules: %v", err)
	}
}

func TestParseLine(t *testing.T) {
	file, p, err := parseLine(`/tmp/psparse-1/0.ps1:12:7: MISSING } (inserted by the parser) near "\n"`)
	if err != nil || file != "/tmp/psparse-1/0.ps1" || p.Line != 12 || p.Col != 7 || !strings.HasPrefix(p.Message, "MISSING }") {
		t.Fatalf("got %q %+v %v", file, p, err)
	}
	for _, bad := range []string{"", "x", "f:1: no col", "f:a:1: x", "f:1:b: x"} {
		if _, _, err := parseLine(bad); err == nil {
			t.Errorf("parseLine(%q) accepted", bad)
		}
	}
}

// The report maps back to the right script when several are parsed in one run, and positions
// count characters (not bytes) on the right line.
func TestPositions(t *testing.T) {
	res := parse(t,
		Script{"ok", "$a = 1\n"},
		Script{"bad", "$a = 'é'\n$b = 'ü' + (\n"},
		Script{"ok2", "$c = 2\n"},
	)
	if len(res[0]) != 0 || len(res[2]) != 0 {
		t.Fatalf("clean scripts reported: %v", res)
	}
	if len(res[1]) == 0 || res[1][0].Line != 2 {
		t.Fatalf("bad script: %v", res[1])
	}
	found := false
	for _, p := range res[1] {
		if p.Line == 2 && p.Col == 13 { // the end of line 2, after "+ (" (the ü is one character)
			found = true
		}
	}
	if !found {
		t.Errorf("no problem at 2:13 (end of line 2): %v", res[1])
	}
}
