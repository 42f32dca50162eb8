package reconcile

import (
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// KeyView is how a plan shows one authorized key: Before/After of an authorized_keys change is
// a []KeyView. Keypair is the manifest's name for the key ("" when the manifest does not know it).
type KeyView struct {
	Keypair     string `json:"keypair,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type"`
	Options     string `json:"options,omitempty"`
	Comment     string `json:"comment,omitempty"`
	File        string `json:"file"`
}

// UserView is how a plan shows an account's attributes (Before/After of a user change).
type UserView struct {
	UID      *int     `json:"uid,omitempty"`
	Shell    string   `json:"shell,omitempty"`
	FullName string   `json:"fullName,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	State    string   `json:"state,omitempty"` // active | locked | absent
	Home     string   `json:"home,omitempty"`  // delete: kept | removed
}

// SudoView is how a plan shows one user's sudo right: the sudoers rule and where it is.
type SudoView struct {
	Rule string `json:"rule"`
	File string `json:"file"`
}

// SshdView is how a plan shows one sshd setting: the effective value and where it is set.
type SshdView struct {
	Value string `json:"value"`
	Where string `json:"where,omitempty"`
}

// keyViews describes the keys of an authorized_keys text found (or to be written) at file.
// names maps fingerprints to the manifest's key pair names.
func keyViews(text, file string, names map[string]string) []KeyView {
	parsed, _ := hoststate.ParseAuthorizedKeys(text)
	out := make([]KeyView, 0, len(parsed))
	for _, k := range parsed {
		out = append(out, KeyView{
			Keypair: names[k.Fingerprint], Fingerprint: k.Fingerprint, Type: k.Type,
			Options: strings.Join(k.Options, ","), Comment: k.Comment, File: file,
		})
	}
	return out
}
