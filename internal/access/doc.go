// Package access turns what a host grants now (hoststate, read with the +access extras) and the
// manifest into an access review: per host, every account that can log in or elevate, managed or
// not, with each login path (key, password, AuthorizedKeysCommand, RDP), what blocks a login, and
// effective sudo (SPEC §2b). It is a read-only stage after hoststate; it never imports reconcile
// and renders nothing (internal/report does).
//
// Invariants: the report holds no secret (password state only, never a hash), and it is sorted
// (hosts, accounts, paths) so two runs over unchanged hosts give identical output.
package access
