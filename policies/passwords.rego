# Passwords: judged by the strength facts accessctl computes; the plaintext never reaches a policy.
package accessctl.rules.passwords

import rego.v1

min_length := object.get(input, ["settings", "minPasswordLength"], 12)

min_score := object.get(input, ["settings", "minPasswordScore"], 3)

# Users being removed get no password, so theirs is not judged.
live_user(u) if object.get(u, "state", "present") != "absent"

deny contains {
	"rule": "weak-password",
	"msg": sprintf("password of user %q is weak: %s", [u.name, concat(", ", reasons)]),
	"path": sprintf("users[%d].password", [i]),
} if {
	some i, u in input.manifest.users
	s := u.password.strength
	live_user(u)
	reasons := weaknesses(s)
	count(reasons) > 0
}

# weaknesses lists every reason a password is weak, in a fixed order, so one finding says it all.
weaknesses(s) := [c.msg |
	some c in [
		{"weak": s.length < min_length, "msg": sprintf("too short (%d < %d)", [s.length, min_length])},
		{"weak": s.upper == false, "msg": "lacks upper case"},
		{"weak": s.lower == false, "msg": "lacks lower case"},
		{"weak": s.digit == false, "msg": "lacks a digit"},
		{"weak": s.special == false, "msg": "lacks a special character"},
		{"weak": s.containsName == true, "msg": "contains the user name"},
		{"weak": s.score < min_score, "msg": sprintf("easy to guess (score %d < %d)", [s.score, min_score])},
	]
	c.weak
]

warn contains {
	"rule": "password-unverifiable",
	"msg": sprintf("password of user %q is given only as a hash; its strength cannot be checked", [u.name]),
	"path": sprintf("users[%d].password", [i]),
} if {
	some i, u in input.manifest.users
	u.password.source == "hash"
	live_user(u)
}

warn contains {
	"rule": "password-unverifiable",
	"msg": sprintf("password of user %q cannot be checked: %s", [u.name, u.password.unreadable]),
	"path": sprintf("users[%d].password", [i]),
} if {
	some i, u in input.manifest.users
	is_string(u.password.unreadable)
	live_user(u)
}
