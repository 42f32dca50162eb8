# Plan-time rules: they judge input.live and input.plan, so they say nothing during `check`.
package accessctl.rules.plan

import rego.v1

manifest_users := {lower(u.name) | some u in input.manifest.users}

host_paths := {h.name: sprintf("hosts[%d]", [i]) | some i, h in input.manifest.hosts}

default host_path(_) := "hosts"

host_path(name) := host_paths[name]

warn contains {
	"rule": "unmanaged-user",
	"msg": sprintf("user %q on host %q is a human account the manifest does not name and accessctl did not create", [u.name, h.name]),
	"path": host_path(h.name),
	"host": h.name,
} if {
	some h in input.live.hosts
	some u in h.users
	u.human == true
	not u.managed
	not u.login
	not lower(u.name) in manifest_users
}

# Lockout must never be missed for want of a field: path and login have fallbacks.
deny contains {
	"rule": "lockout",
	"msg": sprintf("plan for host %q %s; accessctl would have no way in", [h.name, lost(key, object.get(h.guard, "login", ""))]),
	"path": object.get(h, "path", host_path(h.name)),
	"host": h.name,
} if {
	some h in input.plan.hosts
	some key, v in h.guard
	v == true
}

default lost(_, _) := "takes away accessctl's way in"

lost("loginUserRemoved", login) := sprintf("removes its login user %q", [login])

lost("loginKeysRemoved", login) := sprintf("removes every key it logs in with from %q's authorized_keys", [login])

lost("loginSudoRemoved", login) := sprintf("removes sudo from its login user %q", [login])

lost("pubkeyAuthDisabled", _) := "disables sshd pubkeyAuthentication, which it logs in with"
