package accessctl.rules.passwords_test

import data.accessctl.rules.passwords
import rego.v1

strong := {"length": 16, "lower": true, "upper": true, "digit": true, "special": true, "containsName": false, "score": 4}

user(name, pw) := {"name": name, "state": "present", "password": pw}

test_strong_password_passes if {
	inp := {"manifest": {"users": [user("alice", {"source": "env", "strength": strong})]}}
	count(passwords.deny) == 0 with input as inp
	count(passwords.warn) == 0 with input as inp
}

test_weak_password_lists_every_reason if {
	weak := {"length": 5, "lower": true, "upper": false, "digit": false, "special": false, "containsName": true, "score": 0}
	inp := {"manifest": {"users": [user("alice", {"source": "env", "strength": strong}), user("bob", {"source": "file", "strength": weak})]}}
	fs := passwords.deny with input as inp
	fs == {{
		"rule": "weak-password",
		"msg": "password of user \"bob\" is weak: too short (5 < 12), lacks upper case, lacks a digit, lacks a special character, contains the user name, easy to guess (score 0 < 3)",
		"path": "users[1].password",
	}}
}

test_weak_password_one_reason if {
	s := object.union(strong, {"score": 2})
	fs := passwords.deny with input as {"manifest": {"users": [user("alice", {"source": "env", "strength": s})]}}
	[f] := [f | some f in fs]
	f.msg == "password of user \"alice\" is weak: easy to guess (score 2 < 3)"
}

test_settings_override_defaults if {
	s := object.union(strong, {"length": 14})
	inp := {"settings": {"minPasswordLength": 20, "minPasswordScore": 3}, "manifest": {"users": [user("alice", {"source": "env", "strength": s})]}}
	fs := passwords.deny with input as inp
	[f] := [f | some f in fs]
	contains(f.msg, "too short (14 < 20)")
}

test_absent_user_not_judged if {
	weak := object.union(strong, {"length": 3})
	u := object.union(user("alice", {"source": "env", "strength": weak}), {"state": "absent"})
	count(passwords.deny) == 0 with input as {"manifest": {"users": [u]}}
}

test_hash_is_unverifiable if {
	fs := passwords.warn with input as {"manifest": {"users": [user("alice", {"source": "hash"})]}}
	fs == {{
		"rule": "password-unverifiable",
		"msg": "password of user \"alice\" is given only as a hash; its strength cannot be checked",
		"path": "users[0].password",
	}}
	count(passwords.deny) == 0 with input as {"manifest": {"users": [user("alice", {"source": "hash"})]}}
}

test_unreadable_is_unverifiable if {
	pw := {"source": "env", "unreadable": "environment variable ALICE_PASSWORD is not set"}
	fs := passwords.warn with input as {"manifest": {"users": [user("alice", pw)]}}
	fs == {{
		"rule": "password-unverifiable",
		"msg": "password of user \"alice\" cannot be checked: environment variable ALICE_PASSWORD is not set",
		"path": "users[0].password",
	}}
}

test_no_password_no_finding if {
	inp := {"manifest": {"users": [{"name": "alice", "state": "present"}]}}
	count(passwords.deny) == 0 with input as inp
	count(passwords.warn) == 0 with input as inp
}
