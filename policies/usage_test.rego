package accessctl.rules.usage_test

import data.accessctl.rules.usage
import rego.v1

manifest := {
	"keypairs": [
		{"name": "alice-laptop", "key": {"valid": true, "fingerprint": "SHA256:aaa"}},
		{"name": "alice-old", "key": {"valid": true, "fingerprint": "SHA256:old"}},
	],
	"users": [{"name": "alice", "state": "present", "keypairs": [{"keypair": "alice-laptop"}, {"keypair": "alice-old"}]}],
	"hostGroups": [{"name": "web", "users": ["alice"]}],
	"hosts": [{"name": "web-1", "groups": ["web"]}, {"name": "web-2", "groups": ["web"]}],
}

host(name, since, logins) := {"name": name, "status": "ok", "since": since, "logins": logins}

recent := {"user": "alice", "method": "publickey", "fingerprint": "SHA256:aaa", "time": "2026-11-20T10:00:00Z"}

old := {"user": "alice", "method": "publickey", "fingerprint": "SHA256:old", "time": "2026-01-02T10:00:00Z"}

test_stale_key_fires_when_every_host_reaches_back if {
	inp := {"manifest": manifest, "settings": {"staleKeyDays": 90}, "usage": {"now": "2026-11-29T00:00:00Z", "hosts": [
		host("web-1", "2025-12-01T00:00:00Z", [recent, old]),
		host("web-2", "2026-01-01T00:00:00Z", []),
	]}}
	fs := usage.warn with input as inp
	fs == {{
		"rule": "stale-key",
		"msg": "key pair \"alice-old\" of user \"alice\" has no accepted login in the last 90 days on web-1, web-2 (login records reach back that far on each)",
		"path": "users[0].keypairs[1]",
	}}
}

test_not_judged_where_records_are_short if {
	inp := {"manifest": manifest, "settings": {"staleKeyDays": 90}, "usage": {"now": "2026-11-29T00:00:00Z", "hosts": [
		host("web-1", "2025-12-01T00:00:00Z", [recent]),
		host("web-2", "2026-11-01T00:00:00Z", []),
	]}}
	count(usage.warn) == 0 with input as inp
}

test_used_on_one_host_is_not_stale if {
	inp := {"manifest": manifest, "settings": {"staleKeyDays": 30}, "usage": {"now": "2026-11-29T00:00:00Z", "hosts": [
		host("web-1", "2025-01-01T00:00:00Z", []),
		host("web-2", "2025-01-01T00:00:00Z", [recent]),
	]}}
	fs := usage.warn with input as inp
	{f.path | some f in fs} == {"users[0].keypairs[1]"}
}

test_unread_host_is_not_judged if {
	inp := {"manifest": manifest, "settings": {"staleKeyDays": 90}, "usage": {"now": "2026-11-29T00:00:00Z", "hosts": [
		host("web-1", "2025-12-01T00:00:00Z", []),
		{"name": "web-2", "status": "error", "since": null, "logins": []},
	]}}
	count(usage.warn) == 0 with input as inp
}

test_no_usage_no_finding if {
	count(usage.warn) == 0 with input as {"manifest": manifest, "usage": null}
}
