# Usage rules: they judge input.usage, the accepted-login records that `plan --usage` and
# `access --usage` read from each host (docs/policy-input.md). Without --usage it is null and
# these rules say nothing.
package accessctl.rules.usage

import rego.v1

stale_days := object.get(input, ["settings", "staleKeyDays"], 90)

now_ns := time.parse_rfc3339_ns(input.usage.now)

cutoff_ns := now_ns - (((stale_days * 24) * 3600) * 1000000000)

fingerprints := {kp.name: kp.key.fingerprint |
	some kp in input.manifest.keypairs
	kp.key.valid == true
}

usage_hosts := {h.name: h | some h in input.usage.hosts}

# The hosts a user is desired on, by the manifest's host groups.
user_hosts(user) := {h.name |
	some h in input.manifest.hosts
	some g in input.manifest.hostGroups
	g.name in h.groups
	user in g.users
}

# A host is judged when it was read and its records reach back past the cutoff.
judged(name) if {
	h := usage_hosts[name]
	h.status == "ok"
	h.since != null
	time.parse_rfc3339_ns(h.since) <= cutoff_ns
}

used_since(name, user, fp) if {
	some l in usage_hosts[name].logins
	l.user == user
	l.fingerprint == fp
	time.parse_rfc3339_ns(l.time) > cutoff_ns
}

warn contains {
	"rule": "stale-key",
	"msg": sprintf("key pair %q of user %q has no accepted login in the last %d days on %s (login records reach back that far on each)", [b.keypair, u.name, stale_days, concat(", ", sort(hosts))]),
	"path": sprintf("users[%d].keypairs[%d]", [ui, bi]),
} if {
	input.usage != null
	some ui, u in input.manifest.users
	object.get(u, "state", "present") == "present"
	some bi, b in u.keypairs
	fp := fingerprints[b.keypair]
	hosts := [n | some n in user_hosts(u.name); usage_hosts[n]]
	count(hosts) > 0
	every n in hosts {
		judged(n)
		not used_since(n, u.name, fp)
	}
}
