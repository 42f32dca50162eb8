package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth holds the keys one hop logs in with and records which of them the server accepted.
type auth struct {
	signers   []xssh.Signer // wrapped: signing records the key
	agentConn net.Conn

	mu   sync.Mutex
	last xssh.PublicKey
}

// newAuth loads the keys of cfg: identity files, in-memory signers, then the agent's keys.
func newAuth(cfg Config) (*auth, error) {
	a := &auth{}
	var keys []xssh.Signer
	var encrypted []xssh.PublicKey // public halves of passphrase-protected identity files
	var fileKeys []xssh.PublicKey
	for _, f := range cfg.IdentityFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("identity file: %w", err)
		}
		s, err := xssh.ParsePrivateKey(pem)
		var pm *xssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			pub := pm.PublicKey
			if pub == nil {
				pub = readPub(f + ".pub")
			}
			if !cfg.UseAgent || pub == nil {
				return nil, fmt.Errorf("identity file %s is passphrase-protected: load it into ssh-agent (ssh-add) and use the agent", f)
			}
			encrypted = append(encrypted, pub)
			fileKeys = append(fileKeys, pub)
			continue
		case err != nil:
			return nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		keys = append(keys, s)
		fileKeys = append(fileKeys, s.PublicKey())
	}
	keys = append(keys, cfg.Signers...)

	if cfg.UseAgent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock != "" {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
			}
			a.agentConn = conn
			agentKeys, err := agent.NewClient(conn).Signers()
			if err != nil {
				a.close()
				return nil, fmt.Errorf("ssh-agent: list keys: %w", err)
			}
			for _, s := range agentKeys {
				if cfg.IdentitiesOnly && !containsKey(fileKeys, s.PublicKey()) {
					continue
				}
				keys = append(keys, s)
			}
		} else if len(encrypted) > 0 {
			return nil, errors.New("a passphrase-protected identity file needs ssh-agent, and SSH_AUTH_SOCK is not set")
		}
	}

	var seen []xssh.PublicKey
	for _, s := range keys {
		if containsKey(seen, s.PublicKey()) {
			continue // one offer per key: sshd counts every offer against MaxAuthTries
		}
		seen = append(seen, s.PublicKey())
		a.signers = append(a.signers, a.wrap(s))
	}
	if len(a.signers) == 0 {
		a.close()
		return nil, errors.New("no key to log in with: give an identity file (--identity) or run ssh-agent (SSH_AUTH_SOCK)")
	}
	return a, nil
}

func readPub(path string) xssh.PublicKey {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	k, _, _, _, err := xssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil
	}
	return k
}

func containsKey(list []xssh.PublicKey, k xssh.PublicKey) bool {
	for _, l := range list {
		if bytes.Equal(l.Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}

func (a *auth) methods() []xssh.AuthMethod {
	return []xssh.AuthMethod{xssh.PublicKeys(a.signers...)}
}

// used is the key the server accepted: x/crypto asks the server about each key first and signs
// only with an acceptable one, so the last key that signed is the one that logged in.
func (a *auth) used() xssh.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *auth) offered() []xssh.PublicKey {
	out := make([]xssh.PublicKey, len(a.signers))
	for i, s := range a.signers {
		out[i] = s.PublicKey()
	}
	return out
}

func (a *auth) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
		a.agentConn = nil
	}
}

func (a *auth) record(k xssh.PublicKey) {
	a.mu.Lock()
	a.last = k
	a.mu.Unlock()
}

// wrap returns s with signing recorded, keeping the interfaces x/crypto looks for: without
// AlgorithmSigner an RSA key would sign with SHA-1, which OpenSSH >= 8.8 refuses.
func (a *auth) wrap(s xssh.Signer) xssh.Signer {
	switch s := s.(type) {
	case xssh.MultiAlgorithmSigner:
		return &recMultiSigner{recAlgSigner{s, a}, s}
	case xssh.AlgorithmSigner:
		return &recAlgSigner{s, a}
	default:
		return &recSigner{s, a}
	}
}

type recSigner struct {
	xssh.Signer
	a *auth
}

func (r *recSigner) Sign(rand io.Reader, data []byte) (*xssh.Signature, error) {
	r.a.record(r.PublicKey())
	return r.Signer.Sign(rand, data)
}

type recAlgSigner struct {
	xssh.AlgorithmSigner
	a *auth
}

func (r *recAlgSigner) Sign(rand io.Reader, data []byte) (*xssh.Signature, error) {
	r.a.record(r.PublicKey())
	return r.AlgorithmSigner.Sign(rand, data)
}

func (r *recAlgSigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*xssh.Signature, error) {
	r.a.record(r.PublicKey())
	return r.AlgorithmSigner.SignWithAlgorithm(rand, data, algorithm)
}

type recMultiSigner struct {
	recAlgSigner
	m xssh.MultiAlgorithmSigner
}

func (r *recMultiSigner) Algorithms() []string { return r.m.Algorithms() }
