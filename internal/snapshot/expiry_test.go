package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNotAfter: a snapshot past its notAfter yields no key and exit 1; before it, it answers;
// the field is signed, so moving it invalidates the signature.
func TestNotAfter(t *testing.T) {
	signer, _, pub := testKey(t)
	s := sample()
	s.NotAfter = time.Date(2026, 5, 31, 10, 0, 0, 0, time.UTC)
	data, err := Encode(s, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"generatedAt":"2026-05-01T10:00:00Z","notAfter":"2026-05-31T10:00:00Z",`)) {
		t.Fatalf("header: %s", data[:200])
	}
	dir := t.TempDir()
	snap := filepath.Join(dir, "s.json")
	pubFile := filepath.Join(dir, "s.pub")
	if err := os.WriteFile(snap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(now time.Time) (int, string, string) {
		var out, errb bytes.Buffer
		code := AuthorizedKeys([]string{"--snapshot", snap, "--verify-key", pubFile, "alice"}, &out, &errb, now)
		return code, out.String(), errb.String()
	}
	if code, out, _ := run(s.NotAfter); code != ExitOK || !strings.Contains(out, keyA) {
		t.Errorf("at notAfter: exit %d %q", code, out)
	}
	if code, out, errOut := run(s.NotAfter.Add(time.Second)); code != ExitFailed || out != "" || !strings.Contains(errOut, "expired at 2026-05-31T10:00:00Z") {
		t.Errorf("after notAfter: exit %d %q %q", code, out, errOut)
	}

	// Decode and ParseHead carry it.
	d, err := Decode(data, signer.PublicKey())
	if err != nil || !d.NotAfter.Equal(s.NotAfter) {
		t.Errorf("decode: %v %v", d.NotAfter, err)
	}
	h, err := ParseHead(data)
	if err != nil || !h.NotAfter.Equal(s.NotAfter) || h.Host != "web-1" || h.SignedBy == "" || !h.GeneratedAt.Equal(s.GeneratedAt) {
		t.Errorf("head: %+v %v", h, err)
	}

	// Pushing notAfter back (or removing it) breaks the signature.
	for _, forged := range [][]byte{
		bytes.Replace(data, []byte(`"notAfter":"2026-05-31T10:00:00Z"`), []byte(`"notAfter":"2099-05-31T10:00:00Z"`), 1),
		bytes.Replace(data, []byte(`"notAfter":"2026-05-31T10:00:00Z",`), nil, 1),
	} {
		if _, err := Decode(forged, signer.PublicKey()); err == nil {
			t.Error("a forged notAfter verified")
		}
	}
	// A malformed notAfter is refused.
	bad := bytes.Replace(data, []byte(`"notAfter":"2026-05-31T10:00:00Z"`), []byte(`"notAfter":"tomorrow"`), 1)
	if _, err := Decode(bad, nil); err == nil {
		t.Error("malformed notAfter accepted")
	}
	// Without notAfter the header is as before (no field at all).
	s.NotAfter = time.Time{}
	plain, _ := Encode(s, nil)
	if bytes.Contains(plain, []byte("notAfter")) {
		t.Error("notAfter written for a snapshot without expiry")
	}
}
