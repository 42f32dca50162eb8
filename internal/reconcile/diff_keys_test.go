package reconcile

import (
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// A live key that differs from the manifest's only in its comment is a comment difference, not
// "other options" (issue 11).
func TestKeysChangeCommentOnly(t *testing.T) {
	const blob = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMBn1bVy3Ljs4jz3ktp0wyOINoBqsl2iDw2Eo1dmwyr"
	fp := hoststate.ParseAuthorizedKeysFingerprints(blob)[0]
	want := []desiredKey{{Keypair: "alice-laptop", Fingerprint: fp, Line: blob + " alice@laptop"}}
	cases := []struct {
		name, live, reason string
	}{
		{"comment", blob + " old@desk", `1 key differs only in the comment (alice-laptop comment "old@desk", want "alice@laptop")`},
		{"no comment", blob, `1 key differs only in the comment (alice-laptop comment "", want "alice@laptop")`},
		{"options", `from="10.0.0.0/8" ` + blob + " alice@laptop", "1 key has other options"},
		{"options and comment", `no-pty ` + blob + " x", "1 key has other options"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := hoststate.File{Kind: hoststate.KindFile, Content: ManagedHeader + "\n" + tc.live + "\n"}
			reason, action := keysChange("alice", want, f)
			if action != Update {
				t.Errorf("action = %q, want update", action)
			}
			if !strings.HasSuffix(reason, ": "+tc.reason) || strings.Contains(reason, "missing") {
				t.Errorf("reason = %q, want it to end in %q", reason, tc.reason)
			}
		})
	}
}
