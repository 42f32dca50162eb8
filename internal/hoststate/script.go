package hoststate

import (
	_ "embed"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"github.com/accessctl/accessctl/internal/transport"
	"strings"
)

//go:embed read_linux.sh
var readLinuxScript string

// ReadLinuxScript is the remote POSIX sh script that reads a Linux host. It is sent on the
// standard input of the command returned by [ReadLinuxCommand].
func ReadLinuxScript() string { return readLinuxScript }

// ReadLinuxCommand is the command line that runs the read script (on stdin) with privilege
// (transport.Privileged). users are the accounts whose shadow entry and authorized_keys are
// read; each must be a valid user name and is shell-quoted all the same.
func ReadLinuxCommand(root bool, users []string) (string, error) {
	var b strings.Builder
	b.WriteString("sh -s --")
	for _, u := range users {
		if !ValidUserName(u) {
			return "", fmt.Errorf("invalid user name %q", u)
		}
		b.WriteString(" ")
		b.WriteString(ShellQuote(u))
	}
	return transport.Privileged{Root: root}.Command(b.String()), nil
}

// ShellQuote is transport.ShellQuote (kept for the callers in this package).
func ShellQuote(s string) string { return transport.ShellQuote(s) }

// ValidUserName reports whether name is a user name the read script accepts.
func ValidUserName(name string) bool { return names.User(name) }
