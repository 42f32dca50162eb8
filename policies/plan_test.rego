package accessctl.rules.plan_test

import data.accessctl.rules.plan
import rego.v1

manifest := {"users": [{"name": "alice"}], "hosts": [{"name": "web-1"}, {"name": "web-2"}]}

live := {"hosts": [
	{"name": "web-2", "status": "ok", "login": "ecs-user", "users": [
		{"name": "alice", "uid": 2001, "human": true, "managed": true, "keys": []},
		{"name": "ecs-user", "uid": 1000, "human": true, "managed": false, "keys": []},
		{"name": "daemon", "uid": 2, "human": false, "managed": false, "keys": []},
		{"name": "olduser", "uid": 2002, "human": true, "managed": true, "keys": []},
	]},
	{"name": "web-9", "status": "ok", "users": [{"name": "eve", "human": true, "managed": false}]},
	{"name": "web-3", "status": "error", "users": []},
]}

test_unmanaged_user if {
	fs := plan.warn with input as {"manifest": manifest, "live": live}
	fs == {
		{
			"rule": "unmanaged-user",
			"msg": "user \"ecs-user\" on host \"web-2\" is a human account the manifest does not name and accessctl did not create",
			"path": "hosts[1]",
			"host": "web-2",
		},
		{
			"rule": "unmanaged-user",
			"msg": "user \"eve\" on host \"web-9\" is a human account the manifest does not name and accessctl did not create",
			"path": "hosts",
			"host": "web-9",
		},
	}
}

test_no_live_no_finding if {
	inp := {"manifest": manifest, "live": null, "plan": null}
	count(plan.warn) == 0 with input as inp
	count(plan.deny) == 0 with input as inp
}

guard(over) := object.union(
	{"login": "ecs-user", "loginUserRemoved": false, "loginKeysRemoved": false, "loginSudoRemoved": false, "pubkeyAuthDisabled": false},
	over,
)

test_lockout if {
	inp := {"manifest": manifest, "plan": {"hosts": [
		{"name": "web-1", "path": "hosts[0]", "changes": [], "guard": guard({})},
		{"name": "web-2", "path": "hosts[1]", "changes": [], "guard": guard({"loginKeysRemoved": true, "pubkeyAuthDisabled": true})},
	]}}
	fs := plan.deny with input as inp
	fs == {
		{
			"rule": "lockout",
			"msg": "plan for host \"web-2\" removes every key it logs in with from \"ecs-user\"'s authorized_keys; accessctl would have no way in",
			"path": "hosts[1]",
			"host": "web-2",
		},
		{
			"rule": "lockout",
			"msg": "plan for host \"web-2\" disables sshd pubkeyAuthentication, which it logs in with; accessctl would have no way in",
			"path": "hosts[1]",
			"host": "web-2",
		},
	}
}

test_lockout_user_and_sudo if {
	inp := {"plan": {"hosts": [{"name": "w", "path": "hosts[0]", "guard": guard({"loginUserRemoved": true, "loginSudoRemoved": true})}]}}
	fs := plan.deny with input as inp
	msgs := {f.msg | some f in fs}
	msgs == {
		"plan for host \"w\" removes its login user \"ecs-user\"; accessctl would have no way in",
		"plan for host \"w\" removes sudo from its login user \"ecs-user\"; accessctl would have no way in",
	}
}

test_no_lockout_when_guard_clear if {
	inp := {"plan": {"hosts": [{"name": "w", "path": "hosts[0]", "guard": guard({})}]}}
	count(plan.deny) == 0 with input as inp
}

test_lockout_without_path_or_login if {
	inp := {"manifest": manifest, "plan": {"hosts": [{"name": "web-2", "guard": {"pubkeyAuthDisabled": true}}]}}
	fs := plan.deny with input as inp
	fs == {{
		"rule": "lockout",
		"msg": "plan for host \"web-2\" disables sshd pubkeyAuthentication, which it logs in with; accessctl would have no way in",
		"path": "hosts[1]",
		"host": "web-2",
	}}
}

test_unmanaged_user_without_managed_flag if {
	inp := {"manifest": manifest, "live": {"hosts": [{"name": "web-1", "users": [{"name": "mallory", "human": true}]}]}}
	fs := plan.warn with input as inp
	{f.path | some f in fs} == {"hosts[0]"}
}
