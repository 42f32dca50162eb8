package hoststate

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyLine is one key of an authorized_keys file.
type KeyLine struct {
	Line        string
	Type        string
	Fingerprint string // SHA256:...
	Options     []string
	Comment     string
}

// ParseAuthorizedKeys returns the keys of an authorized_keys file, in order, and the number of
// lines that are neither keys nor comments.
func ParseAuthorizedKeys(text string) (keys []KeyLine, invalid int) {
	for _, raw := range strings.Split(text, "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pk, comment, opts, _, err := ssh.ParseAuthorizedKey([]byte(l))
		if err != nil {
			invalid++
			continue
		}
		keys = append(keys, KeyLine{Line: l, Type: pk.Type(), Fingerprint: ssh.FingerprintSHA256(pk), Options: opts, Comment: comment})
	}
	return keys, invalid
}

// ParseAuthorizedKeysFingerprints returns the fingerprints of the keys of an authorized_keys file.
func ParseAuthorizedKeysFingerprints(text string) []string {
	keys, _ := ParseAuthorizedKeys(text)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Fingerprint)
	}
	return out
}
