package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// --help prints the usage once, on stdout, exit 0; an unknown flag is a usage error (exit 4)
// with a hint, in the --name spelling.
func TestAuthorizedKeysHelpAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := AuthorizedKeys([]string{"--help"}, &out, &errOut, time.Now()); code != ExitOK {
		t.Errorf("--help: exit %d", code)
	}
	if strings.Count(out.String(), "Usage: accessctl-keys") != 1 || errOut.Len() != 0 {
		t.Errorf("--help: stdout %q stderr %q", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := AuthorizedKeys([]string{"--bogus", "alice"}, &out, &errOut, time.Now()); code != ExitUsageErr {
		t.Errorf("--bogus: exit %d", code)
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "accessctl-keys: error: unknown flag --bogus") ||
		!strings.Contains(errOut.String(), "hint: see 'accessctl-keys --help'") {
		t.Errorf("--bogus: stdout %q stderr %q", out.String(), errOut.String())
	}
}
