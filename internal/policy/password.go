package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	zxcvbn "github.com/ccojocar/zxcvbn-go"

	"github.com/accessctl/accessctl/internal/manifest"
)

// maxScoredRunes bounds the prefix zxcvbn looks at: its matching grows fast with length, and a
// password longer than this that is still guessable is guessable in its prefix too.
const maxScoredRunes = 64

// passwordStrengths reads each user's env or file password and returns, by user index, the
// password document the policies see. The plaintext lives only inside strength.
func passwordStrengths(m *manifest.Manifest, lookupEnv func(string) (string, bool)) []map[string]any {
	out := make([]map[string]any, len(m.Users))
	parallel(len(m.Users), func(i int) {
		u := &m.Users[i]
		if u.Password == nil {
			return
		}
		d := map[string]any{"source": u.Password.Source()}
		out[i] = d
		if u.Password.Hash != "" {
			return
		}
		pw, err := m.Secret(u.Password, lookupEnv)
		if err != nil {
			// Secret's errors name the variable or file, never the content.
			d["unreadable"] = err.Error()
			return
		}
		d["strength"] = strength(pw, u.Name, u.FullName)
	})
	return out
}

// strength reduces a password to the facts the weak-password rule judges.
func strength(pw, name, fullName string) map[string]any {
	var lower, upper, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsLetter(r):
			special = true
		}
	}
	inputs := []string{name}
	if fullName != "" {
		inputs = append(inputs, fullName)
		inputs = append(inputs, strings.Fields(fullName)...)
	}
	scored := pw
	if utf8.RuneCountInString(pw) > maxScoredRunes {
		scored = string([]rune(pw)[:maxScoredRunes])
	}
	return map[string]any{
		"length":       utf8.RuneCountInString(pw),
		"lower":        lower,
		"upper":        upper,
		"digit":        digit,
		"special":      special,
		"containsName": name != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(name)),
		"score":        zxcvbn.PasswordStrength(scored, inputs).Score,
	}
}
