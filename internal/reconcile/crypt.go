package reconcile

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
)

// SHA-512 crypt ($6$), as glibc's crypt(3) and `openssl passwd -6` make it. Implemented here
// (about 80 lines, following Ulrich Drepper's specification) rather than pulling in a library
// for one function; crypt_test.go checks it against the specification's vectors and openssl.

const (
	cryptAlphabet      = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sha512RoundsDef    = 5000
	sha512RoundsMin    = 1000
	sha512RoundsMax    = 999999999
	sha512SaltMax      = 16
	sha512RoundsPrefix = "rounds="
)

// SHA512Crypt hashes password with salt (at most 16 characters are used) and rounds (0 means
// the default 5000, which is then left out of the result, as crypt(3) does).
func SHA512Crypt(password, salt string, rounds int) string {
	explicit := rounds != 0
	if rounds == 0 {
		rounds = sha512RoundsDef
	}
	rounds = min(max(rounds, sha512RoundsMin), sha512RoundsMax)
	if len(salt) > sha512SaltMax {
		salt = salt[:sha512SaltMax]
	}
	pw, s := []byte(password), []byte(salt)

	b := sha512.New()
	b.Write(pw)
	b.Write(s)
	b.Write(pw)
	bsum := b.Sum(nil)

	a := sha512.New()
	a.Write(pw)
	a.Write(s)
	for n := len(pw); n > 0; n -= 64 {
		a.Write(bsum[:min(n, 64)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(bsum)
		} else {
			a.Write(pw)
		}
	}
	asum := a.Sum(nil)

	dp := sha512.New()
	for range len(pw) {
		dp.Write(pw)
	}
	p := repeatTo(dp.Sum(nil), len(pw))

	ds := sha512.New()
	for range 16 + int(asum[0]) {
		ds.Write(s)
	}
	sb := repeatTo(ds.Sum(nil), len(s))

	c := asum
	for i := range rounds {
		h := sha512.New()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sb)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$")
	if explicit {
		out.WriteString(sha512RoundsPrefix + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt)
	out.WriteByte('$')
	order := [][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54},
		{34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60},
		{40, 61, 19}, {62, 20, 41},
	}
	for _, o := range order {
		b64From24(&out, c[o[0]], c[o[1]], c[o[2]], 4)
	}
	b64From24(&out, 0, 0, c[63], 2)
	return out.String()
}

func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

func b64From24(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// NewSHA512Hash hashes password with a fresh random 16-character salt and the default rounds.
func NewSHA512Hash(password string) (string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	salt := make([]byte, 16)
	for i, r := range raw {
		salt[i] = cryptAlphabet[int(r)%len(cryptAlphabet)]
	}
	return SHA512Crypt(password, string(salt), 0), nil
}

// VerifyCrypt reports whether hash (a shadow password field, possibly with a lock "!") is
// password. Only $6$ can be checked here; any other scheme reports false, so the password is
// set again (as $6$).
func VerifyCrypt(hash, password string) bool {
	hash = strings.TrimLeft(hash, "!")
	if !strings.HasPrefix(hash, "$6$") {
		return false
	}
	rest := hash[3:]
	rounds := 0
	if strings.HasPrefix(rest, sha512RoundsPrefix) {
		r, after, ok := strings.Cut(rest[len(sha512RoundsPrefix):], "$")
		n, err := strconv.Atoi(r)
		if !ok || err != nil {
			return false
		}
		rounds, rest = n, after
	}
	salt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	got := SHA512Crypt(password, salt, rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}
