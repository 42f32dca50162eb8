package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/accessctl/accessctl/internal/report"
)

// Help, flag errors and the data shell completion is made from. Flags are plain standard-library
// flag sets, one per command, registered where the command is (see README "Command line"): this
// file only renders them, so a command gains a flag with one fs.XxxVar line and nothing else.

// newFlags makes a command's flag set. Parse errors and --help are handled by parseFlags: the
// flag package prints nothing itself.
func (c *cli) newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { writeHelp(fs.Output(), fs, synopsis, about) }
	return fs
}

// parseFlags parses args; ok=false means the caller returns code at once: 0 after --help (printed
// once, on stdout), 4 after a usage error (printed as an error with a hint).
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if c.describe != nil {
		c.describe(fs)
		return exitOK, false
	}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil {
		return exitOK, true
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(c.stdout)
		fs.Usage()
		return exitOK, false
	}
	c.errorf("%s: %s", fs.Name(), flagErrText(err.Error()))
	if name, unknown := strings.CutPrefix(err.Error(), "flag provided but not defined: "); unknown {
		if s := suggest(strings.TrimLeft(name, "-"), flagNames(fs)); s != "" {
			c.hintf("did you mean %s?", dashName(s))
		}
	}
	c.hintf("see 'accessctl %s --help'", fs.Name())
	return exitUsage, false
}

// flagRefRE finds a flag name in the flag package's error texts.
var flagRefRE = regexp.MustCompile(`(flag |for |: )-{1,2}([A-Za-z0-9][A-Za-z0-9_-]*)`)

// flagErrText rewrites the flag package's error in the spelling help uses: --name (-x for
// one-letter flags), "unknown flag" for an undefined one.
func flagErrText(msg string) string {
	msg = strings.Replace(msg, "flag provided but not defined:", "unknown flag", 1)
	return flagRefRE.ReplaceAllStringFunc(msg, func(m string) string {
		sub := flagRefRE.FindStringSubmatch(m)
		return sub[1] + dashName(sub[2])
	})
}

// dashName is how a flag is written everywhere: -f for one letter, --name otherwise. (The flag
// package accepts either number of dashes for either.)
func dashName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// suggest returns the candidate closest to name when it is close enough to be a typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(name, c)
		if len(name) >= 3 && strings.HasPrefix(c, name) {
			d = 1
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Flag groups in help and completion, in this order. Core flags are a command's own.
const (
	groupCore  = ""
	groupSSH   = "SSH"
	groupWinRM = "WinRM"
	groupPull  = "Pull mode"
	groupCloud = "Cloud"
)

var groupOrder = []string{groupCore, groupSSH, groupWinRM, groupPull, groupCloud}

// flagGroup says which help section a flag of command cmd belongs in.
func flagGroup(cmd, name string) string {
	switch {
	case strings.HasPrefix(name, "winrm-"):
		return groupWinRM
	case strings.HasPrefix(name, "cloud-"):
		return groupCloud
	}
	switch name {
	case "known-hosts", "identity", "insecure-skip-host-key-check", "ssh-config", "connect-timeout":
		return groupSSH
	case "keys-binary", "snapshot-max-age":
		return groupPull
	case "sign-key":
		if cmd == "plan" || cmd == "apply" {
			return groupPull
		}
	}
	return groupCore
}

// helpFlag is one flag as help and completion show it.
type helpFlag struct {
	name        string // without dashes
	placeholder string // "" for a boolean flag
	usage       string
	def         string // "" when the default is the zero value
	bool        bool
	repeatable  bool
	group       string
}

func helpFlags(fs *flag.FlagSet) []helpFlag {
	var out []helpFlag
	fs.VisitAll(func(f *flag.Flag) {
		ph, usage := flag.UnquoteUsage(f)
		hf := helpFlag{name: f.Name, placeholder: ph, usage: usage, group: flagGroup(fs.Name(), f.Name)}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			hf.bool, hf.placeholder = true, ""
		}
		if _, ok := f.Value.(*multiFlag); ok {
			hf.repeatable = true
		}
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			hf.def = f.DefValue
		}
		switch {
		case hf.bool:
		case f.Name == "format":
			hf.placeholder = "FORMAT"
		case ph == "int":
			hf.placeholder = "N"
		case ph == "duration":
			hf.placeholder = "D"
			hf.def = shortDuration(hf.def)
		case ph == "value" || ph == "string":
			hf.placeholder = "VALUE"
		}
		out = append(out, hf)
	})
	// One-letter flags first (-f, -i), then the rest by name.
	sort.SliceStable(out, func(i, j int) bool {
		if (len(out[i].name) == 1) != (len(out[j].name) == 1) {
			return len(out[i].name) == 1
		}
		return out[i].name < out[j].name
	})
	return out
}

// writeHelp prints a command's help: usage line, description, flags by group, examples.
func writeHelp(w io.Writer, fs *flag.FlagSet, synopsis, about string) {
	name := fs.Name()
	if synopsis == "" {
		synopsis = "[flags]"
	}
	fmt.Fprintf(w, "Usage: accessctl %s %s\n", name, synopsis)
	if about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(about, "\n"))
	}
	flags := helpFlags(fs)
	for _, g := range groupOrder {
		var lines []string
		for _, f := range flags {
			if f.group == g {
				lines = append(lines, flagHelpLines(f)...)
			}
		}
		if g == groupCore {
			lines = append(lines, "  -h, --help"+strings.Repeat(" ", helpColumn-12)+"show this help")
		}
		if len(lines) == 0 {
			continue
		}
		title := "Flags:"
		if g != groupCore {
			title = g + " flags:"
		}
		fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Join(lines, "\n"))
	}
	if ex := examples(name); len(ex) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// shortDuration writes a default duration as people do: 5m, not 5m0s.
func shortDuration(d string) string {
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}

const helpColumn = 32

func flagHelpLines(f helpFlag) []string {
	left := "  " + dashName(f.name)
	if f.placeholder != "" {
		left += " " + f.placeholder
	}
	usage := f.usage
	if f.def != "" {
		usage += fmt.Sprintf(" (default %s)", f.def)
	}
	text := strings.Split(usage, "\n")
	var out []string
	if len(left) < helpColumn-1 {
		out = append(out, left+strings.Repeat(" ", helpColumn-len(left))+text[0])
	} else {
		out = append(out, left, strings.Repeat(" ", helpColumn)+text[0])
	}
	for _, t := range text[1:] {
		out = append(out, strings.Repeat(" ", helpColumn)+strings.TrimSpace(t))
	}
	return out
}

// examples are the Examples section of each command's help.
func examples(cmd string) []string {
	switch cmd {
	case "validate":
		return []string{
			"accessctl validate                       # access.yaml in this directory",
			"accessctl validate -f access/            # a directory of *.yaml files, merged",
			"accessctl validate -f access.yaml -i inventory.yaml --format json",
		}
	case "check":
		return []string{
			"accessctl check -f access.yaml",
			"accessctl check -f access/ --base git:origin/main --format sarif > accessctl.sarif",
			"accessctl check -f access.yaml --policy ./our-rules --format github",
		}
	case "plan":
		return []string{
			"accessctl plan -f access.yaml",
			"accessctl plan -f access.yaml --limit 'web-*' --out plan.json",
			"accessctl plan -f access.yaml --detailed-exitcode --format json > drift.json   # exit 2: drift",
			"accessctl plan -f access.yaml --format markdown > plan.md                       # a PR comment",
		}
	case "access":
		return []string{
			"accessctl access -f access.yaml                                   # a table per host",
			"accessctl access -f access/ --format csv --out review/access.csv  # commit it: access changes as diffs",
			"accessctl access -i inventory.yaml --usage --format json          # an unmanaged fleet, with last logins",
		}
	case "import":
		return []string{
			"accessctl import -i inventory.yaml --out access.yaml",
			"accessctl import -i inventory.yaml --limit 'web-*' > web.yaml",
			"accessctl plan -f access.yaml -i inventory.yaml                  # right after: no changes",
		}
	case "apply":
		return []string{
			"accessctl apply -f access.yaml                      # plan, show, ask, apply",
			"accessctl apply -f access.yaml --plan plan.json     # exactly the reviewed plan",
			"accessctl apply -f access.yaml --yes --parallel 64 --format json > apply.json",
			"accessctl apply -f access.yaml --yes --shard 2/4    # one of 4 CI runners",
		}
	case "report merge":
		return []string{
			"accessctl report merge plan-1.json plan-2.json plan-3.json > plan.json",
			"accessctl report merge --out apply.json apply-*.json",
		}
	case "snapshot":
		return []string{
			"accessctl snapshot -f access.yaml --host web-1 --out snapshot.json",
			"accessctl snapshot -f access.yaml --host web-1 --out snapshot.json --sign-key signing --max-age 24h",
		}
	case "authorized-keys":
		return []string{
			"accessctl authorized-keys --snapshot /etc/accessctl/snapshot.json alice",
			"accessctl authorized-keys --verify-key /etc/accessctl/snapshot.pub alice",
		}
	case "schema":
		return []string{
			"accessctl schema > manifest.schema.json",
			"accessctl schema | jq '.properties | keys'",
		}
	case "version":
		return []string{"accessctl version", "accessctl --version"}
	case "policy test":
		return []string{
			"accessctl policy test                  # the built-in policies",
			"accessctl policy test -v ./our-rules",
		}
	case "completion":
		return []string{
			"source <(accessctl completion bash)                        # in ~/.bashrc",
			"accessctl completion zsh > \"${fpath[1]}/_accessctl\"",
			"accessctl completion fish > ~/.config/fish/completions/accessctl.fish",
		}
	}
	return nil
}

// subcommands are the words a command takes before its flags ("policy test").
func subcommands(cmd string) []string {
	switch cmd {
	case "policy":
		return []string{"test"}
	case "report":
		return []string{"merge"}
	}
	return nil
}

// describeCommand returns the flag set of a command (its first subcommand's, for policy and
// report) without running it: parseFlags hands the set over instead of parsing.
func describeCommand(name string) *flag.FlagSet {
	cmd, ok := commands[name]
	if !ok {
		return nil
	}
	var got *flag.FlagSet
	d := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv: func(string) string { return "" }, describe: func(fs *flag.FlagSet) { got = fs }}
	cmd.run(d, subcommands(name))
	return got
}

// commandNames lists the commands, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fleetFormats are the --format values of plan (plan=true) and of apply.
func fleetFormats(plan bool) []string {
	if plan {
		return report.PlanFormats()
	}
	return []string{"text", "json"}
}

// checkFleetFormat reports whether format is one of plan's (plan=true) or apply's, printing the
// usage error when it is not.
func (c *cli) checkFleetFormat(format string, plan bool) bool {
	formats := fleetFormats(plan)
	if slices.Contains(formats, format) {
		return true
	}
	c.errorf("--format %q: want %s or %s", format, strings.Join(formats[:len(formats)-1], ", "), formats[len(formats)-1])
	return false
}
