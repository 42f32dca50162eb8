// Package compile turns a validated manifest into the pull-mode snapshot of one host.
//
// Stage: after manifest loading and the policy check (the caller refuses an invalid or denied
// manifest first); before internal/snapshot, which encodes, signs and reads the result. It is
// kept apart from internal/snapshot so that the reader side never links the manifest loader.
//
// Invariants: only user names, states and public key lines leave the manifest; passwords (and
// their hashes, env names and files) never do. Key lines are rendered as push mode renders them
// (SPEC §1: from="…", expiry-time="YYYYMMDD"), and every binding's expiry also stays as data.
package compile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/snapshot"
)

// ErrUnknownHost is returned when the manifest has no host of the requested name.
var ErrUnknownHost = errors.New("no such host in the manifest")

// Build compiles the snapshot of the host named hostName: every user a group of the host lists,
// with its state, and, for present users, its bindings rendered as authorized_keys lines.
// digest identifies the manifest (see SourceDigest).
func Build(m *manifest.Manifest, hostName string, now time.Time, digest string) (*snapshot.Snapshot, error) {
	var host *manifest.Host
	for i := range m.Hosts {
		if m.Hosts[i].Name == hostName {
			host = &m.Hosts[i]
			break
		}
	}
	if host == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHost, hostName)
	}
	if host.OS == "windows" {
		return nil, fmt.Errorf("host %s runs Windows, whose OpenSSH has no AuthorizedKeysCommand; pull mode is for Linux hosts", hostName)
	}
	users := map[string]*manifest.User{}
	for i := range m.Users {
		users[m.Users[i].Name] = &m.Users[i]
	}
	keypairs := map[string]string{}
	for _, k := range m.Keypairs {
		keypairs[k.Name] = k.PublicKey
	}

	s := &snapshot.Snapshot{Host: hostName, GeneratedAt: now, ManifestDigest: digest}
	for _, name := range m.DesiredUsers(host) {
		u := users[name]
		if u == nil {
			return nil, fmt.Errorf("host %s: group lists undefined user %s", hostName, name)
		}
		su := snapshot.User{Name: u.Name, State: u.State, Keys: []snapshot.Key{}}
		if su.State == "" {
			su.State = snapshot.StatePresent
		}
		// A locked or absent user gets no key lines at all: the reader would print none anyway,
		// and a key that is not in the file cannot be let in by a reader bug.
		if su.State == snapshot.StatePresent {
			for _, b := range u.Keypairs {
				pub, ok := keypairs[b.Keypair]
				if !ok {
					return nil, fmt.Errorf("user %s: undefined key pair %s", u.Name, b.Keypair)
				}
				line, err := KeyLine(b, pub)
				if err != nil {
					return nil, fmt.Errorf("user %s: key pair %s: %w", u.Name, b.Keypair, err)
				}
				su.Keys = append(su.Keys, snapshot.Key{Keypair: b.Keypair, Line: line, Expires: b.Expires})
			}
		}
		s.Users = append(s.Users, su)
	}
	return s, nil
}

// KeyLine renders a binding as an authorized_keys line, as push mode writes it. Validation has
// already rejected hostile values; this checks again what would break the line's syntax.
func KeyLine(b manifest.Binding, pub string) (string, error) {
	pub = strings.TrimSpace(pub)
	if strings.ContainsAny(pub, "\r\n") {
		return "", fmt.Errorf("public key spans lines")
	}
	if _, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(pub)); err != nil || len(opts) > 0 {
		return "", fmt.Errorf("not a plain OpenSSH public key line")
	}
	var o []string
	if len(b.From) > 0 {
		for _, f := range b.From {
			if f == "" || strings.ContainsAny(f, "\",\\ \t\r\n") {
				return "", fmt.Errorf("invalid from pattern %q", f)
			}
		}
		o = append(o, `from="`+strings.Join(b.From, ",")+`"`)
	}
	if b.Expires != "" {
		if _, err := time.Parse(time.DateOnly, b.Expires); err != nil {
			return "", fmt.Errorf("invalid expiry %q", b.Expires)
		}
		o = append(o, `expiry-time="`+strings.ReplaceAll(b.Expires, "-", "")+`"`)
	}
	if len(o) == 0 {
		return pub, nil
	}
	return strings.Join(o, ",") + " " + pub, nil
}

// SourceDigest is "sha256:<hex>" over the named files' contents, each framed by its length, in
// order: the manifest files as loaded, then the inventory file when there is one. Paths are left
// out so the same commit gives the same digest in every checkout.
func SourceDigest(files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d\x00", len(data))
		h.Write(data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
