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

// ShellQuote quotes s for a POSIX shell: single quotes, with each ' written as '\”. It is the
// one quoting function for every value accessctl puts on a remote command line.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Privileged runs commands with root's rights on a Linux host: through `sudo -n` (never
// prompting) unless the login is root. It is the one place accessctl adds sudo.
type Privileged struct {
	Conn Conn
	Root bool
}

// Command is cmd as it is sent: prefixed with `sudo -n ` unless the login is root.
func (p Privileged) Command(cmd string) string {
	if p.Root {
		return cmd
	}
	return "sudo -n " + cmd
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
