package main

import (
	"bytes"
	"strings"
)

// runCLI runs `accessctl args[0]` in-process, with fixed flags before args[1:] and the
// environment env (nil: empty); it returns the exit code, stdout and stderr.
func runCLI(env map[string]string, fixed []string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	full := append(append([]string{}, fixed...), args[1:]...)
	code := commands[args[0]].run(c, full)
	return code, stdout.String(), stderr.String()
}
