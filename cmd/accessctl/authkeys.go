package main

import (
	"time"

	"github.com/accessctl/accessctl/internal/snapshot"
)

func init() {
	register("authorized-keys", "print a user's keys from a snapshot (sshd AuthorizedKeysCommand)", runAuthorizedKeys)
}

// runAuthorizedKeys is the same code as the lean accessctl-keys binary; prefer that one in
// sshd_config, since this binary links the OPA engine and starts several times slower.
func runAuthorizedKeys(c *cli, args []string) int {
	return snapshot.AuthorizedKeys(args, c.stdout, c.stderr, time.Now())
}
