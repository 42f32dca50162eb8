package transport_test

import (
	"os/exec"
	"testing"

	"github.com/accessctl/accessctl/internal/transport"
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
			out, err := exec.Command(sh, "-c", "printf %s "+transport.ShellQuote(s)).Output()
			if err != nil || string(out) != s {
				t.Errorf("%s: ShellQuote(%q) came back as %q (%v)", sh, s, out, err)
			}
		}
	}
}

// TestQuoteNUL: no shell word can hold a NUL (validation refuses them long before); the quoted
// word drops it rather than cut the command short.
func TestQuoteNUL(t *testing.T) {
	if got := transport.ShellQuote("a\x00b"); got != "'ab'" {
		t.Errorf("got %s", got)
	}
}

func TestPrivilegedCommand(t *testing.T) {
	if got := (transport.Privileged{Root: true}).Command("id -u"); got != "id -u" {
		t.Errorf("root: %q", got)
	}
	want := `sudo -n -- /bin/sh -c 'id -u; echo '\''x'\'''`
	if got := (transport.Privileged{}).Command("id -u; echo 'x'"); got != want {
		t.Errorf("sudo: %q", got)
	}
}
