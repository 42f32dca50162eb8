package accessctl.rules.root_test

import data.accessctl.rules.root
import rego.v1

test_root_user_by_name if {
	fs := root.deny with input as {"manifest": {"users": [{"name": "alice"}, {"name": "root"}]}}
	fs == {{
		"rule": "root-user",
		"msg": "user \"root\" is root; manage the root account outside accessctl",
		"path": "users[1].name",
	}}
}

test_root_user_by_uid if {
	fs := root.deny with input as {"manifest": {"users": [{"name": "toor", "uid": 0}]}}
	count(fs) == 1
	some f in fs
	f.rule == "root-user"
	f.path == "users[0].uid"
	contains(f.msg, "toor")
}

test_root_user_not_for_ordinary_users if {
	fs := root.deny with input as {"manifest": {"users": [{"name": "alice", "uid": 2001}, {"name": "bob"}]}}
	count(fs) == 0
}

test_connect_as_root if {
	fs := root.warn with input as {"manifest": {"hosts": [{"name": "web-1", "user": "ecs-user"}, {"name": "db-1", "user": "root"}]}}
	fs == {{
		"rule": "connect-as-root",
		"msg": "host \"db-1\" is reached as root; prefer an admin user with sudo",
		"path": "hosts[1].user",
	}}
}

test_connect_as_admin_is_fine if {
	fs := root.warn with input as {"manifest": {"hosts": [{"name": "web-1", "user": "ecs-user"}, {"name": "web-2", "user": ""}]}}
	count(fs) == 0
}
