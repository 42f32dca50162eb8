package reconcile

import winapply "github.com/accessctl/accessctl/internal/reconcile/windows"

// CloudOp is one operation on a cloud key-pair registry (SPEC §2c). Kinds:
//   - cloud.import: ImportKeyPair (ECS) / import (KPS) of Keypair with PublicKey (never a private key)
//   - cloud.bind:   AttachKeyPair (ECS) / associate task (KPS) of Keypair to Instance
//   - cloud.unbind: DetachKeyPair (ECS) / disassociate task (KPS) of Keypair from Instance
//   - cloud.delete: DeleteKeyPairs (ECS) / delete (KPS) of Keypair
type CloudOp struct {
	// Registry is the manifest's clouds[].name; Provider is "alibaba" or "huawei".
	Registry string `json:"registry"`
	Provider string `json:"provider"`
	Keypair  string `json:"keypair"`
	// PublicKey is the OpenSSH public key line (cloud.import).
	PublicKey string `json:"publicKey,omitempty"`
	// Instance is the instance (ECS) or server (KPS) id (cloud.bind, cloud.unbind).
	Instance string `json:"instance,omitempty"`
	// Region, Endpoint and Project locate the registry, so a plan file can be applied without
	// the manifest (credentials are never in a plan: they come from the provider's chain).
	Region   string `json:"region,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Project  string `json:"project,omitempty"`
}

// WindowsOp is one change of a Windows host's change set. A password is never in it: Secret
// names where apply reads it (the manifest's env or file source) and Stamp is a salted digest
// of the reviewed value, so apply refuses a password that changed since the plan.
type WindowsOp struct {
	Change winapply.Change `json:"change"`
	Secret *SecretRef      `json:"secret,omitempty"`
	Stamp  string          `json:"stamp,omitempty"`
}

// SecretRef is where a plaintext password is read at apply time.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}
