package winsim

import (
	"errors"
	"fmt"
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
	"regexp"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// Apply is what the APPLY script does, on the model: the same diff-first semantics, the same
// guard against removing the login, the same reverse-order rollback and the same report.
func (h *Host) Apply(loginSID string, set winapply.ChangeSet) winapply.ApplyReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Applied++
	rep := winapply.ApplyReport{FormatVersion: "1", OK: true, Results: []winapply.Result{}, RollbackErrors: []string{}}
	var undo []func() error
	var undoIdx []int
	failed := false
	for _, c := range set.Changes {
		r := winapply.Result{ID: c.ID, Op: c.Op, Status: winapply.Skipped}
		if !failed {
			status, u, err := h.change(loginSID, c)
			switch {
			case err != nil:
				r.Status, r.Error, failed = winapply.Failed, err.Error(), true
			default:
				r.Status = status
				if status == winapply.Done {
					undo = append(undo, u)
					undoIdx = append(undoIdx, len(rep.Results))
				}
			}
		}
		rep.Results = append(rep.Results, r)
	}
	if failed {
		rep.OK = false
		for i := len(undo) - 1; i >= 0; i-- {
			r := &rep.Results[undoIdx[i]]
			if undo[i] == nil {
				r.Status, r.Error = winapply.NotRolledBack, winapply.NotUndoable[r.Op]
				continue
			}
			if err := undo[i](); err != nil {
				r.Status, r.Error = winapply.NotRolledBack, err.Error()
				rep.RollbackErrors = append(rep.RollbackErrors, fmt.Sprintf("change %d: %v", r.ID, err))
				continue
			}
			r.Status = winapply.RolledBack
		}
	}
	return rep
}

var sidRE = regexp.MustCompile(`^S-1-5-[0-9]+(-[0-9]+)*$`)

func (h *Host) change(loginSID string, c winapply.Change) (string, func() error, error) {
	if msg, ok := h.failOn[c.Op+"/"+c.User]; ok {
		delete(h.failOn, c.Op+"/"+c.User)
		return "", nil, errors.New(msg)
	}
	needUser := func() (*User, error) {
		if !hoststate.ValidWinUserName(c.User) {
			return nil, errors.New("invalid user name")
		}
		u := h.user(c.User)
		if u == nil {
			return nil, fmt.Errorf("no user %s", c.User)
		}
		return u, nil
	}
	needGroup := func() (*Group, error) {
		if c.Group != hoststate.SIDAdministrators && c.Group != hoststate.SIDRemoteDesktopUsers {
			return nil, fmt.Errorf("group %s is not managed", c.Group)
		}
		return h.group(c.Group), nil
	}
	switch c.Op {
	case winapply.OpCreateUser:
		if !hoststate.ValidWinUserName(c.User) {
			return "", nil, errors.New("invalid user name")
		}
		if h.user(c.User) != nil {
			return winapply.Unchanged, nil, nil
		}
		if len(c.Description) > 48 {
			return "", nil, errors.New("the description is longer than 48 characters")
		}
		u := h.addUser(c.User, c.FullName, c.Description, c.Password, !c.Disabled)
		return winapply.Done, func() error { h.users = removeUser(h.users, u); return nil }, nil
	case winapply.OpSetUser:
		u, err := needUser()
		if err != nil {
			return "", nil, err
		}
		if u.FullName == c.FullName && u.Description == c.Description {
			return winapply.Unchanged, nil, nil
		}
		of, od := u.FullName, u.Description
		u.FullName, u.Description = c.FullName, c.Description
		return winapply.Done, func() error { u.FullName, u.Description = of, od; return nil }, nil
	case winapply.OpSetPassword:
		u, err := needUser()
		if err != nil {
			return "", nil, err
		}
		u.Password = c.Password
		return winapply.Done, nil, nil
	case winapply.OpEnableUser, winapply.OpDisableUser:
		u, err := needUser()
		if err != nil {
			return "", nil, err
		}
		want := c.Op == winapply.OpEnableUser
		if !want && u.SID == loginSID {
			return "", nil, errors.New("refusing to disable the account accessctl is logged in as")
		}
		if u.Enabled == want {
			return winapply.Unchanged, nil, nil
		}
		u.Enabled = want
		return winapply.Done, func() error { u.Enabled = !want; return nil }, nil
	case winapply.OpRemoveUser:
		if !hoststate.ValidWinUserName(c.User) {
			return "", nil, errors.New("invalid user name")
		}
		u := h.user(c.User)
		if u == nil {
			return winapply.Unchanged, nil, nil
		}
		if u.SID == loginSID {
			return "", nil, errors.New("refusing to remove the account accessctl is logged in as")
		}
		h.users = removeUser(h.users, u)
		for _, g := range h.groups {
			g.Members = remove(g.Members, u.SID)
		}
		return winapply.Done, nil, nil
	case winapply.OpAddMember:
		g, err := needGroup()
		if err != nil {
			return "", nil, err
		}
		u, err := needUser()
		if err != nil {
			return "", nil, err
		}
		if contains(g.Members, u.SID) {
			return winapply.Unchanged, nil, nil
		}
		g.Members = append(g.Members, u.SID)
		sid := u.SID
		return winapply.Done, func() error { g.Members = remove(g.Members, sid); return nil }, nil
	case winapply.OpRemoveMember:
		g, err := needGroup()
		if err != nil {
			return "", nil, err
		}
		if !sidRE.MatchString(c.SID) {
			return "", nil, errors.New("invalid member SID")
		}
		if g.SID == hoststate.SIDAdministrators && c.SID == loginSID {
			return "", nil, errors.New("refusing to remove the account accessctl is logged in as from Administrators")
		}
		if !contains(g.Members, c.SID) {
			return winapply.Unchanged, nil, nil
		}
		g.Members = remove(g.Members, c.SID)
		sid := c.SID
		return winapply.Done, func() error { g.Members = append(g.Members, sid); return nil }, nil
	case winapply.OpWriteKeys:
		var path, owner string
		allowed := []string{hoststate.SIDAdministrators, hoststate.SIDSystem}
		switch c.File {
		case "admin":
			path, owner = hoststate.WinAdminKeysPath, hoststate.SIDAdministrators
		case "user":
			u, err := needUser()
			if err != nil {
				return "", nil, err
			}
			if u.Profile == "" {
				u.Profile = `C:\Users\` + u.Name // CreateProfile
			}
			path, owner = u.Profile+profileKeys, u.SID
			allowed = append(allowed, u.SID)
		default:
			return "", nil, fmt.Errorf("unknown key file %q", c.File)
		}
		return h.writeFile(path, c.Content, owner, allowed, c.FixACL)
	case winapply.OpWriteState:
		return h.writeFile(hoststate.WinStatePath, c.Content, hoststate.SIDAdministrators, []string{hoststate.SIDAdministrators, hoststate.SIDSystem}, false)
	}
	return "", nil, fmt.Errorf("unknown change %s", c.Op)
}

func (h *Host) writeFile(path, content, owner string, acl []string, fixACL bool) (string, func() error, error) {
	key := strings.ToLower(path)
	old := h.files[key]
	if old != nil && old.Content == content && old.Protected && !fixACL {
		return winapply.Unchanged, nil, nil
	}
	h.files[key] = &File{Content: content, Owner: owner, ACL: acl, Protected: true}
	return winapply.Done, func() error {
		if old == nil {
			delete(h.files, key)
		} else {
			h.files[key] = old
		}
		return nil
	}, nil
}

func removeUser(us []*User, u *User) []*User {
	out := us[:0]
	for _, x := range us {
		if x != u {
			out = append(out, x)
		}
	}
	return out
}
