// Command accessctl-keys is accessctl's sshd plug-in on its own: the same behaviour as
// `accessctl authorized-keys`, in a binary that links neither the OPA engine nor YAML, so it
// starts in a few milliseconds and runs little code as AuthorizedKeysCommandUser.
//
//	AuthorizedKeysCommand /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub %u
//	AuthorizedKeysCommandUser nobody
//
// See docs/pull-mode.md.
package main

import (
	"os"
	"time"

	"github.com/accessctl/accessctl/internal/snapshot"
)

func main() {
	os.Exit(snapshot.AuthorizedKeys(os.Args[1:], os.Stdout, os.Stderr, time.Now()))
}
