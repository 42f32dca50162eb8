// Package hoststate is the stage that reads what a host has now: accounts, groups, the shadow
// entries and authorized_keys of the users in question, accessctl's sudoers drop-in, the sshd
// configuration files and their effective values, and accessctl's own record on the host; and
// effective access (effective.go): what sshd and sudo decide for those users — accounts looked up
// by name through NSS, every AuthorizedKeysFile path expanded and read, sshd -T -C per user and
// Match Address/Host when Match blocks exist, sudo from plain sudoers rules or sudo -l -U, the
// homes, the account tools present, and whether the server is OpenSSH or dropbear.
//
// Invariants:
//   - One read per host: a single remote script, run with privilege, that changes nothing.
//   - The script's output is framed (marker lines starting with "@@", bodies in base64), so no
//     file content can forge a section; the parser never panics on garbage and says what it lacks.
//     One section (facts_x) is sent raw: the script writes every line of it itself, each
//     starting with a keyword, never "@@".
//   - Symlinks are reported, never followed.
//   - Only Linux is read here so far; the Windows reader will fill its own type behind the same
//     [State] seam.
package hoststate
