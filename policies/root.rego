# Root: accessctl does not manage the root account, and should not log in as root itself.
package accessctl.rules.root

import rego.v1

deny contains {
	"rule": "root-user",
	"msg": sprintf("user %q is root; manage the root account outside accessctl", [u.name]),
	"path": sprintf("users[%d].name", [i]),
} if {
	some i, u in input.manifest.users
	u.name == "root"
}

deny contains {
	"rule": "root-user",
	"msg": sprintf("user %q has uid 0, which makes it root; give it its own uid", [u.name]),
	"path": sprintf("users[%d].uid", [i]),
} if {
	some i, u in input.manifest.users
	u.name != "root"
	u.uid == 0
}

warn contains {
	"rule": "connect-as-root",
	"msg": sprintf("host %q is reached as root; prefer an admin user with sudo", [h.name]),
	"path": sprintf("hosts[%d].user", [i]),
} if {
	some i, h in input.manifest.hosts
	h.user == "root"
}
