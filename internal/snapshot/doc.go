// Package snapshot is accessctl's pull-mode file: what one host may let in, compiled from the
// manifest by `accessctl snapshot` and read by `accessctl authorized-keys` and the lean
// `accessctl-keys` binary, which sshd runs as its AuthorizedKeysCommand at every login.
//
// Stage: this is the last link of the chain and runs on the host, not on the runner. It knows
// nothing of YAML, policies or the manifest model (internal/snapshot/compile builds a Snapshot
// from a manifest); keeping it that small keeps the plug-in's start-up in milliseconds and the
// code that runs as AuthorizedKeysCommandUser short.
//
// Invariants:
//   - A snapshot never holds a password or a password hash; only user names, states and public
//     key lines.
//   - The reader fails closed: a missing, unreadable, oversized, malformed, truncated or (with a
//     verify key) unsigned or badly signed snapshot yields no key at all and a non-zero exit.
//   - A lookup reads the header and one bucket of users, never the whole file, so the cost does
//     not grow with the number of users (docs/pull-mode.md has the layout and the figures).
//   - The reader never writes and never opens a network connection.
package snapshot
