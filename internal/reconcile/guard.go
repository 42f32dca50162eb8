package reconcile

import (
	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// guardFor states what the plan does to accessctl's own way in: its login user, the keys it
// logged in with, its sudo (only the grant in accessctl's drop-in can be judged), and sshd
// public key authentication.
func guardFor(d *Desired, live *hoststate.Linux, o Options, changes []Change, ops *hostOps) Guard {
	g := Guard{Login: o.Login}
	if o.Login == "" {
		return g
	}
	for _, c := range changes {
		switch {
		case c.Resource == ResUser && c.Name == o.Login && (c.Action == Delete || c.After == "locked"):
			g.LoginUserRemoved = true
		case c.Resource == ResSudo && c.Name == o.Login && c.Action == Delete:
			g.LoginSudoRemoved = true
		case c.Resource == ResSshd && c.Name == "pubkeyauthentication" && c.After == "no":
			g.PubkeyAuthDisabled = true
		}
	}
	if g.LoginUserRemoved && o.Login != "root" {
		g.LoginSudoRemoved = true
	}
	for _, du := range d.Users {
		if du.Name == o.Login && du.State == manifest.StateLocked {
			g.LoginUserRemoved = true
		}
	}
	// Keys: judged from the file as it will be.
	for _, u := range ops.Users {
		if u.Name != o.Login {
			continue
		}
		if u.Delete {
			g.LoginKeysRemoved = true
		}
		if u.Keys != nil && len(o.LoginKeys) > 0 {
			g.LoginKeysRemoved = !holdsAny(*u.Keys, o.LoginKeys)
		}
	}
	if g.LoginUserRemoved {
		g.LoginKeysRemoved = true
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
