package main

import (
	"fmt"
	"io"
	"os"
	"sort"
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
	case "-h", "--help", "help":
		usage(c.stdout)
		return exitOK
	case "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		c.errorf("unknown command %q", name)
		c.hintf("run 'accessctl --help' for the list of commands")
		return exitUsage
	}
	return cmd.run(c, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "accessctl keeps who-can-log-in-where in git: a reviewed YAML manifest of users, key pairs,")
	fmt.Fprintln(w, "sudo rights and sshd settings, checked by OPA policies and applied over SSH or WinRM.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: accessctl <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'accessctl <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 invalid or denied, 2 changes pending (plan --detailed-exitcode),")
	fmt.Fprintln(w, "3 a host failed, 4 usage error.")
}

// multiFlag collects a repeatable string flag (-f a -f b).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
