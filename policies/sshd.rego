# sshd: how a host group's sshd lets people in.
package accessctl.rules.sshd

import rego.v1

deny contains {
	"rule": "root-login",
	"msg": sprintf("host group %q sets permitRootLogin \"yes\"; use \"no\" or prohibit-password", [g.name]),
	"path": sprintf("hostGroups[%d].sshd.permitRootLogin", [i]),
} if {
	some i, g in input.manifest.hostGroups
	g.sshd.permitRootLogin == "yes"
}

# A group that leaves permitRootLogin unmanaged keeps whatever the image ships, which may be "yes".
warn contains {
	"rule": "root-login",
	"msg": sprintf("host group %q leaves permitRootLogin unmanaged; set it to \"no\" or prohibit-password", [g.name]),
	"path": sprintf("hostGroups[%d].sshd", [i]),
} if {
	some i, g in input.manifest.hostGroups
	not g.sshd.permitRootLogin
}

warn contains {
	"rule": "password-auth-enabled",
	"msg": sprintf("host group %q enables sshd passwordAuthentication; prefer key pairs", [g.name]),
	"path": sprintf("hostGroups[%d].sshd.passwordAuthentication", [i]),
} if {
	some i, g in input.manifest.hostGroups
	g.sshd.passwordAuthentication == true
}
