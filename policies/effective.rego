# Effective-access rules (SPEC §1, §4): they judge what the plan read of sshd and sudo on each
# host (input.plan.hosts[].findings), so they say nothing during `check`.
package accessctl.rules.effective

import rego.v1

host_paths := {h.name: sprintf("hosts[%d]", [i]) | some i, h in input.manifest.hosts}

default host_path(_) := "hosts"

host_path(name) := host_paths[name]

# foreign-access: a login path the manifest does not grant to a user it manages (a key in any
# file sshd reads, a Match block granting password login, sudo from rules accessctl did not write;
# on Windows a shared administrators_authorized_keys, or Remote Desktop for a user without rdp).
warn contains {
	"rule": "foreign-access",
	"msg": sprintf("host %q: %s", [h.name, f.msg]),
	"path": object.get(h, "path", host_path(h.name)),
	"host": h.name,
} if {
	some h in input.plan.hosts
	some f in object.get(h, "findings", [])
	f.rule == "foreign-access"
}

# login-blocked: a user desired on a host that sshd (AllowUsers/DenyUsers/AllowGroups/
# DenyGroups), the shell or an expired account would refuse; the message names file:line. On
# Windows: a user with rdp that Remote Desktop would refuse (fDenyTSConnections, the logon rights).
warn contains {
	"rule": "login-blocked",
	"msg": sprintf("host %q: %s", [h.name, f.msg]),
	"path": object.get(h, "path", host_path(h.name)),
	"host": h.name,
} if {
	some h in input.plan.hosts
	some f in object.get(h, "findings", [])
	f.rule == "login-blocked"
}
