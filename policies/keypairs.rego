# Key pair deletion: a key pair may go only once nothing uses it any more, so a deletion never
# silently revokes access that a reviewer did not see being revoked.
package accessctl.rules.keypairs

import rego.v1

current_keypairs := {kp.name | some kp in input.manifest.keypairs}

# Against --base: deleted in this change while a user of the base revision binds it.
deny contains {
	"rule": "bound-keypair-delete",
	"msg": sprintf("key pair %q is deleted while bound to %s in the base revision; unbind it first, delete it in a later change", [name, concat(", ", sort(users))]),
	"path": "keypairs",
} if {
	some kp in input.base.keypairs
	name := kp.name
	not name in current_keypairs
	users := {u.name | some u in input.base.users; some b in u.keypairs; b.keypair == name}
	count(users) > 0
}

# plan/apply: deleted while accessctl's installation of it is still on a live host.
deny contains {
	"rule": "bound-keypair-delete",
	"msg": sprintf("key pair %q is deleted but still installed for user %q on host %q; unbind it and apply first", [k.keypair, u.name, h.name]),
	"path": "keypairs",
	"host": h.name,
} if {
	some h in input.live.hosts
	some u in h.users
	some k in u.keys
	k.keypair != ""
	not k.keypair in current_keypairs
}
