// Package importer drafts a manifest from live hosts (`accessctl import`, SPEC §2b): human
// accounts, their keys grouped into key pairs by fingerprint across hosts, sudo rights that
// `sudo: true|nopasswd` express, supplementary groups, and host groups by identical access.
//
// Invariants: it never writes a password or a private key (it never reads either); what the
// manifest cannot express is written as a YAML comment naming host and file:line; and the
// manifest it writes, planned against the same hosts, shows no change (everything it states is
// already true on every host it applies to; docs/access.md lists the exceptions it reports).
package importer
