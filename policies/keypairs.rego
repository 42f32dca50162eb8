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

# Against --base: deleted in this change while a host of the base revision binds it to its
# cloud instance (hosts[].cloud).
deny contains {
	"rule": "bound-keypair-delete",
	"msg": sprintf("key pair %q is deleted while bound to instance %q of cloud registry %q in the base revision; unbind it first, delete it in a later change", [name, h.cloud.instance, h.cloud.registry]),
	"path": "keypairs",
} if {
	some kp in input.base.keypairs
	name := kp.name
	not name in current_keypairs
	some h in input.base.hosts
	h.cloud.keypair == name
}

# plan/apply: a key pair accessctl imported into a cloud registry is to be deleted (the
# manifest no longer lists that registry for it) while the registry still binds it to an
# instance. ECS would refuse the delete; KPS would not (the servers keep a key nobody tracks),
# so this rule is what protects KPS. It judges input.live before any registry call is made.
deny contains {
	"rule": "bound-keypair-delete",
	"msg": sprintf("key pair %q is deleted from cloud registry %q while the registry still binds it to %s; keep it listed, drop the hosts' cloud bindings, and apply first", [kp.name, c.name, concat(", ", sort(kp.instances))]),
	"path": object.get(c, "path", "clouds"),
} if {
	some c in input.live.clouds
	some kp in c.keypairs
	kp.importedByAccessctl == true
	count(kp.instances) > 0
	not listed_in_cloud(kp.name, c.name)
}

listed_in_cloud(name, cloud) if {
	some k in input.manifest.keypairs
	k.name == name
	cloud in object.get(k, "clouds", [])
}
