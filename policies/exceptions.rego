# Exceptions: a waiver past its date no longer applies (accessctl stops honouring it); say so, so
# it is renewed on purpose or removed.
package accessctl.rules.exceptions

import rego.v1

warn contains {
	"rule": "exception-expired",
	"msg": sprintf("exception for rule %s (%s) expired on %s; renew it or remove it", [e.rule, scope(e), e.expires]),
	"path": sprintf("policy.exceptions[%d]", [i]),
} if {
	some i, e in input.manifest.policy.exceptions
	e.expires < input.today
}

scope(e) := sprintf("host group %s", [e.hostGroup]) if {
	e.hostGroup
} else := sprintf("host %s", [e.host]) if {
	e.host
} else := sprintf("user %s", [e.user]) if {
	e.user
} else := sprintf("key pair %s", [e.keypair]) if {
	e.keypair
} else := "no scope"
