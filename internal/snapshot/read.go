package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrMalformed wraps every complaint about a snapshot's content (as opposed to I/O errors).
var ErrMalformed = errors.New("malformed snapshot")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// Reader answers lookups from one snapshot file, reading only the header and one bucket per
// lookup. It is not safe for concurrent use.
type Reader struct {
	ra        io.ReaderAt
	size      int64
	bodyOff   int64
	h         header
	signature *Signature
	closer    io.Closer
}

// Open opens the snapshot at path. With a verify key the snapshot must carry a valid signature
// by that key; without one the signature, if any, is not checked.
func Open(path string, verifyKey ssh.PublicKey) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	r, err := NewReader(f, fi.Size(), verifyKey)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// NewReader reads a snapshot's header from ra (size bytes), checks its layout and, with a
// verify key, its signature.
func NewReader(ra io.ReaderAt, size int64, verifyKey ssh.PublicKey) (*Reader, error) {
	if size > MaxFileSize {
		return nil, malformed("%d bytes, more than the %d accepted", size, MaxFileSize)
	}
	limit := min(size, MaxHeaderSize)
	n := min(limit, 64<<10)
	var head []byte
	sep := []byte("\n" + lineUsers)
	for {
		buf := make([]byte, n)
		if err := readAt(ra, buf, 0); err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(buf, []byte(lineFormat)) {
			if bytes.HasPrefix(buf, []byte(`{"formatVersion":"`)) {
				return nil, malformed("unsupported format version (this reader knows %q)", FormatVersion)
			}
			return nil, malformed("not an accessctl snapshot (first line)")
		}
		if i := bytes.Index(buf, sep); i >= 0 {
			head = buf[:i+len(sep)]
			break
		}
		if n >= limit {
			return nil, malformed("no users section in the first %d bytes", n)
		}
		n = min(n*4, limit)
	}

	r := &Reader{ra: ra, size: size, bodyOff: int64(len(head))}
	if err := parseHead(head, verifyKey, &r.h, &r.signature); err != nil {
		return nil, err
	}
	if err := r.checkHeader(); err != nil {
		return nil, err
	}
	tail := make([]byte, len(trailer))
	if err := readAt(ra, tail, size-int64(len(trailer))); err != nil {
		return nil, err
	}
	if string(tail) != trailer {
		return nil, malformed("truncated or trailing data")
	}
	return r, nil
}

// parseHead splits the first four lines (head ends with the users opener), parses the signature
// and, with a verify key, checks it before the header is parsed.
func parseHead(head []byte, verifyKey ssh.PublicKey, h *header, sig **Signature) error {
	line, rest := cutLine(head[len(lineFormat):])
	hb, ok := cutAround(line, prefixHeader, ",\n")
	if !ok {
		return malformed("second line is not the header")
	}
	line, rest = cutLine(rest)
	sb, ok := cutAround(line, prefixSig, ",\n")
	if !ok {
		return malformed("third line is not the signature")
	}
	if string(rest) != lineUsers {
		return malformed("fourth line is not the users section")
	}
	if string(sb) != "null" {
		*sig = new(Signature)
		if err := strictUnmarshal(sb, *sig); err != nil {
			return malformed("signature: %v", err)
		}
	}
	// Authenticity first: nothing in an unverified header steers the reader when a key is given.
	if verifyKey != nil {
		if err := verify(verifyKey, *sig, hb); err != nil {
			return err
		}
	}
	if len(hb) == 0 || hb[0] != '{' {
		return malformed("header is not an object")
	}
	if err := strictUnmarshal(hb, h); err != nil {
		return malformed("header: %v", err)
	}
	if h.NotAfter != "" {
		if _, err := time.Parse(time.RFC3339, h.NotAfter); err != nil {
			return malformed("header: notAfter: %v", err)
		}
	}
	return nil
}

// Head is what the first lines of a snapshot say about it, for a tool that sees only them
// (plan reads the head of a host's snapshot, not its users).
type Head struct {
	Host           string
	GeneratedAt    time.Time
	NotAfter       time.Time // zero: no expiry
	ManifestDigest string
	// SignedBy is the SHA256 fingerprint the signature line names ("" when unsigned); it is
	// not verified here.
	SignedBy string
}

// ParseHead parses the first four lines of a snapshot (up to and including the users opener;
// trailing bytes are ignored), without checking a signature or the users.
func ParseHead(data []byte) (*Head, error) {
	if !bytes.HasPrefix(data, []byte(lineFormat)) {
		return nil, malformed("not an accessctl snapshot (first line)")
	}
	sep := []byte("\n" + lineUsers)
	i := bytes.Index(data, sep)
	if i < 0 {
		return nil, malformed("no users section")
	}
	var h header
	var sig *Signature
	if err := parseHead(data[:i+len(sep)], nil, &h, &sig); err != nil {
		return nil, err
	}
	gen, err := time.Parse(time.RFC3339, h.GeneratedAt)
	if err != nil {
		return nil, malformed("header: generatedAt: %v", err)
	}
	out := &Head{Host: h.Host, GeneratedAt: gen, ManifestDigest: h.ManifestDigest}
	if h.NotAfter != "" {
		out.NotAfter, _ = time.Parse(time.RFC3339, h.NotAfter)
	}
	if sig != nil {
		out.SignedBy = sig.Key
	}
	return out, nil
}

func (r *Reader) checkHeader() error {
	h := &r.h
	if h.Host == "" {
		return malformed("header: no host")
	}
	if h.UsersLength < 0 || r.bodyOff+h.UsersLength+int64(len(trailer)) != r.size {
		return malformed("header says %d bytes of users, the file holds %d", h.UsersLength, r.size-r.bodyOff-int64(len(trailer)))
	}
	var off int64
	users := 0
	for i, b := range h.Buckets {
		if b.Offset != off || b.Length <= 0 || b.Length > MaxBucketSize || b.Users <= 0 || len(b.SHA256) != 2*sha256.Size {
			return malformed("header: bucket %d is inconsistent", i)
		}
		if !ValidUserName(b.First) || (i > 0 && b.First <= h.Buckets[i-1].First) {
			return malformed("header: bucket %d is out of order", i)
		}
		off += b.Length
		users += b.Users
	}
	if off != h.UsersLength || users != h.Users {
		return malformed("header: buckets cover %d bytes and %d users, not %d and %d", off, users, h.UsersLength, h.Users)
	}
	return nil
}

// Host is the manifest name of the host the snapshot was compiled for.
func (r *Reader) Host() string { return r.h.Host }

// NotAfter is the last instant the snapshot is valid; ok is false when it has no expiry.
func (r *Reader) NotAfter() (t time.Time, ok bool) {
	if r.h.NotAfter == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, r.h.NotAfter)
	return t, err == nil
}

// Expired reports whether the snapshot is past its notAfter at now.
func (r *Reader) Expired(now time.Time) bool {
	t, ok := r.NotAfter()
	return ok && now.After(t)
}

// Signed reports whether the snapshot carries a signature (checked only with a verify key).
func (r *Reader) Signed() bool { return r.signature != nil }

// Lookup returns the entry of the user named name, or nil when the snapshot has none.
func (r *Reader) Lookup(name string) (*User, error) {
	if !ValidUserName(name) {
		return nil, fmt.Errorf("invalid user name %q", name)
	}
	bs := r.h.Buckets
	i := sort.Search(len(bs), func(i int) bool { return bs[i].First > name }) - 1
	if i < 0 {
		return nil, nil
	}
	var found *User
	err := r.eachLine(i, func(line []byte) error {
		if found != nil || !bytes.HasPrefix(line, []byte(userKeyPrefix+name+`",`)) {
			return nil
		}
		u, err := decodeUser(line)
		if err != nil {
			return err
		}
		if u.Name != name {
			return malformed("user %s: entry names %q", name, u.Name)
		}
		found = u
		return nil
	})
	return found, err
}

// eachLine checks bucket i's digest and shape and calls fn with each user line (without its
// ",\n" or "\n").
func (r *Reader) eachLine(i int, fn func(line []byte) error) error {
	b := r.h.Buckets[i]
	buf := make([]byte, b.Length)
	if err := readAt(r.ra, buf, r.bodyOff+b.Offset); err != nil {
		return err
	}
	sum := sha256.Sum256(buf)
	if hex.EncodeToString(sum[:]) != b.SHA256 {
		return malformed("users %s…: digest mismatch (corrupted or tampered)", b.First)
	}
	last := i == len(r.h.Buckets)-1
	for n := 0; n < b.Users; n++ {
		j := bytes.IndexByte(buf, '\n')
		if j < 0 || j > MaxLineSize {
			return malformed("users %s…: short bucket", b.First)
		}
		line := buf[:j]
		buf = buf[j+1:]
		if !(last && n == b.Users-1) {
			var ok bool
			if line, ok = bytes.CutSuffix(line, []byte(",")); !ok {
				return malformed("users %s…: line %d lacks its comma", b.First, n+1)
			}
		}
		if !bytes.HasPrefix(line, []byte(userKeyPrefix)) ||
			(n == 0 && !bytes.HasPrefix(line, []byte(userKeyPrefix+b.First+`",`))) {
			return malformed("users %s…: line %d is not a user entry", b.First, n+1)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if len(buf) != 0 {
		return malformed("users %s…: trailing bytes in bucket", b.First)
	}
	return nil
}

func decodeUser(line []byte) (*User, error) {
	var u User
	if err := strictUnmarshal(line, &u); err != nil {
		return nil, malformed("user entry: %v", err)
	}
	if err := checkUser(u); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &u, nil
}

// Decode reads a whole snapshot: every bucket is checked, every user decoded. Tools and tests
// use it; the AuthorizedKeysCommand path uses Open and Lookup.
func Decode(data []byte, verifyKey ssh.PublicKey) (*Snapshot, error) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), verifyKey)
	if err != nil {
		return nil, err
	}
	gen, err := time.Parse(time.RFC3339, r.h.GeneratedAt)
	if err != nil {
		return nil, malformed("header: generatedAt: %v", err)
	}
	s := &Snapshot{Host: r.h.Host, GeneratedAt: gen, ManifestDigest: r.h.ManifestDigest, Users: []User{}}
	if t, ok := r.NotAfter(); ok {
		s.NotAfter = t
	}
	for i := range r.h.Buckets {
		err := r.eachLine(i, func(line []byte) error {
			u, err := decodeUser(line)
			if err != nil {
				return err
			}
			if n := len(s.Users); n > 0 && s.Users[n-1].Name >= u.Name {
				return malformed("users out of order at %s", u.Name)
			}
			s.Users = append(s.Users, *u)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AuthorizedLines are the lines sshd may use for u at now: none unless the user is present,
// and none of a binding whose last valid day (in now's location) has passed.
func (u *User) AuthorizedLines(now time.Time) []string {
	if u == nil || u.State != StatePresent {
		return nil
	}
	today := now.Format(time.DateOnly)
	var out []string
	for _, k := range u.Keys {
		if k.Expires != "" && today > k.Expires {
			continue
		}
		out = append(out, k.Line)
	}
	return out
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	return b[:i+1], b[i+1:]
}

func cutAround(b []byte, prefix, suffix string) ([]byte, bool) {
	b, ok := bytes.CutPrefix(b, []byte(prefix))
	if !ok {
		return nil, false
	}
	return bytes.CutSuffix(b, []byte(suffix))
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.InputOffset() != int64(len(data)) {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func readAt(ra io.ReaderAt, buf []byte, off int64) error {
	if off < 0 {
		return malformed("too short")
	}
	n, err := ra.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return malformed("too short")
	}
	return err
}
