package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyKind says what is wrong with a host key.
type HostKeyKind string

// Host key problems.
const (
	// HostKeyUnknown: known_hosts has no key for the host.
	HostKeyUnknown HostKeyKind = "unknown"
	// HostKeyChanged: known_hosts has keys for the host, none of them the one offered.
	HostKeyChanged HostKeyKind = "changed"
	// HostKeyRevoked: the key offered is marked @revoked in known_hosts.
	HostKeyRevoked HostKeyKind = "revoked"
)

// HostKeyError is returned by Dial when the host key does not verify. Nothing was sent to the
// host: neither credentials nor commands.
type HostKeyError struct {
	Kind HostKeyKind
	// Host is the host's name (Config.Name, else its address).
	Host string
	// Lookup is the name looked up in known_hosts: "addr" for port 22, else "[addr]:port"; the
	// HostKeyAlias when set.
	Lookup string
	// Key is the key the host offered; Fingerprint its SHA256 fingerprint ("SHA256:…").
	Key         xssh.PublicKey
	Fingerprint string
	// KnownHostsFiles are the files consulted.
	KnownHostsFiles []string
	// Known are the known_hosts lines for the host (changed) or the revoking line (revoked).
	Known []knownhosts.KnownKey
}

func (e *HostKeyError) Error() string {
	files := strings.Join(e.KnownHostsFiles, ", ")
	if files == "" {
		files = "no known_hosts file"
	}
	switch e.Kind {
	case HostKeyChanged:
		var was []string
		for _, k := range e.Known {
			was = append(was, fmt.Sprintf("%s:%d has %s %s", k.Filename, k.Line, k.Key.Type(), xssh.FingerprintSHA256(k.Key)))
		}
		return fmt.Sprintf("host key for %s changed (%s %s); %s: refusing to connect (if the change is expected, update known_hosts, e.g. ssh-keygen -R %s)",
			e.Host, e.Key.Type(), e.Fingerprint, strings.Join(was, "; "), e.Lookup)
	case HostKeyRevoked:
		return fmt.Sprintf("host key for %s (%s %s) is revoked in %s:%d: refusing to connect",
			e.Host, e.Key.Type(), e.Fingerprint, e.Known[0].Filename, e.Known[0].Line)
	default:
		return fmt.Sprintf("host key for %s is unknown (%s %s, not in %s as %s): refusing to connect (verify it and add it to known_hosts, e.g. with ssh-keyscan)",
			e.Host, e.Key.Type(), e.Fingerprint, files, e.Lookup)
	}
}

// hostKeyCheck verifies one hop's host key and remembers the key seen.
type hostKeyCheck struct {
	callback   xssh.HostKeyCallback
	algorithms []string
	seen       xssh.PublicKey
}

// probeKey is a key no host has: checking it lists the known keys of a host.
var probeKey = func() xssh.PublicKey {
	k, err := xssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return k
}()

func newHostKeyCheck(cfg Config) (*hostKeyCheck, error) {
	hk := &hostKeyCheck{}
	if cfg.InsecureIgnoreHostKey {
		hk.callback = func(_ string, _ net.Addr, key xssh.PublicKey) error {
			hk.seen = key
			return nil
		}
		return hk, nil
	}
	var files []string
	for _, f := range cfg.KnownHostsFiles {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	lookupHost := cfg.Addr
	if cfg.HostKeyAlias != "" {
		lookupHost = cfg.HostKeyAlias
	}
	lookup := net.JoinHostPort(lookupHost, strconv.Itoa(cfg.port()))
	// Placeholder remote address: the lookup always names the host, so knownhosts never uses it.
	remote := &net.TCPAddr{IP: net.IPv4zero, Port: cfg.port()}

	// Ask only for the key types known_hosts holds for this host: x/crypto prefers ECDSA, and a
	// host with an ECDSA and an ed25519 key, known by its ed25519 key, would look "changed".
	var ke *knownhosts.KeyError
	if err := db(lookup, remote, probeKey); errors.As(err, &ke) {
		for _, k := range ke.Want {
			hk.algorithms = appendUnique(hk.algorithms, algorithmsFor(k.Key.Type())...)
		}
	}

	hk.callback = func(_ string, _ net.Addr, key xssh.PublicKey) error {
		hk.seen = key
		err := db(lookup, remote, key)
		if err == nil {
			return nil
		}
		e := &HostKeyError{
			Host: cfg.name(), Lookup: knownhosts.Normalize(lookup), Key: key,
			Fingerprint: xssh.FingerprintSHA256(key), KnownHostsFiles: cfg.KnownHostsFiles,
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			e.Kind, e.Known = HostKeyRevoked, []knownhosts.KnownKey{re.Revoked}
		case errors.As(err, &ke) && len(ke.Want) > 0:
			e.Kind, e.Known = HostKeyChanged, ke.Want
		case errors.As(err, &ke):
			e.Kind = HostKeyUnknown
		default:
			return fmt.Errorf("check host key: %w", err)
		}
		return e
	}
	return hk, nil
}

// algorithmsFor lists the host key algorithms that prove a key of type t.
func algorithmsFor(t string) []string {
	switch t {
	case xssh.KeyAlgoRSA:
		return []string{xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA}
	default:
		return []string{t}
	}
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			if l == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}
