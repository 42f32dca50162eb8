package winrm

import (
	"fmt"
	"strings"
)

// Environment variables that hold WinRM credentials. The per-host pair wins over the default
// pair; the host part is the manifest host name upper-cased with every character that is not a
// letter or digit replaced by "_" (web-1.example → WEB_1_EXAMPLE).
const (
	EnvUser     = "ACCESSCTL_WINRM_USER"
	EnvPassword = "ACCESSCTL_WINRM_PASSWORD"
)

// EnvSuffix is the host part of the per-host variable names.
func EnvSuffix(host string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(host) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Credentials reads the WinRM user and password for host through lookupEnv (os.LookupEnv):
// ACCESSCTL_WINRM_USER_<HOST> and ACCESSCTL_WINRM_PASSWORD_<HOST> when the user variable is set,
// else ACCESSCTL_WINRM_USER and ACCESSCTL_WINRM_PASSWORD. Errors name variables, never values.
func Credentials(host string, lookupEnv func(string) (string, bool)) (user, password string, err error) {
	sfx := "_" + EnvSuffix(host)
	if u, ok := lookupEnv(EnvUser + sfx); ok && u != "" {
		p, ok := lookupEnv(EnvPassword + sfx)
		if !ok {
			return "", "", fmt.Errorf("%s is set but %s is not", EnvUser+sfx, EnvPassword+sfx)
		}
		return u, p, nil
	}
	if u, ok := lookupEnv(EnvUser); ok && u != "" {
		p, ok := lookupEnv(EnvPassword)
		if !ok {
			return "", "", fmt.Errorf("%s is set but %s is not", EnvUser, EnvPassword)
		}
		return u, p, nil
	}
	return "", "", fmt.Errorf("no WinRM credentials for %s: set %s and %s (or %s and %s)",
		host, EnvUser+sfx, EnvPassword+sfx, EnvUser, EnvPassword)
}
