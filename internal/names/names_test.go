package names

import (
	"regexp"
	"testing"
)

// TestMatchesPattern: the hand-written check and UserPattern agree (the loader compiles the
// pattern for its messages; the readers and the plug-in use the check).
func TestMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(UserPattern)
	for _, n := range []string{"", "a", "_", "-a", "a-", "1a", "a1", "Alice", "alice", "al ice", "a.b", "é",
		"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz0123456", "a\n", "root", "a$b"} {
		if User(n) != re.MatchString(n) {
			t.Errorf("%q: User %v, pattern %v", n, User(n), re.MatchString(n))
		}
		if WindowsUser(n) != (re.MatchString(n) && len(n) <= 20) {
			t.Errorf("%q: WindowsUser %v", n, WindowsUser(n))
		}
	}
}
