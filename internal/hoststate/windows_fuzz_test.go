package hoststate

import (
	"os"
	"testing"
)

// FuzzParseWindows: whatever a Windows host (or something posing as one) prints, the parsers
// return a state or an error, never a panic.
func FuzzParseWindows(f *testing.F) {
	if good, err := os.ReadFile("testdata/windows_read.out"); err == nil {
		f.Add(good)
	}
	f.Add(Frame(WinReadMarker, []byte(`{"formatVersion":"1","login":{"sid":"S-1-5-21-1-1001"},"groups":[{"sid":"S-1-5-32-544"},{"sid":"S-1-5-32-555"}],"state":{"kind":"file","content":"{\"formatVersion\":\"1\",\"keys\":null}"}}`)))
	f.Add([]byte(WinReadMarker + "\n\n@@end\n"))
	f.Add([]byte("\r\n" + WinReadMarker + "\r\nbnVsbA==\r\n@@end\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWindows(b)
		if err == nil {
			if w == nil {
				t.Fatal("nil state without error")
			}
			for _, u := range w.Users {
				_ = u.Human()
			}
			for _, k := range w.UserKeys {
				ParseAuthorizedKeys(k.Content)
			}
			_ = w.Group(SIDAdministrators).HasMember("S-1-5-18")
		}
	})
}
