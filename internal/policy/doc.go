// Package policy is the second stage, after manifest: it builds the policy input from a loaded
// manifest, evaluates the Rego rules (built in, from package policies, and the user's --policy
// directories) and returns findings located at file:line:column.
//
// Invariants:
//   - A plaintext password is read only to compute its strength facts and never enters the
//     input document, a finding, an error or a log; the input holds its source and strength only.
//   - Private key text never enters the input: only the paths of the scalars that hold it.
//   - Policies compile once, in strict mode, when an Engine is made; Eval is safe for concurrent
//     use and deterministic: findings are sorted and deduplicated.
//   - Every finding carries a position: the path's own, the nearest written parent's, or the
//     first manifest file when nothing on the path is written.
//   - Exceptions are applied here, after the rules ran, so no rule has to know about them.
package policy
