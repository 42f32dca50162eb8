// Package cloud is the stage that reads and changes cloud key-pair registries (SPEC §2c): what a
// registry holds now (its key pairs with their public keys, and which key pair each instance is
// bound to), and the four calls apply makes (import, bind, unbind, delete). One folder per
// provider: alibaba/ (ECS key pairs, API 2014-05-26) and huawei/ (KPS v3), each over the
// provider's official Go SDK.
//
// Invariants:
//   - Only public keys travel: no call creates a key pair on the registry's side or asks it to
//     host a private key.
//   - Credentials come from the providers' standard chains (environment variables, credential
//     files, instance roles); they never appear in a KeyPair, a Binding or an error (Scrub).
//   - accessctl marks every key pair it imports (Marker) and deletes only key pairs so marked;
//     names are never changed to mark them.
package cloud
