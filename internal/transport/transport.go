// Package transport is how accessctl reaches a host: one small interface, with SSH and WinRM
// implementations beneath it. It knows nothing of manifests or plans.
package transport

import (
	"context"
	"io"
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
