package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFile bounds a password file; a password is at most a few hundred bytes.
const maxSecretFile = 64 << 10

// Secret returns the plaintext of an env or file password, read now. lookupEnv is os.LookupEnv
// in production. Errors name the variable or file, never the content.
func (m *Manifest) Secret(p *Password, lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case p == nil:
		return "", fmt.Errorf("no password")
	case p.Env != "":
		v, ok := lookupEnv(p.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", p.Env)
		}
		return v, nil
	case p.File != "":
		path := p.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(m.Dir, path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("password file %s: %w", p.File, unwrapPathErr(err))
		}
		if fi.Size() > maxSecretFile {
			return "", fmt.Errorf("password file %s is larger than %d bytes", p.File, maxSecretFile)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("password file %s: %w", p.File, unwrapPathErr(err))
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return "", fmt.Errorf("password is given as a hash")
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
