package accessctl.rules.sshd_test

import data.accessctl.rules.sshd
import rego.v1

groups := {"manifest": {"hostGroups": [
	{"name": "web", "users": [], "sshd": {"permitRootLogin": "no", "passwordAuthentication": false}},
	{"name": "legacy", "users": [], "sshd": {"permitRootLogin": "yes", "passwordAuthentication": true}},
	{"name": "bare", "users": []},
	{"name": "partial", "users": [], "sshd": {"pubkeyAuthentication": true}},
	{"name": "pp", "users": [], "sshd": {"permitRootLogin": "prohibit-password"}},
]}}

test_root_login_yes_denied if {
	fs := sshd.deny with input as groups
	fs == {{
		"rule": "root-login",
		"msg": "host group \"legacy\" sets permitRootLogin \"yes\"; use \"no\" or prohibit-password",
		"path": "hostGroups[1].sshd.permitRootLogin",
	}}
}

test_root_login_unmanaged_warned if {
	ws := sshd.warn with input as groups
	paths := {f.path | some f in ws; f.rule == "root-login"}
	paths == {"hostGroups[2].sshd", "hostGroups[3].sshd"}
}

test_password_auth_enabled if {
	ws := sshd.warn with input as groups
	fs := {f | some f in ws; f.rule == "password-auth-enabled"}
	fs == {{
		"rule": "password-auth-enabled",
		"msg": "host group \"legacy\" enables sshd passwordAuthentication; prefer key pairs",
		"path": "hostGroups[1].sshd.passwordAuthentication",
	}}
}

test_nothing_for_a_hardened_group if {
	inp := {"manifest": {"hostGroups": [{"name": "web", "sshd": {"permitRootLogin": "no", "passwordAuthentication": false}}]}}
	count(sshd.deny) == 0 with input as inp
	count(sshd.warn) == 0 with input as inp
}
