package reconcile

import (
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Guard states what a host's plan does to accessctl's own way in (policy rule `lockout`). It
// is computed from the changes' Ops only (the operations that will run), never from the text
// shown to people, at plan time and again by apply.
type Guard struct {
	Login              string `json:"login"`
	LoginUserRemoved   bool   `json:"loginUserRemoved"`
	LoginKeysRemoved   bool   `json:"loginKeysRemoved"`
	LoginSudoRemoved   bool   `json:"loginSudoRemoved"`
	PubkeyAuthDisabled bool   `json:"pubkeyAuthDisabled"`
}

// Any reports whether the plan takes any part of accessctl's way in away.
func (g Guard) Any() bool {
	return g.LoginUserRemoved || g.LoginKeysRemoved || g.LoginSudoRemoved || g.PubkeyAuthDisabled
}

// allOps lists the ops of changes in order.
func allOps(changes []Change) []Op {
	var ops []Op
	for _, c := range changes {
		ops = append(ops, c.Ops...)
	}
	return ops
}

// LinuxGuard judges the ops of a Linux host's changes against accessctl's login (its user, the
// keys it authenticated with, given as SHA256 fingerprints, its sudo, and sshd public key
// authentication). liveSudoers is accessctl's sudoers drop-in as read: only the grant there can
// be judged (a group rule elsewhere is not accessctl's to remove).
func LinuxGuard(changes []Change, liveSudoers hoststate.File, login string, loginKeys []string) Guard {
	g := Guard{Login: login}
	if login == "" {
		return g
	}
	liveLevel, _ := sudoLevels(liveSudoers)
	_, hadSudo := liveLevel[login]
	for _, op := range allOps(changes) {
		switch op.Kind {
		case OpUserDel, OpLock:
			if op.User == login {
				g.LoginUserRemoved = true
			}
		case OpDelGroups:
			// A group may be what grants the login sudo (%sudo, %wheel): never taken away.
			if op.User == login {
				g.LoginSudoRemoved = true
			}
		case OpKeys, OpKeyFile:
			if op.User == login && op.Content != nil && len(loginKeys) > 0 && !holdsAny(*op.Content, loginKeys) {
				g.LoginKeysRemoved = true
			}
		case OpSudoers:
			if hadSudo && op.Content != nil {
				lv, _ := sudoLevels(hoststate.File{Kind: hoststate.KindFile, Content: *op.Content})
				if lv[login] == "" || lv[login] == manifest.SudoNone {
					g.LoginSudoRemoved = true
				}
			}
		case OpSudoersRemove:
			if hadSudo {
				g.LoginSudoRemoved = true
			}
		case OpSshd:
			if op.Sshd != nil && op.Sshd.Expect["pubkeyauthentication"] == "no" {
				g.PubkeyAuthDisabled = true
			}
		case OpPull:
			if op.Pull != nil {
				for _, u := range op.Pull.RemoveKeys {
					if u == login {
						g.LoginKeysRemoved = true
					}
				}
			}
		}
	}
	if g.LoginUserRemoved {
		g.LoginKeysRemoved = true
		if login != "root" {
			g.LoginSudoRemoved = true
		}
	}
	return g
}

// WindowsGuard judges the ops of a Windows host's changes against accessctl's login account
// (by name, as the host reported the login's SID), its Administrators membership and, over
// SSH, the keys it logged in with (loginAdmin: sshd reads the login's keys from
// administrators_authorized_keys, as it does for administrators under the default config;
// otherwise from its own profile's file).
func WindowsGuard(changes []Change, login string, loginAdmin bool, loginKeys []string) Guard {
	g := Guard{Login: login}
	if login == "" {
		return g
	}
	for _, op := range allOps(changes) {
		if op.Kind != OpWindows || op.Windows == nil {
			continue
		}
		c := op.Windows.Change
		mine := strings.EqualFold(c.User, login)
		switch c.Op {
		case winapply.OpRemoveUser, winapply.OpDisableUser:
			if mine {
				g.LoginUserRemoved, g.LoginSudoRemoved, g.LoginKeysRemoved = true, true, true
			}
		case winapply.OpRemoveMember:
			if mine && c.Group == hoststate.SIDAdministrators {
				g.LoginSudoRemoved = true
			}
		case winapply.OpWriteKeys:
			if c.File == "admin" && loginAdmin && len(loginKeys) > 0 && !holdsAny(c.Content, loginKeys) {
				g.LoginKeysRemoved = true
			}
			if c.File == "user" && mine && len(loginKeys) > 0 && !holdsAny(c.Content, loginKeys) {
				g.LoginKeysRemoved = true
			}
		}
	}
	return g
}

func holdsAny(text string, fps []string) bool {
	keys, _ := hoststate.ParseAuthorizedKeys(text)
	for _, k := range keys {
		for _, f := range fps {
			if k.Fingerprint == f {
				return true
			}
		}
	}
	return false
}
