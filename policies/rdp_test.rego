package accessctl.rules.rdp_test

import data.accessctl.rules.rdp
import rego.v1

users := [
	{"name": "alice", "rdp": true, "state": "present"},
	{"name": "bob", "rdp": true, "state": "locked"},
	{"name": "carol", "rdp": true, "state": "present"},
	{"name": "dave", "rdp": true, "state": "absent"},
	{"name": "erin", "rdp": false, "state": "present"},
]

test_too_many_rdp_users_on_windows if {
	inp := {"manifest": {
		"users": users,
		"hostGroups": [{"name": "win", "users": ["alice", "bob", "carol", "dave", "erin"]}],
		"hosts": [{"name": "w1", "os": "windows", "groups": ["win"]}],
	}}
	fs := rdp.warn with input as inp
	fs == {{
		"rule": "rdp-session-limit",
		"msg": "host group \"win\" gives Remote Desktop to 3 users (alice, bob, carol); Windows allows 2 concurrent sessions without RDS",
		"path": "hostGroups[0].users",
	}}
}

test_linux_group_not_limited if {
	inp := {"manifest": {
		"users": users,
		"hostGroups": [{"name": "lin", "users": ["alice", "bob", "carol"]}],
		"hosts": [{"name": "l1", "os": "linux", "groups": ["lin"]}],
	}}
	count(rdp.warn) == 0 with input as inp
}

test_within_limit if {
	inp := {"manifest": {
		"users": users,
		"hostGroups": [{"name": "win", "users": ["alice", "dave", "erin"]}],
		"hosts": [{"name": "w1", "os": "windows", "groups": ["win"]}],
	}}
	count(rdp.warn) == 0 with input as inp
}

test_setting_raises_limit if {
	inp := {"settings": {"maxRdpUsers": 5}, "manifest": {
		"users": users,
		"hostGroups": [{"name": "win", "users": ["alice", "bob", "carol"]}],
		"hosts": [{"name": "w1", "os": "windows", "groups": ["win"]}],
	}}
	count(rdp.warn) == 0 with input as inp
}
