// Package psparse is a test helper: it parses PowerShell scripts with a real PowerShell grammar
// (tree-sitter-powershell, run by web-tree-sitter under node; tools/psparse) and fails a test
// with the position of every syntax error. No PowerShell runs on this project's CI machines, so
// this is what proves, outside Windows, that every script accessctl can send to a Windows host
// is syntactically whole.
//
// The tool is a test prerequisite like the lab's sshd: when node is missing, [Check] fails the
// test and says what to install; it never skips. When the npm modules are missing and npm is
// there, the first test installs them from tools/psparse's lock file (`npm ci`), as `go test`
// fetches Go modules; test binaries running at once take turns under a file lock.
package psparse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/transport/winrm"
)

// Script is one PowerShell program to parse: Name says in a failure where it came from.
type Script struct {
	Name string
	Text string
}

// Problem is one syntax error: Line and Col are 1-based (Col counts characters).
type Problem struct {
	Line, Col int
	// Message is the tool's description, e.g. `ERROR unparsable text near "..."` or
	// `MISSING } (inserted by the parser) near "..."`.
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Message) }

// Install is what a missing prerequisite's message tells the reader to run.
const Install = "install node (>= 18) and npm (Debian: apt-get install nodejs npm), then from the repository root run " +
	"`npm ci --prefix tools/psparse` (.ci/run does both)"

// Tool is an installed copy of tools/psparse.
type Tool struct {
	Node   string // the node executable
	Script string // tools/psparse/parse.js
}

// Find locates node and tools/psparse (with its node_modules) from the module root above the
// working directory, or says what is missing and how to install it.
func Find() (*Tool, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	return findIn(filepath.Join(root, "tools", "psparse"))
}

func findIn(dir string) (*Tool, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("the PowerShell parse test needs node, which is not on PATH: %s", Install)
	}
	script := filepath.Join(dir, "parse.js")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("the PowerShell parse tool is missing: %v", err)
	}
	if missing := missingModule(dir); missing != "" {
		if err := install(dir); err != nil {
			return nil, fmt.Errorf("the PowerShell parse test needs the npm modules of tools/psparse (%s is missing) and could not install them: %v: %s", missing, err, Install)
		}
		if missing := missingModule(dir); missing != "" {
			return nil, fmt.Errorf("the PowerShell parse test needs the npm modules of tools/psparse (%s is missing after npm ci): %s", missing, Install)
		}
	}
	return &Tool{Node: node, Script: script}, nil
}

// missingModule is the first file of the npm modules that is not installed in dir, or "".
func missingModule(dir string) string {
	for _, m := range []string{
		"web-tree-sitter/package.json",
		"tree-sitter-powershell/tree-sitter-powershell.wasm",
	} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(m))); err != nil {
			return m
		}
	}
	return ""
}

// install runs `npm ci` in dir (the pinned versions of its package-lock.json), once: it holds an
// exclusive lock on dir/.npm-install.lock, and a test binary that waited finds them installed.
// --ignore-scripts: the grammar's install script only loads native prebuilds, never used here.
func install(dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH")
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	if missingModule(dir) == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefix", dir, "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci --prefix %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	return nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("psparse: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Parse parses every script in one run of the tool and returns the problems of each, by index
// (nil: it parsed cleanly). The error is for a tool that could not run, not for syntax errors.
func (t *Tool) Parse(ctx context.Context, scripts []Script) ([][]Problem, error) {
	dir, err := os.MkdirTemp("", "psparse-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := make([]string, len(scripts))
	index := make(map[string]int, len(scripts))
	for i, s := range scripts {
		// The file name is ours (no characters the tool's output format could confuse); the
		// script's own name is used only in messages.
		files[i] = filepath.Join(dir, strconv.Itoa(i)+".ps1")
		index[files[i]] = i
		if err := os.WriteFile(files[i], []byte(s.Text), 0o600); err != nil {
			return nil, err
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.Node, append([]string{t.Script}, files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exit) && exit.ExitCode() == 1:
		// syntax errors, reported on stdout
	default:
		return nil, fmt.Errorf("%s %s: %v: %s", t.Node, t.Script, runErr, strings.TrimSpace(stderr.String()))
	}
	out := make([][]Problem, len(scripts))
	found := false
	for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		file, p, err := parseLine(line)
		if err != nil {
			return nil, err
		}
		i, ok := index[file]
		if !ok {
			return nil, fmt.Errorf("psparse: report for an unknown file: %q", line)
		}
		out[i] = append(out[i], p)
		found = true
	}
	if (runErr == nil) == found {
		return nil, fmt.Errorf("psparse: exit status and report disagree (%v): %q", runErr, stdout.String())
	}
	return out, nil
}

// parseLine reads one line of the tool's report: FILE:LINE:COL: MESSAGE.
func parseLine(line string) (string, Problem, error) {
	bad := fmt.Errorf("psparse: unexpected report line %q", line)
	head, msg, ok := strings.Cut(line, ": ")
	if !ok {
		return "", Problem{}, bad
	}
	i := strings.LastIndexByte(head, ':')
	if i < 0 {
		return "", Problem{}, bad
	}
	col, err := strconv.Atoi(head[i+1:])
	if err != nil {
		return "", Problem{}, bad
	}
	head = head[:i]
	i = strings.LastIndexByte(head, ':')
	if i < 0 {
		return "", Problem{}, bad
	}
	ln, err := strconv.Atoi(head[i+1:])
	if err != nil {
		return "", Problem{}, bad
	}
	return head[:i], Problem{Line: ln, Col: col, Message: msg}, nil
}

// Check parses every script and fails t for each one that does not parse, naming the script,
// the position, the tool's message and the line itself. A missing node or npm module fails t
// too, with what to install.
func Check(t testing.TB, scripts ...Script) {
	t.Helper()
	tool, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := tool.Parse(ctx, scripts)
	if err != nil {
		t.Fatal(err)
	}
	for i, probs := range res {
		if len(probs) == 0 {
			continue
		}
		var b strings.Builder
		lines := strings.Split(scripts[i].Text, "\n")
		for _, p := range probs {
			src := ""
			if p.Line >= 1 && p.Line <= len(lines) {
				src = around(strings.TrimRight(lines[p.Line-1], "\r"), p.Col)
			}
			fmt.Fprintf(&b, "\n  %s:%s\n    | %s", scripts[i].Name, p, src)
		}
		t.Errorf("%s does not parse as PowerShell:%s", scripts[i].Name, b.String())
	}
}

// around returns line, or for a long one (the one-line bootstrap) the part around column col.
func around(line string, col int) string {
	r := []rune(line)
	if len(r) <= 120 {
		return line
	}
	from, to := max(col-1-80, 0), min(col-1+30, len(r))
	if from >= to {
		return line
	}
	s := string(r[from:to])
	if from > 0 {
		s = "..." + s
	}
	if to < len(r) {
		s += "..."
	}
	return s
}

// Recorder is a transport.Conn that stands for a Windows host reached over SSH: wrapped in
// winrm.PowerShell, it receives exactly the command line and stdin a host would (the WinRM
// transport sends the same two). It records them and answers every run with exit code 0 and no
// output. [Recorder.Scripts] returns the PowerShell in what was sent.
type Recorder struct {
	Runs []Sent
}

// Sent is one recorded run.
type Sent struct {
	CommandLine string
	Stdin       []byte
}

// Run records cmd and all of stdin.
func (r *Recorder) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var in []byte
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return -1, err
		}
		in = b
	}
	r.Runs = append(r.Runs, Sent{CommandLine: cmd, Stdin: in})
	return 0, nil
}

// Close does nothing.
func (r *Recorder) Close() error { return nil }

// Scripts returns, for every recorded run, the two PowerShell programs a Windows host runs: the
// bootstrap, decoded from the command line's -EncodedCommand, and the script the bootstrap takes
// from stdin (its first line) and runs. Their names start with name.
func (r *Recorder) Scripts(name string) ([]Script, error) {
	var out []Script
	for i, run := range r.Runs {
		f := strings.Fields(run.CommandLine)
		if len(f) < 3 || !strings.EqualFold(f[0], "powershell.exe") || !strings.EqualFold(f[len(f)-2], "-EncodedCommand") {
			return nil, fmt.Errorf("run %d: not a PowerShell -EncodedCommand line: %q", i+1, run.CommandLine)
		}
		boot, err := winrm.DecodeCommand(f[len(f)-1])
		if err != nil {
			return nil, fmt.Errorf("run %d: -EncodedCommand: %v", i+1, err)
		}
		script, _, err := winrm.SplitStdin(run.Stdin)
		if err != nil {
			return nil, fmt.Errorf("run %d: stdin: %v", i+1, err)
		}
		n := fmt.Sprintf("%s run %d", name, i+1)
		out = append(out, Script{n + " bootstrap (command line)", boot}, Script{n + " script (stdin)", script})
	}
	return out, nil
}
