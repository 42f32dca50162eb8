package report

// RuleInfo describes one rule for the reports that list rules (SARIF, JUnit).
type RuleInfo struct {
	ID string
	// Severity is the rule's usual severity, SeverityDeny or SeverityWarn. A finding's own
	// severity wins where they differ (root-login warns when a group leaves it unmanaged).
	Severity string
	// Summary says in one sentence when the rule fires.
	Summary string
}

// RuleInvalidManifest is the rule id of findings that report a manifest failing schema or
// reference validation, so that such failures appear in every format like any other finding.
const RuleInvalidManifest = "invalid-manifest"

// Rules is the catalogue of built-in rule ids (SPEC §4) plus RuleInvalidManifest. Its ids are
// stable: code scanning alerts and CI history are keyed by them. Treat it as read-only.
var Rules = []RuleInfo{
	{RuleInvalidManifest, SeverityDeny, "The manifest does not pass schema or reference validation."},
	{"root-user", SeverityDeny, "A manifest user is root or has uid 0."},
	{"root-login", SeverityDeny, "A host group sets permitRootLogin: \"yes\" (a warning when a group leaves it unmanaged)."},
	{"connect-as-root", SeverityWarn, "A host's login user is root; prefer an admin user with sudo."},
	{"weak-password", SeverityDeny, "A password is too short, lacks a character class, contains the user name or is easy to guess."},
	{"password-unverifiable", SeverityWarn, "A password is given only as a hash, so its strength cannot be checked."},
	{"password-auth-enabled", SeverityWarn, "A host group sets passwordAuthentication: true."},
	{"key-algorithm", SeverityDeny, "A key pair is ssh-dss, RSA under the minimum size, or a type the policy does not allow."},
	{"duplicate-key", SeverityDeny, "Two key pairs hold the same public key."},
	{"private-key", SeverityDeny, "Private key material appears in the manifest."},
	{"bound-keypair-delete", SeverityDeny, "A key pair is deleted while a user still binds it or a host still has it installed."},
	{"rdp-session-limit", SeverityWarn, "More users have rdp on a Windows host group than it has concurrent sessions."},
	{"exception-expired", SeverityWarn, "A policy exception is past its expiry date."},
	{"unmanaged-user", SeverityWarn, "A human account on a host is neither in the manifest nor created by accessctl."},
	{"lockout", SeverityDeny, "The change would leave accessctl's own login without a way in on a host."},
	{"stale-key", SeverityWarn, "With --usage: a key binding has no accepted login within staleKeyDays on any of its hosts."},
}

// InformationURI is the project's home, written into SARIF.
const InformationURI = "https://github.com/accessctl/accessctl"

// HelpURI is where the documentation of a built-in rule lives; "" for rules of user policies.
func (r RuleInfo) HelpURI() string {
	for _, b := range Rules {
		if b.ID == r.ID {
			return InformationURI + "/blob/main/docs/rules.md#" + r.ID
		}
	}
	return ""
}
