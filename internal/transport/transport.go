// Package transport is how accessctl reaches a host: one small interface, with SSH and WinRM
// implementations beneath it. It knows nothing of manifests or plans.
package transport

import (
	"bytes"
	"context"
	"io"
	"strings"
)

// Conn is an open session to one host.
type Conn interface {
	// Run runs cmd on the host as the login user (Linux: through the login shell with `sh -c`
	// semantics; Windows: a PowerShell script). stdin may be nil. It returns the remote exit code;
	// err is non-nil only when the command could not be run or its result not read.
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
	// Close ends the session.
	Close() error
}

// ShellQuote returns s as one POSIX shell word: single quotes, with each ' written as '\”.
// Every byte but NUL stands for itself inside single quotes, so no expansion, globbing or word
// splitting reaches s. It is the one quoting function for every value accessctl puts on a
// remote command line. No shell word can hold a NUL (validation refuses them long before): it
// is dropped.
func ShellQuote(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Privileged runs commands with root's rights on a Linux host: through `sudo -n` (never
// prompting) unless the login is root. It is the one place accessctl adds sudo.
type Privileged struct {
	Conn Conn
	Root bool
}

// Command is cmd as it is sent: itself for root, else `sudo -n -- /bin/sh -c '<cmd>'`. -n makes
// sudo fail at once (exit 1, "a password is required") instead of waiting for a password no one
// will type. The login shell parses the line, so it must be a POSIX shell. The command travels
// as one argument (Linux limits it to 128 KiB): send scripts on stdin (`sh -s`).
func (p Privileged) Command(cmd string) string {
	if p.Root {
		return cmd
	}
	return "sudo -n -- /bin/sh -c " + ShellQuote(cmd)
}

// Run runs cmd with privilege, stdin from the string (none when ""), and returns stdout
// followed by all of stderr (sudo prints warnings before its real cause, so nothing is
// dropped), the exit code, and an error when the command could not be run or read.
func (p Privileged) Run(ctx context.Context, cmd, stdin string) (string, int, error) {
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	code, err := p.Conn.Run(ctx, p.Command(cmd), in, &stdout, &stderr)
	out := stdout.String()
	if e := strings.TrimSpace(stderr.String()); e != "" {
		out += "\n" + e
	}
	return out, code, err
}

// Stream runs cmd with privilege like Run, but writes its stdout and stderr to out as they
// arrive (a caller watching for a line while the command goes on).
func (p Privileged) Stream(ctx context.Context, cmd, stdin string, out io.Writer) (int, error) {
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	return p.Conn.Run(ctx, p.Command(cmd), in, out, out)
}
