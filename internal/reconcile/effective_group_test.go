package reconcile

import "testing"

func TestMatchNamesGroup(t *testing.T) {
	for _, c := range []struct {
		match  string
		groups []string
		want   bool
	}{
		{"Match Group admins", []string{"admins"}, true},
		{"Match group ops,adm*", []string{"admins"}, true},
		{"Match User carol Group wheel", []string{"wheel"}, true},
		{"Match Group !admins,*", []string{"admins"}, true}, // conservative: the positive pattern
		{"Match Group !admins", []string{"admins"}, false},
		{"Match User admins", []string{"admins"}, false},
		{"Match Group admins", []string{"ops"}, false},
		{"Match Group", []string{"ops"}, false},
	} {
		if got := matchNamesGroup(c.match, c.groups); got != c.want {
			t.Errorf("matchNamesGroup(%q, %v) = %v, want %v", c.match, c.groups, got, c.want)
		}
	}
}

func TestAuthMethodsSatisfiable(t *testing.T) {
	off := map[string]string{"passwordauthentication": "no", "kbdinteractiveauthentication": "no", "pubkeyauthentication": "yes"}
	on := map[string]string{"passwordauthentication": "yes"}
	for _, c := range []struct {
		am   string
		want map[string]string
		ok   bool
	}{
		{"publickey,password", off, false},
		{"publickey,password publickey", off, true},
		{"publickey,keyboard-interactive:pam", off, false},
		{"publickey,password", on, true},
		{"publickey,password", nil, true}, // unmanaged: the connection's value (yes) counts
		{"gssapi-with-mic", off, true},    // unknown to accessctl: not judged
	} {
		if got := authMethodsSatisfiable(c.am, c.want, map[string]string{"passwordauthentication": "yes"}, nil); got != c.ok {
			t.Errorf("authMethodsSatisfiable(%q, %v) = %v, want %v", c.am, c.want, got, c.ok)
		}
	}
}

func TestDeniedEverywhere(t *testing.T) {
	for in, want := range map[string]string{
		"carol *@203.0.113.0/24": "carol",
		"bob@* alice":            "bob@* alice",
		"*@10.*":                 "",
	} {
		if got := deniedEverywhere(in); got != want {
			t.Errorf("deniedEverywhere(%q) = %q, want %q", in, got, want)
		}
	}
}
