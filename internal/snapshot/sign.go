package snapshot

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Signer signs snapshots with an ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	pub ssh.PublicKey
}

// ParseSigningKey reads an unencrypted OpenSSH ed25519 private key file's content
// made by ssh-keygen -t ed25519 with an empty passphrase.
func ParseSigningKey(pemBytes []byte) (*Signer, error) {
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("the key is encrypted; accessctl needs an unencrypted ed25519 key (ssh-keygen -t ed25519 -N '')")
		}
		return nil, fmt.Errorf("not an OpenSSH private key: %v", err)
	}
	var k ed25519.PrivateKey
	switch v := raw.(type) {
	case ed25519.PrivateKey:
		k = v
	case *ed25519.PrivateKey:
		k = *v
	default:
		return nil, fmt.Errorf("the key is %T; snapshots are signed with ed25519 keys (ssh-keygen -t ed25519)", raw)
	}
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("malformed ed25519 private key")
	}
	pub, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{key: k, pub: pub}, nil
}

// PublicKey is the key a reader verifies with.
func (s *Signer) PublicKey() ssh.PublicKey { return s.pub }

func (s *Signer) sign(headerBytes []byte) Signature {
	sig := ed25519.Sign(s.key, signedMessage(headerBytes))
	return Signature{Format: ssh.KeyAlgoED25519, Key: ssh.FingerprintSHA256(s.pub), Blob: base64.StdEncoding.EncodeToString(sig)}
}

// signedMessage is what a signature covers: the namespace, a newline, and the header's bytes
// exactly as they stand in the file.
func signedMessage(headerBytes []byte) []byte {
	msg := make([]byte, 0, len(SignatureNamespace)+1+len(headerBytes))
	msg = append(msg, SignatureNamespace...)
	msg = append(msg, '\n')
	return append(msg, headerBytes...)
}

// ParseVerifyKey reads an OpenSSH ed25519 public key line (the signing key's .pub file).
func ParseVerifyKey(line []byte) (ssh.PublicKey, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		return nil, fmt.Errorf("not an OpenSSH public key line: %v", err)
	}
	if pk.Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("the key is %s; snapshots are signed with ed25519 keys", pk.Type())
	}
	return pk, nil
}

func verify(pub ssh.PublicKey, sig *Signature, headerBytes []byte) error {
	if sig == nil {
		return fmt.Errorf("snapshot is not signed, and a verify key was given")
	}
	if sig.Format != ssh.KeyAlgoED25519 {
		return fmt.Errorf("signature format %q, want %s", sig.Format, ssh.KeyAlgoED25519)
	}
	if fp := ssh.FingerprintSHA256(pub); sig.Key != fp {
		return fmt.Errorf("snapshot signed by %s, not by the verify key %s", sig.Key, fp)
	}
	blob, err := base64.StdEncoding.Strict().DecodeString(sig.Blob)
	if err != nil || len(blob) != ed25519.SignatureSize {
		return fmt.Errorf("malformed signature")
	}
	if err := pub.Verify(signedMessage(headerBytes), &ssh.Signature{Format: sig.Format, Blob: blob}); err != nil {
		return fmt.Errorf("signature does not verify")
	}
	return nil
}
