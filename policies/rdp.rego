# Remote Desktop: Windows Server without RDS licensing allows two concurrent sessions, so a group
# that grants RDP to more users than that promises access it cannot give.
package accessctl.rules.rdp

import rego.v1

max_rdp_users := object.get(input, ["settings", "maxRdpUsers"], 2)

windows_groups := {g | some h in input.manifest.hosts; h.os == "windows"; some g in h.groups}

users_by_name := {u.name: u | some u in input.manifest.users}

warn contains {
	"rule": "rdp-session-limit",
	"msg": sprintf("host group %q gives Remote Desktop to %d users (%s); Windows allows %d concurrent sessions without RDS", [g.name, count(rdp), concat(", ", sort(rdp)), max_rdp_users]),
	"path": sprintf("hostGroups[%d].users", [i]),
} if {
	some i, g in input.manifest.hostGroups
	g.name in windows_groups
	rdp := {n |
		some n in g.users
		u := users_by_name[n]
		u.rdp == true
		object.get(u, "state", "present") != "absent"
	}
	count(rdp) > max_rdp_users
}
