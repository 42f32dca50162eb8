// Package ssh implements transport.Conn over SSH with golang.org/x/crypto/ssh.
//
// It is the transport stage for Linux hosts (and Windows hosts with OpenSSH): it knows how to
// reach one host — TCP, optional ProxyJump hops, host-key verification, public-key login — and how
// to run one command per session. It knows nothing of manifests, inventories or plans; the
// inventory package turns hosts and ~/.ssh/config into a Config.
//
// Invariants:
//   - A host key is verified against known_hosts before anything else is sent: an unknown, changed
//     or revoked key fails Dial with a *HostKeyError and no credentials or commands leave this
//     machine. Only Config.InsecureIgnoreHostKey (the CLI's --insecure-skip-host-key-check)
//     skips the check; StrictHostKeyChecking in ssh_config is never honoured.
//   - ConnectTimeout bounds every hop's TCP connect, SSH handshake and login, so a host that
//     accepts TCP but never answers (hung, paused) fails in bounded time; a cancelled ctx ends a
//     Run at once.
//   - Every Run opens its own session; concurrent Runs on one Conn are allowed.
//   - Privileged steps: a login that is not root runs them through `sudo -n` (never prompts);
//     see Privileged and PrivilegedShell. Arguments are quoted with Quote, never interpolated.
package ssh
