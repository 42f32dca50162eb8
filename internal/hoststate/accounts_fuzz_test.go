package hoststate

import (
	"strings"
	"testing"
)

// FuzzAccounts: whatever `getent passwd`, `getent group` and `getent shadow` print (NSS modules,
// LDAP, a hostile host), the parsers return entries or an error, never panic, and no field of an
// entry holds a separator.
// Run longer: go test -run '^$' -fuzz '^FuzzAccounts$' -fuzztime 5m ./internal/hoststate
func FuzzAccounts(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nlabadmin:x:1000:1000:lab admin:/home/labadmin:/bin/bash\n"),
		[]byte("sudo:x:27:labadmin,alice\ndevelopers:x:1001:\n"),
		"alice", []byte("alice:$y$j9T$abc$def:19000:0:99999:7:::\n"))
	f.Add([]byte("a:x:-1:99999999999999999999:::\n"), []byte("g:x:1:,,\r\n"), "bob", []byte("bob:!:1:2:3:4:5:1:\n"))
	f.Add([]byte("\n\n:::::: \n"), []byte(":::\n"), "", []byte("::::::::\n::::::::\n"))
	f.Add([]byte("x:x:1:1:g:/h:/s:extra\n"), []byte("g:x:z:\n"), "x", []byte("x:x:1:1:1:1:1:abc:\n"))
	f.Fuzz(func(t *testing.T, passwd, group []byte, user string, shadow []byte) {
		if as, err := parsePasswd(passwd); err == nil {
			for _, a := range as {
				for _, s := range []string{a.Name, a.GECOS, a.Home, a.Shell} {
					if strings.ContainsAny(s, ":\n") {
						t.Fatalf("passwd field %q holds a separator", s)
					}
				}
				_ = a.Human()
			}
		}
		if gs, err := parseGroup(group); err == nil {
			for _, g := range gs {
				if strings.ContainsAny(g.Name, ":\n") {
					t.Fatalf("group name %q holds a separator", g.Name)
				}
				for _, m := range g.Members {
					if strings.ContainsAny(m, ":,\n") {
						t.Fatalf("group member %q holds a separator", m)
					}
				}
			}
			l := &Linux{Groups: gs}
			_ = l.SupplementaryGroups(user)
		}
		if s, err := parseShadow(user, shadow); err == nil {
			if strings.ContainsAny(s.Hash, ":\n") {
				t.Fatalf("hash %q holds a separator", s.Hash)
			}
			_ = s.Locked()
		}
	})
}
