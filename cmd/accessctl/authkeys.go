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
//
// The flags are declared here too, for help, completion and usage errors in the voice of the
// other commands; the arguments then go unchanged to the shared implementation.
func runAuthorizedKeys(c *cli, args []string) int {
	fs := c.newFlags("authorized-keys", "[--snapshot FILE] [--verify-key FILE] USER",
		"Prints USER's authorized_keys lines from a snapshot written by 'accessctl snapshot', for sshd's\n"+
			"AuthorizedKeysCommand (pass %u as USER). Prints nothing for a user that is absent, locked or not\n"+
			"desired on the host, nor a key past its binding's expiry. An unreadable, expired or (with\n"+
			"--verify-key) badly signed snapshot prints nothing and exits 1. Prefer the lean accessctl-keys\n"+
			"binary in sshd_config: same behaviour, faster start. See docs/pull-mode.md.")
	fs.String("snapshot", snapshot.DefaultPath, "snapshot `FILE` written by 'accessctl snapshot'")
	fs.String("verify-key", "", "ed25519 public key `FILE` (.pub) the snapshot must be signed with")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	return snapshot.AuthorizedKeys(args, c.stdout, c.stderr, time.Now())
}
