// Package names holds the one definition of the account and group names accessctl accepts.
// Every stage checks names with it: the manifest loader, the host readers, the script writers
// and the lean accessctl-keys plug-in (so it imports nothing, not even regexp: start-up time).
package names

// UserPattern is the manifest's user and group name pattern (useradd's portable names,
// lower case): a letter or underscore, then letters, digits, underscores and dashes, at most
// 32 characters. It needs no quoting in a shell or JSON.
const UserPattern = `^[a-z_][a-z0-9_-]{0,31}$`

// MaxWindowsUser is the longest local account name Windows allows.
const MaxWindowsUser = 20

// User reports whether name matches UserPattern.
func User(name string) bool { return valid(name, 32) }

// Group reports whether name is a group name accessctl creates or joins (UserPattern).
func Group(name string) bool { return valid(name, 32) }

// WindowsUser reports whether name matches UserPattern and fits Windows' 20 characters.
func WindowsUser(name string) bool { return valid(name, MaxWindowsUser) }

func valid(name string, max int) bool {
	if len(name) == 0 || len(name) > max {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}
