package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes, SPEC §3.
const (
	exitOK      = 0
	exitInvalid = 1 // manifest invalid or denied by policy; nothing contacted
	exitChanges = 2 // plan --detailed-exitcode: changes pending
	exitHost    = 3 // an operation failed on at least one host
	exitUsage   = 4 // unknown flag, missing file
)

// cli is what every command gets: the process's streams and environment, never globals.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// describe, when set, receives each command's flag set in place of parsing it (help.go:
	// shell completion is made from the flag sets).
	describe func(fs *flag.FlagSet)
	// isTerminal reports whether w is a terminal someone watches (progress); nil: term.IsTerminal.
	isTerminal func(w io.Writer) bool
	// progressLines are the progress lines being drawn (progress.go), innermost last.
	progressLines []*progressLine
}

func (c *cli) errorf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "accessctl: error: "+format+"\n", a...)
}

func (c *cli) hintf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "accessctl: hint: "+format+"\n", a...)
}

type command struct {
	summary string
	run     func(c *cli, args []string) int
}

// commands is filled by the init functions of the per-command files; it is written once at
// start-up and only read afterwards.
var commands = map[string]command{}

func register(name, summary string, run func(c *cli, args []string) int) {
	commands[name] = command{summary: summary, run: run}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "-help":
		usage(c.stdout)
		return exitOK
	case "help":
		return c.help(args[1:])
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		if strings.HasPrefix(name, "-") {
			c.errorf("unknown flag %s", name)
			c.hintf("flags come after the command; see 'accessctl --help'")
			return exitUsage
		}
		c.errorf("unknown command %q", name)
		if s := suggest(name, commandNames()); s != "" {
			c.hintf("did you mean 'accessctl %s'?", s)
		}
		c.hintf("see 'accessctl --help' for the list of commands")
		return exitUsage
	}
	return cmd.run(c, args[1:])
}

// help is `accessctl help [COMMAND [SUBCOMMAND]]`: the same text as --help.
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		usage(c.stdout)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		c.errorf("unknown command %q", args[0])
		c.hintf("see 'accessctl --help' for the list of commands")
		return exitUsage
	}
	sub := args[1:]
	if len(sub) == 0 {
		sub = subcommands(args[0])
	}
	return cmd.run(c, append(append([]string{}, sub...), "--help"))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "accessctl keeps who-can-log-in-where in git: a reviewed YAML manifest of users, key pairs,")
	fmt.Fprintln(w, "sudo rights and sshd settings, checked by OPA policies and applied over SSH or WinRM.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: accessctl <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-16s %s\n", "help", "show the help of a command: accessctl help COMMAND")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Examples:")
	fmt.Fprintln(w, "  accessctl check -f access.yaml            # in CI, on every pull request")
	fmt.Fprintln(w, "  accessctl plan -f access.yaml --out plan.json")
	fmt.Fprintln(w, "  accessctl apply -f access.yaml --plan plan.json")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'accessctl <command> --help' for a command's flags and examples. Reference: docs/reference.md.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 invalid or denied, 2 changes pending (plan --detailed-exitcode),")
	fmt.Fprintln(w, "3 a host failed, 4 usage error.")
}

// multiFlag collects a repeatable string flag (-f a -f b).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
