package hoststate

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/accessctl/accessctl/internal/transport"
)

// State is what one host has now. Exactly one OS-specific field is set; the Windows reader will
// add its own beside Linux.
type State struct {
	OS      string   `json:"os"`
	Linux   *Linux   `json:"linux,omitempty"`
	Windows *Windows `json:"windows,omitempty"`
}

// Fingerprint is the digest of the live state the plan was made from.
func (s *State) Fingerprint() string {
	switch {
	case s == nil:
		return ""
	case s.Windows != nil:
		return s.Windows.Fingerprint
	case s.Linux != nil:
		return s.Linux.Fingerprint
	}
	return ""
}

// ReadLinux reads a Linux host in one round trip. root says whether the login is root (else
// the script runs through `sudo -n`); users are the accounts whose shadow entry and
// authorized_keys are wanted.
func ReadLinux(ctx context.Context, c transport.Conn, root bool, users []string) (*Linux, error) {
	cmd, err := ReadLinuxCommand(root, users)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, cmd, strings.NewReader(readLinuxScript), &stdout, &stderr)
	if err != nil {
		return nil, fmt.Errorf("run read script: %w", err)
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "sudo") && strings.Contains(msg, "password") {
			msg += " (the login needs passwordless sudo)"
		}
		return nil, fmt.Errorf("read script exited with status %d: %s", code, Bounded(msg))
	}
	l, err := ParseLinux(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parse read output: %w", err)
	}
	if !l.Root {
		return nil, fmt.Errorf("read script did not run as root")
	}
	return l, nil
}

// maxStderr bounds the error output of a remote step kept in a message.
const maxStderr = 2048

// Bounded is a remote step's whole error output for a message: every line (sudo warns "unable
// to resolve host" before it says what failed), joined with "; ", cut to a bound from the end
// so the last lines, which usually hold the cause, are kept.
func Bounded(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	out := strings.Join(parts, "; ")
	if out == "" {
		return "no error output"
	}
	if len(out) > maxStderr {
		out = "..." + out[len(out)-maxStderr:]
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if s == "" {
		return "no error output"
	}
	return s
}
