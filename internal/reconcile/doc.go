// Package reconcile is the stage that decides and then does: it computes what each host should
// have from the manifest, compares it with what hoststate read, and produces the plan as data
// ([Plan], [HostPlan], [Change]); it renders nothing. Apply carries out one host's plan as a single
// generated shell script that backs up everything it touches and restores it on any failure, then
// proves accessctl can still get in over a fresh connection, or rolls the host back.
//
// Invariants:
//   - Plaintext passwords exist only in memory while a hash is made; plans, policy input and
//     errors carry "set"/"differs", never a secret or a hash.
//   - Every manifest value reaches the remote shell single-quoted or base64-encoded.
//   - The plan a host gets applied is the plan shown: apply works from the same HostPlan.
//   - reconcile speaks to hosts only through transport.Conn; it parses no YAML.
package reconcile
