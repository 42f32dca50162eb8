# Keys: what a key pair's public key is, judged by the facts accessctl parses from it
# (input.manifest.keypairs[i].key). Lines that do not parse are reported by the loader.
package accessctl.rules.keys

import rego.v1

min_rsa_bits := object.get(input, ["settings", "minRSABits"], 2048)

default_key_types := [
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-rsa",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
]

allowed_key_types := {t | some t in object.get(input, ["settings", "allowedKeyTypes"], default_key_types)}

# Key types that may be at fault. There are only a handful of distinct types, so testing each
# key's type against this set is cheaper than judging every key in full (20,000 keys in a large
# fleet).
suspect_types := {t | some t in key_types; not t in allowed_key_types} | {"ssh-dss", "ssh-rsa"}

key_types := {kp.key.type | some kp in input.manifest.keypairs; kp.key.valid == true}

deny contains {
	"rule": "key-algorithm",
	"msg": sprintf("key pair %q: %s", [kp.name, concat(", ", problems)]),
	"path": sprintf("keypairs[%d].publicKey", [i]),
} if {
	some i, kp in input.manifest.keypairs
	kp.key.type in suspect_types
	kp.key.valid == true
	problems := key_problems(kp.key)
	count(problems) > 0
}

key_problems(k) := [c.msg |
	some c in [
		{"bad": k.type == "ssh-dss", "msg": "ssh-dss (DSA) keys are obsolete and refused by current OpenSSH"},
		{"bad": short_rsa(k), "msg": sprintf("RSA key of %d bits is under %d", [k.bits, min_rsa_bits])},
		{"bad": not_allowed(k), "msg": sprintf("key type %s is not allowed (allowedKeyTypes)", [k.type])},
	]
	c.bad
]

default short_rsa(_) := false

short_rsa(k) if {
	k.type == "ssh-rsa"
	k.bits < min_rsa_bits
}

# ssh-dss has its own message; it is never reported twice.
default not_allowed(_) := false

not_allowed(k) if {
	k.type != "ssh-dss"
	not k.type in allowed_key_types
}

# The later of two key pairs holding one key is reported, naming the first. The comprehension
# closes over fp, so OPA indexes it once per evaluation: linear, not quadratic, in key pairs.
deny contains {
	"rule": "duplicate-key",
	"msg": sprintf("key pair %q holds the same public key as key pair %q", [kp.name, input.manifest.keypairs[first].name]),
	"path": sprintf("keypairs[%d].publicKey", [i]),
} if {
	has_duplicates
	some i, kp in input.manifest.keypairs
	kp.key.valid == true
	fp := kp.key.fingerprint
	same := [j | some j, other in input.manifest.keypairs; other.key.fingerprint == fp]
	first := same[0]
	first != i
}

fingerprints := [kp.key.fingerprint | some kp in input.manifest.keypairs; kp.key.valid == true]

# Most manifests have no duplicate; counting distinct fingerprints finds that in one pass.
has_duplicates if count({fp | some fp in fingerprints}) < count(fingerprints)

deny contains {
	"rule": "private-key",
	"msg": sprintf("%s holds private key material; remove it and replace the key, it must be treated as leaked", [p]),
	"path": p,
} if {
	some p in input.facts.privateKeyPaths
}
