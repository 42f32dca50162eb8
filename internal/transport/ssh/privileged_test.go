package ssh_test

import (
	"os/exec"
	"testing"

	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// TestQuoteThroughShells feeds hostile words through the shells a login may have.
func TestQuoteThroughShells(t *testing.T) {
	hostile := []string{
		"", "'", "''", `"`, `\`, `\'`, "'\\''", "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "a b\tc\nd",
		"$IFS", "${x:-y}", "~", "*", "?", "[a]", "!", "!!", "#", "&&", "|", ";", "<>", "\x01\x7f", "é中",
		"-e", "--", "%s", "\r\n",
	}
	for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		for _, s := range hostile {
			out, err := exec.Command(sh, "-c", "printf %s "+sshtr.Quote(s)).Output()
			if err != nil || string(out) != s {
				t.Errorf("%s: Quote(%q) came back as %q (%v)", sh, s, out, err)
			}
		}
	}
}

func TestQuoteNULPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	sshtr.Quote("a\x00b")
}
