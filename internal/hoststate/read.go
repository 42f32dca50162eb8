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
		return nil, fmt.Errorf("read script exited with status %d: %s", code, firstLine(msg))
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if s == "" {
		return "no error output"
	}
	return s
}
