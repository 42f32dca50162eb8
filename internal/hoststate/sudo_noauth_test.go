package hoststate

import "testing"

func TestParseSudoListNoAuthenticate(t *testing.T) {
	out := `Matching Defaults entries for carol on vm:
    env_reset, mail_badpass, use_pty, !authenticate

User carol may run the following commands on vm:
    (ALL : ALL) ALL
`
	if sl := ParseSudoList(out); sl.Level != "nopasswd" {
		t.Errorf("with !authenticate: level %q, want nopasswd", sl.Level)
	}
	undone := `Matching Defaults entries for carol on vm:
    env_reset, !authenticate, authenticate

User carol may run the following commands on vm:
    (ALL : ALL) ALL
`
	if sl := ParseSudoList(undone); sl.Level != "true" {
		t.Errorf("with !authenticate undone: level %q, want true", sl.Level)
	}
	tagged := `Matching Defaults entries for carol on vm:
    !authenticate

User carol may run the following commands on vm:
    (ALL : ALL) PASSWD: ALL
`
	if sl := ParseSudoList(tagged); sl.Level != "true" {
		t.Errorf("a PASSWD: rule under !authenticate: level %q, want true", sl.Level)
	}
}

// TestFactsNoAuthenticate: the read's facts name a global `Defaults !authenticate` and, per user
// asked about, a `Defaults:USER` or `Defaults:%GROUP` one (sudo -l -U shows neither for a user
// no rule names yet).
func TestFactsNoAuthenticate(t *testing.T) {
	e := newEffective()
	if _, err := parseFactsX(&e, []byte("sudonoauth /etc/sudoers:12\nsudonoauthuser carol /etc/sudoers.d/00-noauth:1\n")); err != nil {
		t.Fatal(err)
	}
	if e.SudoNoAuth != "/etc/sudoers:12" || e.SudoNoAuthUsers["carol"] != "/etc/sudoers.d/00-noauth:1" || len(e.SudoNoAuthUsers) != 1 {
		t.Errorf("parsed: %q %v", e.SudoNoAuth, e.SudoNoAuthUsers)
	}
}
