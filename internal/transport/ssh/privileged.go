package ssh

import "strings"

// Quote returns s as one POSIX shell word: single-quoted, each ' written as '"'"'. Every byte
// but NUL stands for itself inside single quotes, so no expansion, globbing or word splitting
// reaches s. s must not contain NUL, which no shell word can hold; Quote panics if it does
// (validation rejects such values long before a command is built).
func Quote(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		panic("ssh.Quote: NUL byte in a shell word")
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// Privileged returns the command line that runs cmd as root for loginUser: cmd itself for root,
// else `sudo -n -- /bin/sh -c '<cmd>'`. -n makes sudo fail at once (exit 1, "a password is
// required") instead of waiting for a password no one will type. The login shell parses the
// line, so it must be a POSIX shell (sh, bash, dash, zsh), as on every host accessctl manages.
//
// The command travels as one argument, which Linux limits to 128 KiB; send longer scripts with
// PrivilegedShell and the script on stdin.
func Privileged(cmd, loginUser string) string {
	if loginUser == "root" {
		return cmd
	}
	return "sudo -n -- /bin/sh -c " + Quote(cmd)
}

// PrivilegedShell returns the command line of a root shell that reads its script from stdin:
// `/bin/sh -s` for root, else `sudo -n -- /bin/sh -s`. Use it for scripts of any size; the
// script must then not read stdin itself (its data goes in here-documents).
func PrivilegedShell(loginUser string) string {
	if loginUser == "root" {
		return "/bin/sh -s"
	}
	return "sudo -n -- /bin/sh -s"
}
