package accessctl.rules.keypairs_test

import data.accessctl.rules.keypairs
import rego.v1

base := {
	"keypairs": [{"name": "alice-laptop"}, {"name": "old-ci"}, {"name": "unused"}],
	"users": [
		{"name": "alice", "keypairs": [{"keypair": "alice-laptop"}]},
		{"name": "bob", "keypairs": [{"keypair": "old-ci"}]},
		{"name": "carol", "keypairs": [{"keypair": "old-ci"}]},
	],
}

test_delete_bound_in_base if {
	inp := {"base": base, "manifest": {"keypairs": [{"name": "alice-laptop"}], "users": []}}
	fs := keypairs.deny with input as inp
	fs == {{
		"rule": "bound-keypair-delete",
		"msg": "key pair \"old-ci\" is deleted while bound to bob, carol in the base revision; unbind it first, delete it in a later change",
		"path": "keypairs",
	}}
}

test_delete_unbound_is_fine if {
	inp := {"base": base, "manifest": {"keypairs": [{"name": "alice-laptop"}, {"name": "old-ci"}], "users": []}}
	count(keypairs.deny) == 0 with input as inp
}

test_no_base_no_finding if {
	count(keypairs.deny) == 0 with input as {"base": null, "manifest": {"keypairs": []}}
}

live := {"hosts": [{"name": "web-1", "status": "ok", "users": [{
	"name": "alice",
	"keys": [
		{"fingerprint": "SHA256:a", "keypair": "alice-laptop"},
		{"fingerprint": "SHA256:b", "keypair": "alice-old"},
		{"fingerprint": "SHA256:c", "keypair": ""},
	],
}]}]}

test_delete_installed_on_live_host if {
	inp := {"manifest": {"keypairs": [{"name": "alice-laptop"}]}, "live": live}
	fs := keypairs.deny with input as inp
	fs == {{
		"rule": "bound-keypair-delete",
		"msg": "key pair \"alice-old\" is deleted but still installed for user \"alice\" on host \"web-1\"; unbind it and apply first",
		"path": "keypairs",
		"host": "web-1",
	}}
}

test_live_keys_all_declared if {
	inp := {"manifest": {"keypairs": [{"name": "alice-laptop"}, {"name": "alice-old"}]}, "live": live}
	count(keypairs.deny) == 0 with input as inp
}

live_clouds := {"clouds": [{"name": "kps", "provider": "huawei", "path": "clouds[1]", "status": "ok", "keypairs": [
	{"name": "ops", "importedByAccessctl": true, "instances": ["srv-2", "srv-1"]},
	{"name": "console", "importedByAccessctl": false, "instances": ["srv-3"]},
	{"name": "spare", "importedByAccessctl": true, "instances": []},
]}]}

test_cloud_delete_still_bound if {
	inp := {"manifest": {"keypairs": []}, "live": live_clouds}
	fs := keypairs.deny with input as inp
	fs == {{
		"rule": "bound-keypair-delete",
		"msg": "key pair \"ops\" is deleted from cloud registry \"kps\" while the registry still binds it to srv-1, srv-2; keep it listed, drop the hosts' cloud bindings, and apply first",
		"path": "clouds[1]",
	}}
}

test_cloud_listed_keypair_is_not_deleted if {
	inp := {"manifest": {"keypairs": [{"name": "ops", "clouds": ["kps"]}]}, "live": live_clouds}
	count(keypairs.deny) == 0 with input as inp
}

test_cloud_listed_for_another_registry_is_deleted_here if {
	inp := {"manifest": {"keypairs": [{"name": "ops", "clouds": ["ecs"]}]}, "live": live_clouds}
	count(keypairs.deny) == 1 with input as inp
}

test_cloud_delete_bound_in_base if {
	b := {"keypairs": [{"name": "ops"}], "users": [], "hosts": [{"name": "web-1", "cloud": {"registry": "ecs", "instance": "i-1", "keypair": "ops"}}]}
	fs := keypairs.deny with input as {"base": b, "manifest": {"keypairs": []}}
	fs == {{
		"rule": "bound-keypair-delete",
		"msg": "key pair \"ops\" is deleted while bound to instance \"i-1\" of cloud registry \"ecs\" in the base revision; unbind it first, delete it in a later change",
		"path": "keypairs",
	}}
}
