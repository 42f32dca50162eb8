package hoststate

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// FuzzParseAuthorizedKeys: whatever a host's authorized_keys holds (it is written by users and
// by other tools), the parser returns keys and a count of bad lines, never panics, and every key
// it returns is one whole line that parses again to the same key.
// Run longer: go test -run '^$' -fuzz '^FuzzParseAuthorizedKeys$' -fuzztime 5m ./internal/hoststate
func FuzzParseAuthorizedKeys(f *testing.F) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	f.Add("# managed by accessctl\n" + ed + " alice@laptop\n")
	f.Add(`from="10.0.0.0/8",expiry-time="20270131" ` + ed + " alice-ci\n")
	f.Add(`command="/bin/sh -c \"echo hi\"",no-pty ` + ed + " c\r\n\n#x\n")
	f.Add(ed + " a command=\"x\" " + ed + "\n")
	f.Add("ssh-rsa AAAA\nssh-dss \x00\n" + strings.Repeat("a", 9000) + "\n")
	f.Add(`restrict,cert-authority,principals="a,b" ` + ed)
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJ")
	f.Fuzz(func(t *testing.T, text string) {
		keys, invalid := ParseAuthorizedKeys(text)
		if invalid < 0 || len(keys)+invalid > strings.Count(text, "\n")+1 {
			t.Fatalf("%d keys and %d invalid lines from %d lines", len(keys), invalid, strings.Count(text, "\n")+1)
		}
		for _, k := range keys {
			if k.Line == "" || strings.Contains(k.Line, "\n") || !strings.HasPrefix(k.Fingerprint, "SHA256:") || k.Type == "" {
				t.Fatalf("bad key line %+v", k)
			}
			pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Line))
			if err != nil {
				t.Fatalf("returned line %q does not parse again: %v", k.Line, err)
			}
			if fp := ssh.FingerprintSHA256(pk); fp != k.Fingerprint {
				t.Fatalf("fingerprint %s, again %s", k.Fingerprint, fp)
			}
		}
		if fps := ParseAuthorizedKeysFingerprints(text); len(fps) != len(keys) {
			t.Fatalf("%d fingerprints for %d keys", len(fps), len(keys))
		}
	})
}
