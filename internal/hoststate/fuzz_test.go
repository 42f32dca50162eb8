package hoststate

import (
	"encoding/base64"
	"os"
	"testing"
)

// FuzzParseLinux: whatever a host (or something posing as one) prints, the parser returns a
// state or an error, never a panic.
func FuzzParseLinux(f *testing.F) {
	for _, name := range []string{"testdata/read_debian.out", "testdata/read_zoo.out"} {
		if good, err := os.ReadFile(name); err == nil {
			f.Add(good)
		}
	}
	f.Add([]byte("@@accessctl-read 1\n@@begin passwd -\ncm9vdDp4OjA6MDo6Lzov\n@@end\n@@done\n"))
	f.Add([]byte("@@accessctl-read 1\n@@begin shadow alice\nYWxpY2U6eDo6Ojo6Ojo=\n@@end\n@@done\n"))
	f.Add([]byte("@@accessctl-read 1\n@@begin state - kind=file\ne30=\n@@end\n@@begin pidfile /x kind=file\nMTIK\n@@end\n@@done\n"))
	f.Add([]byte("@@\n@@begin\n@@end\n"))
	f.Add([]byte("@@accessctl-read 1\n@@begin shadow -\nYWxpY2U6eDo6Ojo6Ojo6Cg==\n@@end\n@@begin keys alice kind=file ref=0\n@@end\n" +
		"@@begin keys bob kind=nohome\n@@end\n@@begin keyfiles - sep=0123456789abcdef n=1\n" +
		base64.StdEncoding.EncodeToString([]byte("ssh-ed25519 AAAA\nACCESSCTL_SEP=0123456789abcdef\x00")) + "\n@@end\n@@done\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLinux(b)
		if err == nil && l == nil {
			t.Fatal("nil state without error")
		}
		if err == nil {
			_ = l.SshdLayout(nil, nil)
			_ = l.IncludesDropInsFirst([]string{"passwordauthentication"})
			for _, f := range l.AuthorizedKeys {
				ParseAuthorizedKeys(f.Content)
			}
			for _, kfs := range l.Effective.KeyFiles {
				for _, f := range kfs {
					ParseAuthorizedKeys(f.Content)
				}
			}
		}
	})
}
