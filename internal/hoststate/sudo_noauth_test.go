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
