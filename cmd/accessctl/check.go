package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/policy"
	"github.com/accessctl/accessctl/internal/report"
)

func init() {
	register("check", "check the manifest against the policies (no host is contacted)", runCheck)
	register("validate", "check the manifest's schema and references only", runValidate)
}

// checkOptions are the flags shared by check, plan and apply.
type checkOptions struct {
	files      multiFlag
	inventory  string
	base       string
	policyDirs multiFlag
}

func (o *checkOptions) bind(fs *flag.FlagSet, withBase bool) {
	fs.Var(&o.files, "f", "manifest `PATH`: a file or a directory of *.yaml files (repeatable; default access.yaml)")
	if withBase {
		fs.StringVar(&o.base, "base", "", "previous revision of the manifest, a `PATH` or git:REV, for rules that judge a change")
	}
	fs.Var(&o.policyDirs, "policy", "extra policy `DIR` of *.rego files (repeatable)")
}

// load reads and validates the manifest; diagnostics are returned, usage problems printed.
func (c *cli) load(o *checkOptions) (*manifest.Manifest, []manifest.Diagnostic, int) {
	m, diags, err := manifest.Load(o.files, manifest.Options{Inventory: o.inventory})
	if err != nil {
		c.errorf("%s", strings.TrimPrefix(err.Error(), "usage: "))
		if len(o.files) == 0 {
			c.hintf("pass the manifest with -f PATH (default access.yaml)")
		}
		return nil, nil, exitUsage
	}
	return m, diags, exitOK
}

// diagFindings turns loader diagnostics into invalid-manifest findings, so every output format
// reports them the same way.
func diagFindings(diags []manifest.Diagnostic) []report.Finding {
	out := make([]report.Finding, 0, len(diags))
	for _, d := range diags {
		out = append(out, report.Finding{Rule: "invalid-manifest", Severity: report.SeverityDeny,
			Message: d.Message, File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, Path: d.Path})
	}
	return out
}

// checkResult is what loadAndCheck found.
type checkResult struct {
	m        *manifest.Manifest
	base     *manifest.Manifest
	engine   *policy.Engine
	findings []report.Finding
	denied   bool
}

// loadAndCheck loads, validates and runs the policies that need no host. code is exitOK, or the
// exit code to return at once (usage error; an invalid manifest is reported through findings).
func (c *cli) loadAndCheck(ctx context.Context, o *checkOptions) (*checkResult, int) {
	m, diags, code := c.load(o)
	if code != exitOK {
		return nil, code
	}
	res := &checkResult{m: m}
	if len(diags) > 0 {
		res.findings = diagFindings(diags)
		res.denied = true
		return res, exitOK
	}
	if o.base != "" {
		base, bdiags, err := loadBase(o.base, o.files)
		if err != nil {
			c.errorf("read --base %s: %v", o.base, err)
			return nil, exitUsage
		}
		if len(bdiags) > 0 {
			fmt.Fprintf(c.stderr, "accessctl: warning: the --base manifest has %d problem(s); the first: %s\n", len(bdiags), bdiags[0])
		}
		res.base = base
	}
	eng, err := policy.New(ctx, o.policyDirs)
	if err != nil {
		c.errorf("load policies: %v", err)
		return nil, exitUsage
	}
	res.engine = eng
	input, err := policy.BuildInput(m, res.base, policy.InputOptions{LookupEnv: c.lookupEnv})
	if err != nil {
		c.errorf("%v", err)
		return nil, exitInvalid
	}
	fs, err := eng.Eval(ctx, input, m)
	if err != nil {
		c.errorf("evaluate policies: %v", err)
		return nil, exitInvalid
	}
	res.findings = fs
	for _, f := range res.findings {
		if f.Severity == report.SeverityDeny {
			res.denied = true
		}
	}
	return res, exitOK
}

func (c *cli) lookupEnv(name string) (string, bool) {
	v := c.getenv(name)
	if v == "" {
		return os.LookupEnv(name)
	}
	return v, true
}

// loadBase reads the --base manifest: a path, or git:REV read with `git show` for each -f path.
// A file that did not exist at REV is an empty manifest (everything is new).
func loadBase(spec string, files []string) (*manifest.Manifest, []manifest.Diagnostic, error) {
	rev, isGit := strings.CutPrefix(spec, "git:")
	if !isGit {
		m, diags, err := manifest.Load([]string{spec}, manifest.Options{})
		return m, diags, err
	}
	if rev == "" || strings.HasPrefix(rev, "-") {
		return nil, nil, fmt.Errorf("git:REV needs a revision such as git:origin/main")
	}
	if len(files) == 0 {
		files = []string{"access.yaml"}
	}
	var srcs []manifest.Source
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		var names []string
		if fi.IsDir() {
			out, err := gitOutput(p, "ls-tree", "--name-only", rev, "--", ".")
			if err != nil {
				return nil, nil, err
			}
			for _, n := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
					names = append(names, filepath.Join(p, n))
				}
			}
		} else {
			names = []string{p}
		}
		for _, n := range names {
			data, err := gitOutput(filepath.Dir(n), "show", rev+":./"+filepath.Base(n))
			if err != nil {
				if strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "exists on disk, but not in") {
					continue
				}
				return nil, nil, err
			}
			srcs = append(srcs, manifest.Source{Name: n + "@" + rev, Data: []byte(data)})
		}
	}
	if len(srcs) == 0 {
		m, _ := manifest.LoadSources(nil)
		return m, nil, nil
	}
	m, diags := manifest.LoadSources(srcs)
	return m, diags, nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return string(out), nil
}

func runCheck(c *cli, args []string) int {
	var o checkOptions
	fs := c.newFlags("check", "[-f PATH]... [--base PATH|git:REV] [--policy DIR]... [--format F]",
		"Checks the manifest against the built-in policies (and yours, with --policy) without contacting\n"+
			"any host. Exit 0 when nothing is denied, 1 when the manifest is invalid or a policy denies it.\n"+
			"The text format ends with what was checked: users, key pairs, host groups, hosts, rules.")
	o.bind(fs, true)
	format := fs.String("format", "text", "output `FORMAT`: text, json, sarif, junit or github")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("check takes no arguments (got %q); pass manifests with -f", fs.Arg(0))
		return exitUsage
	}
	if !validFormat(*format) {
		c.errorf("unknown format %q; use one of %s", *format, strings.Join(report.Formats(), ", "))
		return exitUsage
	}
	res, code := c.loadAndCheck(context.Background(), &o)
	if code != exitOK {
		return code
	}
	rules := 0
	if res.engine != nil {
		rules = len(res.engine.RuleIDs())
	}
	if err := c.renderChecked(c.stdout, *format, res.findings, res.m.Files, checkedWhat(res.m, rules)); err != nil {
		c.errorf("write report: %v", err)
		return exitInvalid
	}
	if res.denied {
		return exitInvalid
	}
	return exitOK
}

func validFormat(f string) bool {
	for _, x := range report.Formats() {
		if x == f {
			return true
		}
	}
	return false
}

func (c *cli) render(w io.Writer, format string, findings []report.Finding, files []string) error {
	return c.renderChecked(w, format, findings, files, "")
}

// renderChecked is render with a statement of what was checked before the text summary.
func (c *cli) renderChecked(w io.Writer, format string, findings []report.Finding, files []string, checked string) error {
	return report.Render(w, format, findings, report.Options{
		Color:       format == "text" && report.ColorEnabled(w, c.getenv),
		ToolVersion: version(),
		Files:       files,
		Checked:     checked,
	})
}

// checkedWhat says what a manifest holds, for the closing line of check and validate:
// "4 users, 5 key pairs, 3 host groups, 6 hosts", then ", 2 cloud registries" when there are
// any and, when rules ran, ", 14 rules".
func checkedWhat(m *manifest.Manifest, rules int) string {
	if m == nil {
		return ""
	}
	s := fmt.Sprintf("%s, %s, %s, %s", countOf(len(m.Users), "user"), countOf(len(m.Keypairs), "key pair"),
		countOf(len(m.HostGroups), "host group"), countOf(len(m.Hosts), "host"))
	if len(m.Clouds) > 0 {
		s += ", " + countOf(len(m.Clouds), "cloud registry")
	}
	if rules > 0 {
		s += ", " + countOf(rules, "rule")
	}
	return s
}

func countOf(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func runValidate(c *cli, args []string) int {
	var o checkOptions
	fs := c.newFlags("validate", "[-f PATH]... [-i FILE] [--format F]",
		"Checks the manifest's schema, names and references, and nothing else: no policy runs and\n"+
			"no host is contacted. Every problem is listed with file:line:column. Exit 0 valid, 1 invalid.")
	fs.Var(&o.files, "f", "manifest `PATH`: a file or a directory of *.yaml files (repeatable; default access.yaml)")
	fs.StringVar(&o.inventory, "i", "", "inventory `FILE` whose hosts replace the manifest's")
	format := fs.String("format", "text", "output `FORMAT`: text, json, sarif, junit or github")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("validate takes no arguments (got %q); pass manifests with -f", fs.Arg(0))
		return exitUsage
	}
	if !validFormat(*format) {
		c.errorf("unknown format %q; use one of %s", *format, strings.Join(report.Formats(), ", "))
		return exitUsage
	}
	m, diags, code := c.load(&o)
	if code != exitOK {
		return code
	}
	if len(diags) > 0 || *format != "text" {
		if err := c.renderChecked(c.stdout, *format, diagFindings(diags), m.Files, checkedWhat(m, 0)); err != nil {
			c.errorf("write report: %v", err)
		}
		if len(diags) > 0 {
			return exitInvalid
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "%s: %s: valid\n", strings.Join(m.Files, ", "), checkedWhat(m, 0))
	return exitOK
}
