package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"sort"
	"strings"
	"time"
)

// FormatVersion is the value of the file's formatVersion; a reader refuses any other.
const FormatVersion = "1"

// SignatureNamespace is prepended (with a newline) to the signed header bytes, so a signature
// made for a snapshot cannot be replayed as a signature over anything else, and vice versa.
const SignatureNamespace = "accessctl-snapshot@v1"

// DefaultPath is where sshd's AuthorizedKeysCommand reads the snapshot unless told otherwise.
const DefaultPath = "/etc/accessctl/snapshot.json"

// Bounds the reader enforces; the writer refuses to produce anything beyond them.
const (
	MaxFileSize   = 1 << 30 // the whole file
	MaxHeaderSize = 8 << 20 // the first four lines (format, header, signature, users opener)
	MaxBucketSize = 8 << 20 // one bucket of user lines
	MaxLineSize   = 1 << 20 // one user's line
)

// BucketSize is how many users the writer puts in one hashed bucket: a lookup hashes one bucket
// and parses a header that lists every bucket, so the two costs balance near a few hundred.
const BucketSize = 512

// User states, as in the manifest.
const (
	StatePresent = "present"
	StateLocked  = "locked"
	StateAbsent  = "absent"
)

// Snapshot is what one host needs to answer "which keys may log in as this user".
type Snapshot struct {
	// Host is the manifest name of the host the snapshot was compiled for.
	Host string
	// GeneratedAt is when the snapshot was compiled.
	GeneratedAt time.Time
	// ManifestDigest identifies the manifest it was compiled from ("sha256:<hex>").
	ManifestDigest string
	// NotAfter, when not zero, is the last instant the snapshot is valid: the reader refuses it
	// afterwards (no key at all, non-zero exit). It is in the signed header, so it cannot be
	// stripped or pushed back without the signing key.
	NotAfter time.Time
	// Users desired on the host, in any order; Encode sorts them by name.
	Users []User
}

// User is one account desired on the host.
type User struct {
	Name  string `json:"name"` // first field: the reader matches lines on its prefix
	State string `json:"state"`
	Keys  []Key  `json:"keys"`
}

// Key is one authorized_keys line of a user, rendered with its options.
type Key struct {
	// Keypair is the manifest name of the key pair, for people reading the file.
	Keypair string `json:"keypair"`
	// Line is the authorized_keys line: options (from=, expiry-time=), type, base64, comment.
	Line string `json:"line"`
	// Expires is the binding's last valid day, YYYY-MM-DD in the host's local time, or "".
	Expires string `json:"expires,omitempty"`
}

// header is the second line of the file; its exact bytes are what a signature covers.
type header struct {
	Host           string   `json:"host"`
	GeneratedAt    string   `json:"generatedAt"`
	NotAfter       string   `json:"notAfter,omitempty"`
	ManifestDigest string   `json:"manifestDigest"`
	Users          int      `json:"users"`
	UsersLength    int64    `json:"usersLength"`
	Buckets        []bucket `json:"buckets"`
}

// bucket locates a run of consecutive user lines in the users section.
type bucket struct {
	First  string `json:"first"`  // name of its first user; buckets are sorted by it
	Offset int64  `json:"offset"` // from the start of the users section
	Length int64  `json:"length"` // bytes, including each line's ",\n" or "\n"
	Users  int    `json:"users"`
	SHA256 string `json:"sha256"` // hex digest of those bytes
}

// Signature is the third line of a signed file.
type Signature struct {
	// Format is the SSH signature format; only "ssh-ed25519".
	Format string `json:"format"`
	// Key is the SHA256 fingerprint of the signing key, as ssh-keygen -l prints it.
	Key string `json:"key"`
	// Blob is the base64 (standard, padded) of the 64-byte ed25519 signature.
	Blob string `json:"blob"`
}

// Fixed lines of the layout. Every snapshot is one JSON object laid out as:
//
//	{"formatVersion":"1",
//	"header":{...},
//	"signature":{...}|null,
//	"users":[
//	{"name":"a",...},
//	{"name":"b",...}
//	]}
const (
	lineFormat    = `{"formatVersion":"` + FormatVersion + `",` + "\n"
	prefixHeader  = `"header":`
	prefixSig     = `"signature":`
	lineUsers     = `"users":[` + "\n"
	trailer       = "]}\n"
	userKeyPrefix = `{"name":"`
)

// Encode renders s in the snapshot layout, signed with signer when it is not nil.
func Encode(s *Snapshot, signer *Signer) ([]byte, error) {
	if s.Host == "" {
		return nil, fmt.Errorf("snapshot: no host name")
	}
	users := append([]User(nil), s.Users...)
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	for i, u := range users {
		if err := checkUser(u); err != nil {
			return nil, err
		}
		if i > 0 && users[i-1].Name == u.Name {
			return nil, fmt.Errorf("snapshot: user %s listed twice", u.Name)
		}
	}

	var body bytes.Buffer
	h := header{
		Host:           s.Host,
		GeneratedAt:    s.GeneratedAt.UTC().Format(time.RFC3339),
		NotAfter:       formatNotAfter(s.NotAfter),
		ManifestDigest: s.ManifestDigest,
		Users:          len(users),
		Buckets:        []bucket{},
	}
	for start := 0; start < len(users); start += BucketSize {
		end := min(start+BucketSize, len(users))
		off := int64(body.Len())
		for i := start; i < end; i++ {
			line, err := json.Marshal(users[i])
			if err != nil {
				return nil, err
			}
			if len(line) > MaxLineSize {
				return nil, fmt.Errorf("snapshot: user %s: %d bytes of keys, more than the %d a reader accepts", users[i].Name, len(line), MaxLineSize)
			}
			body.Write(line)
			if i < len(users)-1 {
				body.WriteByte(',')
			}
			body.WriteByte('\n')
		}
		data := body.Bytes()[off:]
		if len(data) > MaxBucketSize {
			return nil, fmt.Errorf("snapshot: users %s…%s take %d bytes, more than a reader accepts", users[start].Name, users[end-1].Name, len(data))
		}
		sum := sha256.Sum256(data)
		h.Buckets = append(h.Buckets, bucket{
			First: users[start].Name, Offset: off, Length: int64(len(data)),
			Users: end - start, SHA256: hex.EncodeToString(sum[:]),
		})
	}
	h.UsersLength = int64(body.Len())
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	out.WriteString(lineFormat)
	out.WriteString(prefixHeader)
	out.Write(hb)
	out.WriteString(",\n")
	out.WriteString(prefixSig)
	if signer != nil {
		sig, err := json.Marshal(signer.sign(hb))
		if err != nil {
			return nil, err
		}
		out.Write(sig)
	} else {
		out.WriteString("null")
	}
	out.WriteString(",\n")
	out.WriteString(lineUsers)
	if out.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("snapshot: header of %d bytes is more than a reader accepts", out.Len())
	}
	out.Write(body.Bytes())
	out.WriteString(trailer)
	if out.Len() > MaxFileSize {
		return nil, fmt.Errorf("snapshot: %d bytes is more than a reader accepts", out.Len())
	}
	return out.Bytes(), nil
}

func checkUser(u User) error {
	if !ValidUserName(u.Name) {
		return fmt.Errorf("snapshot: invalid user name %q", u.Name)
	}
	switch u.State {
	case StatePresent, StateLocked, StateAbsent:
	default:
		return fmt.Errorf("snapshot: user %s: invalid state %q", u.Name, u.State)
	}
	for _, k := range u.Keys {
		if k.Line == "" || strings.ContainsAny(k.Line, "\r\n\x00") {
			return fmt.Errorf("snapshot: user %s: key %s: empty or multi-line key line", u.Name, k.Keypair)
		}
		if k.Expires != "" && !validDate(k.Expires) {
			return fmt.Errorf("snapshot: user %s: key %s: expiry %q is not YYYY-MM-DD", u.Name, k.Keypair, k.Expires)
		}
	}
	return nil
}

// ValidUserName reports whether name matches the manifest's user-name pattern
// (names.UserPattern). The reader refuses any other name before it opens the snapshot, and the
// pattern needs no JSON escaping, which the reader's line matching relies on.
func ValidUserName(name string) bool { return names.User(name) }

func validDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func formatNotAfter(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
