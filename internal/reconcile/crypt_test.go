package reconcile

import (
	"os/exec"
	"strings"
	"testing"
)

// Vectors from Drepper's "Unix crypt using SHA-256 and SHA-512" specification.
func TestSHA512CryptVectors(t *testing.T) {
	cases := []struct {
		salt     string
		rounds   int
		pw, want string
	}{
		{"saltstring", 0, "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"saltstringsaltstring", 10000, "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"toolongsaltstring", 5000, "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"roundstoolow", 10, "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	}
	for _, c := range cases {
		if got := SHA512Crypt(c.pw, c.salt, c.rounds); got != c.want {
			t.Errorf("salt %s: got %s", c.salt, got)
		}
		if !VerifyCrypt(c.want, c.pw) || VerifyCrypt(c.want, c.pw+"x") {
			t.Errorf("verify %s", c.salt)
		}
	}
}

func TestSHA512CryptOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	for _, pw := range []string{"x", "correct horse battery staple", strings.Repeat("long!", 40), "ünïcode pässwörd"} {
		out, err := exec.Command("openssl", "passwd", "-6", "-salt", "abcdEFGH12345678", pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := SHA512Crypt(pw, "abcdEFGH12345678", 0), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%q: got %s want %s", pw, got, want)
		}
	}
	h, err := NewSHA512Hash("s3cret")
	if err != nil || !VerifyCrypt(h, "s3cret") || !VerifyCrypt("!"+h, "s3cret") {
		t.Errorf("fresh hash %s does not verify", h)
	}
	if VerifyCrypt("$y$j9T$abc$def", "s3cret") || VerifyCrypt("*", "") {
		t.Error("unverifiable hash verified")
	}
}
