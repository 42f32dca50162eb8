// Package hoststate is the stage that reads what a host has now: accounts, groups, the shadow
// entries and authorized_keys of the users in question, accessctl's sudoers drop-in, the sshd
// configuration files and their effective values, and accessctl's own record on the host.
//
// Invariants:
//   - One read per host: a single remote script, run with privilege, that changes nothing.
//   - The script's output is framed (marker lines starting with "@@", bodies in base64), so no
//     file content can forge a section; the parser never panics on garbage and says what it lacks.
//   - Symlinks are reported, never followed.
//   - Only Linux is read here so far; the Windows reader will fill its own type behind the same
//     [State] seam.
package hoststate
