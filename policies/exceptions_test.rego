package accessctl.rules.exceptions_test

import data.accessctl.rules.exceptions
import rego.v1

inp := {"today": "2026-05-01", "manifest": {"policy": {"exceptions": [
	{"rule": "password-auth-enabled", "hostGroup": "legacy", "reason": "r", "expires": "2027-03-31"},
	{"rule": "weak-password", "user": "bob", "reason": "r", "expires": "2026-04-30"},
	{"rule": "duplicate-key", "keypair": "k", "reason": "r", "expires": "2026-05-01"},
]}}}

test_expired_exception_warned if {
	fs := exceptions.warn with input as inp
	fs == {{
		"rule": "exception-expired",
		"msg": "exception for rule weak-password (user bob) expired on 2026-04-30; renew it or remove it",
		"path": "policy.exceptions[1]",
	}}
}

test_exception_valid_through_its_date if {
	fs := exceptions.warn with input as inp
	not "policy.exceptions[2]" in {f.path | some f in fs}
}

test_no_exceptions if {
	count(exceptions.warn) == 0 with input as {"today": "2026-05-01", "manifest": {"policy": {"exceptions": []}}}
}
