package accessctl.rules.keys_test

import data.accessctl.rules.keys
import rego.v1

kp(name, type, bits, fp) := {"name": name, "publicKey": "...", "key": {"valid": true, "type": type, "bits": bits, "fingerprint": fp}}

test_good_keys_pass if {
	inp := {"manifest": {"keypairs": [
		kp("a", "ssh-ed25519", 256, "SHA256:a"),
		kp("b", "ssh-rsa", 3072, "SHA256:b"),
		kp("c", "ecdsa-sha2-nistp256", 256, "SHA256:c"),
	]}}
	count(keys.deny) == 0 with input as inp
}

test_dsa_denied_once if {
	fs := keys.deny with input as {"manifest": {"keypairs": [kp("old", "ssh-dss", 1024, "SHA256:d")]}}
	fs == {{
		"rule": "key-algorithm",
		"msg": "key pair \"old\": ssh-dss (DSA) keys are obsolete and refused by current OpenSSH",
		"path": "keypairs[0].publicKey",
	}}
}

test_short_rsa_denied if {
	fs := keys.deny with input as {"manifest": {"keypairs": [kp("a", "ssh-ed25519", 256, "SHA256:a"), kp("r", "ssh-rsa", 1024, "SHA256:r")]}}
	fs == {{
		"rule": "key-algorithm",
		"msg": "key pair \"r\": RSA key of 1024 bits is under 2048",
		"path": "keypairs[1].publicKey",
	}}
}

test_min_rsa_bits_setting if {
	inp := {"settings": {"minRSABits": 4096}, "manifest": {"keypairs": [kp("r", "ssh-rsa", 3072, "SHA256:r")]}}
	count(keys.deny) == 1 with input as inp
}

test_type_not_allowed if {
	inp := {"settings": {"allowedKeyTypes": ["ssh-ed25519"]}, "manifest": {"keypairs": [kp("e", "ecdsa-sha2-nistp256", 256, "SHA256:e"), kp("r", "ssh-rsa", 1024, "SHA256:r")]}}
	fs := keys.deny with input as inp
	fs == {
		{"rule": "key-algorithm", "msg": "key pair \"e\": key type ecdsa-sha2-nistp256 is not allowed (allowedKeyTypes)", "path": "keypairs[0].publicKey"},
		{"rule": "key-algorithm", "msg": "key pair \"r\": RSA key of 1024 bits is under 2048, key type ssh-rsa is not allowed (allowedKeyTypes)", "path": "keypairs[1].publicKey"},
	}
}

test_invalid_key_skipped if {
	count(keys.deny) == 0 with input as {"manifest": {"keypairs": [{"name": "x", "publicKey": "junk", "key": {"valid": false}}]}}
}

test_duplicate_key_on_the_later_pair if {
	inp := {"manifest": {"keypairs": [
		kp("alice-laptop", "ssh-ed25519", 256, "SHA256:same"),
		kp("bob", "ssh-ed25519", 256, "SHA256:other"),
		kp("alice-old", "ssh-ed25519", 256, "SHA256:same"),
		kp("alice-older", "ssh-ed25519", 256, "SHA256:same"),
	]}}
	fs := keys.deny with input as inp
	fs == {
		{"rule": "duplicate-key", "msg": "key pair \"alice-old\" holds the same public key as key pair \"alice-laptop\"", "path": "keypairs[2].publicKey"},
		{"rule": "duplicate-key", "msg": "key pair \"alice-older\" holds the same public key as key pair \"alice-laptop\"", "path": "keypairs[3].publicKey"},
	}
}

test_distinct_keys_no_duplicate if {
	inp := {"manifest": {"keypairs": [kp("a", "ssh-ed25519", 256, "SHA256:a"), kp("b", "ssh-ed25519", 256, "SHA256:b")]}}
	count(keys.deny) == 0 with input as inp
}

test_private_key if {
	inp := {"manifest": {"keypairs": []}, "facts": {"privateKeyPaths": ["keypairs[3].publicKey"]}}
	fs := keys.deny with input as inp
	count(fs) == 1
	some f in fs
	f.rule == "private-key"
	f.path == "keypairs[3].publicKey"
	not contains(f.msg, "BEGIN")
}

test_no_private_key if {
	count(keys.deny) == 0 with input as {"manifest": {"keypairs": []}, "facts": {"privateKeyPaths": []}}
}
