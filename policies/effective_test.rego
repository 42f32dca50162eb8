package accessctl.rules.effective_test

import data.accessctl.rules.effective
import rego.v1

plan := {"hosts": [
	{"name": "web-1", "path": "hosts[0]", "findings": [
		{"rule": "login-blocked", "user": "alice", "where": "/etc/ssh/sshd_config:127", "msg": "alice cannot log in: not listed in AllowUsers (/etc/ssh/sshd_config:127)"},
		{"rule": "foreign-access", "user": "carol", "where": "/home/carol/.ssh/authorized_keys2", "msg": "key SHA256:abc in /home/carol/.ssh/authorized_keys2 logs in as carol; the manifest does not grant it there (removed by apply)"},
	]},
	{"name": "web-2", "path": "hosts[1]", "findings": []},
	{"name": "web-3", "status": "error"},
]}

test_findings_become_warnings if {
	fs := effective.warn with input as {"manifest": {"hosts": []}, "plan": plan}
	fs == {
		{
			"rule": "login-blocked",
			"msg": "host \"web-1\": alice cannot log in: not listed in AllowUsers (/etc/ssh/sshd_config:127)",
			"path": "hosts[0]",
			"host": "web-1",
		},
		{
			"rule": "foreign-access",
			"msg": "host \"web-1\": key SHA256:abc in /home/carol/.ssh/authorized_keys2 logs in as carol; the manifest does not grant it there (removed by apply)",
			"path": "hosts[0]",
			"host": "web-1",
		},
	}
}

test_path_from_manifest_when_missing if {
	inp := {"manifest": {"hosts": [{"name": "a"}, {"name": "web-9"}]}, "plan": {"hosts": [{"name": "web-9", "findings": [{"rule": "login-blocked", "user": "u", "msg": "m"}]}]}}
	{f.path | some f in effective.warn with input as inp} == {"hosts[1]"}
}

test_nothing_without_plan if {
	count(effective.warn) == 0 with input as {"manifest": {}, "plan": null}
}
