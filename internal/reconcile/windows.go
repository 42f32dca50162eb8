package reconcile

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
)

// Windows hosts: the same desired state (DesiredFor), the same Change records and the same
// Result as Linux; the host side is hoststate's READ and APPLY scripts.
//
// Mapping (SPEC §1, §6): a desired user is a local account; sudo true/nopasswd means membership
// of Administrators (S-1-5-32-544, resource "sudo"), rdp of Remote Desktop Users (S-1-5-32-555,
// resource "group_membership"); state locked disables the account, absent removes it. Keys of
// administrators go to C:\ProgramData\ssh\administrators_authorized_keys (keys accessctl did not
// install there are kept), of others to %USERPROFILE%\.ssh\authorized_keys.

// winDescription marks the accounts accessctl creates (Windows allows 48 characters).
const winDescription = "managed by accessctl"

// pbkdf2Iter is the cost of a password stamp in state.json.
const pbkdf2Iter = 60000

// PlanWindowsHost reads Windows host h over conn (a WinRM Conn, or winrm.PowerShell over SSH)
// and plans it. It never fails: a host that cannot be read or planned gets status "error".
func PlanWindowsHost(ctx context.Context, m *manifest.Manifest, h manifest.Host, path string, conn transport.Conn, o Options) *HostPlan {
	d, err := DesiredFor(m, h)
	if err != nil {
		return ErrorPlan(h, path, err)
	}
	var users []string
	for _, u := range m.Users {
		if hoststate.ValidWinUserName(u.Name) {
			users = append(users, u.Name)
		}
	}
	live, err := hoststate.ReadWindows(ctx, conn, users)
	if err != nil {
		return ErrorPlan(h, path, fmt.Errorf("read host: %w", err))
	}
	hp := PlanWindows(m, d, live, path, o)
	if hp.Apply != nil {
		hp.Apply.ReadUsers = users
	}
	return hp
}

// PlanWindows compares a Windows host's live state with what the manifest wants there.
func PlanWindows(m *manifest.Manifest, d *Desired, live *hoststate.Windows, path string, o Options) *HostPlan {
	hp := &HostPlan{Name: d.Host.Name, Path: path, Status: StatusOK, Fingerprint: live.Fingerprint, Changes: []Change{},
		Live: &hoststate.State{OS: "windows", Windows: live}}
	rec, err := planWindows(m, d, live, o, hp)
	if err != nil {
		hp.Status, hp.Error, hp.Changes = StatusError, err.Error(), []Change{}
		return hp
	}
	if len(hp.Changes) > 0 {
		hp.Apply = &HostApply{Host: d.Host, WinRecord: rec}
	}
	return hp
}

// planWindows adds the changes of a Windows host to hp, each carrying its windows.change ops
// numbered in the order APPLY makes them, and returns the state record as it will be.
func planWindows(m *manifest.Manifest, d *Desired, live *hoststate.Windows, o Options, hp *HostPlan) (*hoststate.WinRecord, error) {
	if live.RecordError != "" {
		return nil, fmt.Errorf("accessctl's state file is unusable: %s", live.RecordError)
	}
	admins := live.Group(hoststate.SIDAdministrators)
	rdp := live.Group(hoststate.SIDRemoteDesktopUsers)
	rec := copyWinRecord(live.Record)
	// Each op belongs to the change added right after it; phase orders APPLY (accounts and
	// grants first, then keys, then disabling and removing grants, then removing accounts).
	const (
		first = iota
		keyOps
		later
		removals
	)
	type queued struct {
		phase, seq int
		op         *WindowsOp
	}
	var all []queued
	var pending []Op
	secrets := map[string]*SecretRef{}
	op := func(phase int, c hoststate.WinChange) *WindowsOp {
		wo := &WindowsOp{Change: c}
		if ref := secrets[c.User]; ref != nil && (c.Op == hoststate.WinOpCreateUser || c.Op == hoststate.WinOpSetPassword) {
			wo.Secret, wo.Stamp = ref, rec.Passwords[c.User]
		}
		all = append(all, queued{phase, len(all), wo})
		pending = append(pending, Op{Kind: OpWindows, Windows: wo})
		return wo
	}
	add := func(a Action, res, name, reason string, before, after any) {
		hp.Changes = append(hp.Changes, Change{Host: hp.Name, Action: a, Resource: res, Name: name, Reason: reason, Before: before, After: after, Ops: pending})
		pending = nil
	}
	groupWord := func(g *hoststate.WinGroup) string { return fmt.Sprintf("%s (%s)", g.Name, g.SID) }

	desiredAdmin := map[string]bool{}
	var adminKeys []desiredKey
	var adminNames []string             // desired administrators
	adminOwner := map[string][]string{} // admin key fingerprint -> the administrators it is bound to
	for _, du := range d.Users {
		name := du.Name
		if !hoststate.ValidWinUserName(name) {
			return nil, fmt.Errorf("user %s: a Windows account name has at most %d characters", name, hoststate.WinMaxUserName)
		}
		admin := du.Sudo != "" && du.Sudo != manifest.SudoNone
		desiredAdmin[name] = admin
		enabled := du.State != manifest.StateLocked
		hasSecret := false
		if du.Password != nil {
			if du.Password.Hash != "" {
				return nil, fmt.Errorf("user %s: a password hash cannot be set on Windows; give the password by env or file", name)
			}
			lookup := o.LookupEnv
			if lookup == nil {
				lookup = func(string) (string, bool) { return "", false }
			}
			// Read it now, so a missing variable fails the plan, not the apply.
			pw, err := m.Secret(du.Password, lookup)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", name, err)
			}
			ref := &SecretRef{Env: du.Password.Env}
			if f := du.Password.File; f != "" {
				if !filepath.IsAbs(f) {
					f = filepath.Join(m.Dir, f)
				}
				if abs, err := filepath.Abs(f); err == nil {
					f = abs
				}
				ref.File = f
			}
			secrets[name] = ref
			hasSecret = true
			old := live.Record.Passwords[name]
			if verifyStamp(old, pw) {
				rec.Passwords[name] = old
			} else {
				stamp, err := newStamp(pw)
				if err != nil {
					return nil, err
				}
				rec.Passwords[name] = stamp
			}
			if lu := live.User(name); lu != nil && !verifyStamp(old, pw) {
				why := "the password was not set by accessctl"
				if old != "" {
					why = "the manifest's password differs from the one accessctl set"
				}
				op(first, hoststate.WinChange{Op: hoststate.WinOpSetPassword, User: name})
				add(Update, ResPassword, name, why, "differs", "set")
			}
		}
		lu := live.User(name)
		if lu == nil {
			op(first, hoststate.WinChange{Op: hoststate.WinOpCreateUser, User: name, FullName: du.FullName, Description: winDescription, Disabled: !enabled})
			state := "enabled"
			if !enabled {
				state = "locked"
			}
			how := "without a password"
			if hasSecret {
				how = "with the manifest's password"
			}
			add(Create, ResUser, name, fmt.Sprintf("%s is desired on %s; local account created %s", name, d.Host.Name, how), "", state)
			rec.Created = appendUnique(rec.Created, name)
		} else {
			if lu.FullName != du.FullName {
				op(first, hoststate.WinChange{Op: hoststate.WinOpSetUser, User: name, FullName: du.FullName, Description: lu.Description})
				add(Update, ResUser, name, "full name differs", orNone(lu.FullName), orNone(du.FullName))
			}
			switch {
			case enabled && !lu.Enabled:
				op(first, hoststate.WinChange{Op: hoststate.WinOpEnableUser, User: name})
				add(Update, ResUser, name, fmt.Sprintf("%s is disabled; the manifest says present", name), "disabled", "enabled")
			case !enabled && lu.Enabled:
				op(later, hoststate.WinChange{Op: hoststate.WinOpDisableUser, User: name})
				add(Update, ResUser, name, fmt.Sprintf("%s is locked in the manifest: the account is disabled", name), "enabled", "locked")
			}
		}
		sid := ""
		if lu != nil {
			sid = lu.SID
		}
		member := func(g *hoststate.WinGroup, want bool, res, what string) {
			has := sid != "" && g.HasMember(sid)
			switch {
			case want && !has:
				op(first, hoststate.WinChange{Op: hoststate.WinOpAddMember, User: name, Group: g.SID})
				add(Create, res, memberName(res, name, g), fmt.Sprintf("%s %s in the manifest: member of %s", name, what, groupWord(g)), "", g.SID)
			case !want && has:
				op(later, hoststate.WinChange{Op: hoststate.WinOpRemoveMember, User: name, Group: g.SID, SID: sid})
				add(Delete, res, memberName(res, name, g), fmt.Sprintf("%s is a member of %s; the manifest does not grant it", name, groupWord(g)), g.SID, "")
			}
		}
		member(admins, admin, ResSudo, "has sudo")
		member(rdp, du.RDP, ResGroup, "has rdp")

		if !d.PushKeys {
			continue
		}
		rec.Keys[name] = installed(du.Keys)
		if admin {
			adminKeys = append(adminKeys, du.Keys...)
			adminNames = append(adminNames, name)
			for _, k := range du.Keys {
				adminOwner[k.Fingerprint] = append(adminOwner[k.Fingerprint], name)
			}
			continue
		}
		cur := hoststate.WinKeyFile{Kind: hoststate.KindAbsent}
		if f, ok := live.UserKeys[name]; ok {
			cur = f
		}
		if len(du.Keys) == 0 && cur.Kind != hoststate.KindFile {
			continue
		}
		want := authorizedKeysText(du.Keys)
		if reason, a, fix, ok := winKeysChange(name, want, cur); !ok {
			op(keyOps, hoststate.WinChange{Op: hoststate.WinOpWriteKeys, User: name, File: "user", Content: want, FixACL: fix})
			add(a, ResKeys, name, reason, keyCount(cur), plural(len(du.Keys), "key", "keys"))
		}
	}

	// Accounts to remove: absent in the manifest, or created by accessctl and no longer desired.
	desired := map[string]bool{}
	for _, du := range d.Users {
		desired[du.Name] = true
	}
	var gone []string
	for _, u := range live.Users {
		name := strings.ToLower(u.Name)
		_, absent := d.Absent[name]
		if desired[name] || !(absent || rec.CreatedUser(name)) {
			continue
		}
		if !hoststate.ValidWinUserName(name) {
			continue
		}
		op(removals, hoststate.WinChange{Op: hoststate.WinOpRemoveUser, User: name})
		why := fmt.Sprintf("%s is absent in the manifest", name)
		if !absent {
			why = fmt.Sprintf("accessctl created %s, and no group of %s lists it now", name, d.Host.Name)
		}
		add(Delete, ResUser, name, why+"; the profile directory is kept", "present", "")
		gone = append(gone, name)
	}
	for _, name := range gone {
		rec.Created = removeString(rec.Created, name)
		delete(rec.Keys, name)
		delete(rec.Passwords, name)
	}

	// administrators_authorized_keys: the desired admins' keys, plus keys accessctl did not
	// install (the login's own key, say), which it never removes.
	if d.PushKeys {
		mine := map[string]bool{}
		for _, ks := range live.Record.Keys {
			for _, k := range ks {
				mine[k.Fingerprint] = true
			}
		}
		wantFP := map[string]bool{}
		for _, k := range adminKeys {
			wantFP[k.Fingerprint] = true
		}
		var foreign []desiredKey
		if live.AdminKeys.Kind == hoststate.KindFile {
			parsed, _ := hoststate.ParseAuthorizedKeys(live.AdminKeys.Content)
			for _, k := range parsed {
				if !mine[k.Fingerprint] && !wantFP[k.Fingerprint] {
					foreign = append(foreign, desiredKey{Fingerprint: k.Fingerprint, Line: k.Line})
					wantFP[k.Fingerprint] = true
				}
			}
		}
		hp.Findings = append(hp.Findings, windowsAdminKeyFindings(adminNames, adminOwner, foreign)...)
		all := append(foreign, dedupeKeys(adminKeys)...)
		if len(all) > 0 || live.AdminKeys.Kind == hoststate.KindFile {
			want := authorizedKeysText(all)
			if reason, a, fix, ok := winKeysChange("administrators", want, live.AdminKeys); !ok {
				op(keyOps, hoststate.WinChange{Op: hoststate.WinOpWriteKeys, File: "admin", Content: want, FixACL: fix})
				if len(foreign) > 0 {
					reason += fmt.Sprintf("; %s not installed by accessctl kept", plural(len(foreign), "key", "keys"))
				}
				add(a, ResKeys, "administrators_authorized_keys", reason, keyCount(live.AdminKeys), plural(len(all), "key", "keys"))
			}
		}
	}
	hp.Guard = WindowsGuard(hp.Changes, windowsLogin(live), live.Group(hoststate.SIDAdministrators).HasMember(live.Login.SID), o.LoginKeys)

	// Unmanaged human accounts.
	for _, u := range live.Users {
		n := strings.ToLower(u.Name)
		if u.Human() && !d.Named[n] && !live.Record.CreatedUser(n) && u.SID != live.Login.SID {
			hp.Unmanaged = append(hp.Unmanaged, u.Name)
		}
	}
	sort.Strings(hp.Unmanaged)

	// Number the changes in the order APPLY makes them.
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].phase != all[j].phase {
			return all[i].phase < all[j].phase
		}
		return all[i].seq < all[j].seq
	})
	for i, q := range all {
		q.op.Change.ID = i + 1
	}
	return &rec, nil
}

// winLogin is the lower-case name of the account the host says accessctl logged in as.
func windowsLogin(live *hoststate.Windows) string {
	for _, u := range live.Users {
		if u.SID == live.Login.SID {
			return strings.ToLower(u.Name)
		}
	}
	return ""
}

func memberName(res, user string, g *hoststate.WinGroup) string {
	if res == ResSudo {
		return user
	}
	return user + ":" + g.SID
}

// winKeysChange says whether a key file holds want with the ACL OpenSSH requires; when not, why,
// with which action, and whether only the ACL is wrong.
func winKeysChange(who, want string, f hoststate.WinKeyFile) (reason string, a Action, fixACL, ok bool) {
	switch f.Kind {
	case hoststate.KindAbsent, hoststate.KindNoProfile, "":
		return fmt.Sprintf("authorized_keys for %s: file to create", who), Create, false, false
	case hoststate.KindFile:
	default:
		return fmt.Sprintf("authorized_keys for %s is a %s; apply replaces it with a file", who, f.Kind), Update, true, false
	}
	if normalizeEOL(f.Content) != want {
		return fmt.Sprintf("authorized_keys for %s differs from the manifest", who), Update, !f.ACLOK, false
	}
	if !f.ACLOK {
		return fmt.Sprintf("authorized_keys for %s: its ACL is not what OpenSSH for Windows requires (%s)", who, strings.Join(f.ACL, ", ")), Update, true, false
	}
	return "", "", false, true
}

func normalizeEOL(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func keyCount(f hoststate.WinKeyFile) string {
	if f.Kind != hoststate.KindFile {
		return "none"
	}
	keys, _ := hoststate.ParseAuthorizedKeys(f.Content)
	return plural(len(keys), "key", "keys")
}

func installed(keys []desiredKey) []hoststate.InstalledKey {
	out := []hoststate.InstalledKey{}
	for _, k := range keys {
		out = append(out, hoststate.InstalledKey{Keypair: k.Keypair, Fingerprint: k.Fingerprint})
	}
	return out
}

func dedupeKeys(keys []desiredKey) []desiredKey {
	seen := map[string]bool{}
	var out []desiredKey
	for _, k := range keys {
		if !seen[k.Line] {
			seen[k.Line] = true
			out = append(out, k)
		}
	}
	return out
}

func copyWinRecord(r hoststate.WinRecord) hoststate.WinRecord {
	c := hoststate.WinRecord{FormatVersion: "1", Created: append([]string{}, r.Created...), Keys: map[string][]hoststate.InstalledKey{}, Passwords: map[string]string{}, LastApplied: r.LastApplied}
	for k, v := range r.Keys {
		c.Keys[k] = append([]hoststate.InstalledKey{}, v...)
	}
	for k, v := range r.Passwords {
		c.Passwords[k] = v
	}
	return c
}

// newStamp is a salted PBKDF2-SHA256 digest of a password, kept in state.json (readable by
// Administrators and SYSTEM only) so the next plan can tell whether the manifest changed it.
func newStamp(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return stampWith(pw, salt, pbkdf2Iter)
}

func stampWith(pw string, salt []byte, iter int) (string, error) {
	k, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(k), nil
}

func verifyStamp(stamp, pw string) bool {
	f := strings.Split(stamp, "$")
	if len(f) != 4 || f[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(f[1])
	if err != nil || iter < 1000 || iter > 10_000_000 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(f[2])
	if err != nil {
		return false
	}
	got, err := stampWith(pw, salt, iter)
	return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(stamp)) == 1
}

// WindowsChangeSet is the APPLY payload of a Windows host's plan, built from its changes' ops
// in their APPLY order, with the state record stamped at now. Passwords are read from their
// sources (lookupEnv for env, the file for file) and must match the stamp the plan was made
// with: a password changed since the plan is refused. It holds plaintext passwords: send it,
// then drop it.
func WindowsChangeSet(hp *HostPlan, now time.Time, lookupEnv func(string) (string, bool)) (*hoststate.WinChangeSet, error) {
	set := &hoststate.WinChangeSet{FormatVersion: "1"}
	var ops []*WindowsOp
	for _, op := range allOps(hp.Changes) {
		if op.Kind != OpWindows || op.Windows == nil {
			return nil, fmt.Errorf("operation %q cannot run on a Windows host", op.Kind)
		}
		ops = append(ops, op.Windows)
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Change.ID < ops[j].Change.ID })
	for _, wo := range ops {
		c := wo.Change
		if !hoststate.ValidWinUserName(c.User) && c.User != "" {
			return nil, fmt.Errorf("invalid Windows user name %q in the plan", c.User)
		}
		c.Password = ""
		if wo.Secret != nil {
			pw, err := readSecret(wo.Secret, lookupEnv)
			if err != nil {
				return nil, fmt.Errorf("password for %s: %w", c.User, err)
			}
			if !verifyStamp(wo.Stamp, pw) {
				return nil, fmt.Errorf("password for %s differs from the one the plan was made with", c.User)
			}
			c.Password = pw
		}
		c.ID = len(set.Changes) + 1
		set.Changes = append(set.Changes, c)
	}
	rec := hoststate.WinRecord{}
	if hp.Apply != nil && hp.Apply.WinRecord != nil {
		rec = *hp.Apply.WinRecord
	}
	rec.LastApplied = now.UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	set.Changes = append(set.Changes, hoststate.WinChange{ID: len(set.Changes) + 1, Op: hoststate.WinOpWriteState, Content: string(b) + "\n"})
	return set, nil
}

// readSecret reads a plaintext password at apply time.
func readSecret(ref *SecretRef, lookupEnv func(string) (string, bool)) (string, error) {
	m := &manifest.Manifest{}
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	return m.Secret(&manifest.Password{Env: ref.Env, File: ref.File}, lookupEnv)
}

// ApplyWindowsHost applies one Windows host's plan over conn: one APPLY run, which rolls back
// on its own when a change fails. Then a fresh connection must log in and run a privileged no-op;
// if it cannot, the changes are undone with an inverse change set over conn, computed from live
// (the state read right before the apply).
func ApplyWindowsHost(ctx context.Context, hp *HostPlan, live *hoststate.Windows, conn transport.Conn, redial Redial, o ApplyOptions) Result {
	res := Result{Host: hp.Name}
	set, err := WindowsChangeSet(hp, o.Now, o.LookupEnv)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	rep, err := hoststate.ApplyWindows(ctx, conn, set)
	for i := range set.Changes {
		set.Changes[i].Password = ""
	}
	if err != nil && rep == nil {
		res.Outcome, res.Err = Failed, fmt.Errorf("apply: %w; the host may be partly changed", err)
		return res
	}
	if !rep.OK {
		res.Outcome, res.Err = winFailure(set, rep)
		return res
	}
	if err := checkWinWayIn(ctx, redial); err != nil {
		inv := inverseWin(live, set, rep)
		rrep, rerr := hoststate.ApplyWindows(ctx, conn, inv)
		if rerr != nil || rrep == nil || !rrep.OK {
			res.Outcome = Failed
			res.Err = fmt.Errorf("after the change accessctl could not log in again (%v) and the rollback failed", err)
			return res
		}
		res.Outcome = RolledBack
		res.Err = fmt.Errorf("after the change accessctl could not log in again (%v); restored%s", err, notUndone(set, rep))
		return res
	}
	res.Outcome = Applied
	return res
}

// winFailure turns a failed APPLY report into an outcome and an error that says exactly what
// failed and what remained.
func winFailure(set *hoststate.WinChangeSet, rep *hoststate.WinApplyReport) (Outcome, error) {
	var failed string
	var left []string
	for i, r := range rep.Results {
		c := set.Changes[min(i, len(set.Changes)-1)]
		switch r.Status {
		case hoststate.WinFailed:
			failed = fmt.Sprintf("%s %s: %s", c.Op, describe(c), r.Error)
		case hoststate.WinNotRolledBack:
			left = append(left, fmt.Sprintf("%s %s (%s)", c.Op, describe(c), r.Error))
		}
	}
	err := fmt.Errorf("apply failed at %s", failed)
	if len(left) > 0 || len(rep.RollbackErrors) > 0 {
		return Failed, fmt.Errorf("%w; rolled back except: %s", err, strings.Join(left, "; "))
	}
	return RolledBack, fmt.Errorf("%w; rolled back", err)
}

func notUndone(set *hoststate.WinChangeSet, rep *hoststate.WinApplyReport) string {
	var left []string
	for i, r := range rep.Results {
		c := set.Changes[i]
		if _, never := hoststate.WinNotUndoable[c.Op]; never && r.Status == hoststate.WinDone {
			left = append(left, c.Op+" "+describe(c))
		}
	}
	if len(left) == 0 {
		return ""
	}
	return " except " + strings.Join(left, ", ") + " (cannot be undone)"
}

func describe(c hoststate.WinChange) string {
	switch {
	case c.Op == hoststate.WinOpWriteKeys && c.File == "admin":
		return "administrators_authorized_keys"
	case c.Op == hoststate.WinOpWriteState:
		return "state.json"
	case c.Group != "":
		return c.User + " in " + c.Group
	}
	return c.User
}

// inverse undoes the changes a successful APPLY made, from the live state the plan was made from.
func inverseWin(live *hoststate.Windows, set *hoststate.WinChangeSet, rep *hoststate.WinApplyReport) *hoststate.WinChangeSet {
	inv := &hoststate.WinChangeSet{FormatVersion: "1"}
	addInv := func(c hoststate.WinChange) {
		c.ID = len(inv.Changes) + 1
		inv.Changes = append(inv.Changes, c)
	}
	for i := len(set.Changes) - 1; i >= 0; i-- {
		c := set.Changes[i]
		if i >= len(rep.Results) || rep.Results[i].Status != hoststate.WinDone {
			continue
		}
		switch c.Op {
		case hoststate.WinOpCreateUser:
			addInv(hoststate.WinChange{Op: hoststate.WinOpRemoveUser, User: c.User})
		case hoststate.WinOpSetUser:
			if u := live.User(c.User); u != nil {
				addInv(hoststate.WinChange{Op: hoststate.WinOpSetUser, User: c.User, FullName: u.FullName, Description: u.Description})
			}
		case hoststate.WinOpEnableUser:
			addInv(hoststate.WinChange{Op: hoststate.WinOpDisableUser, User: c.User})
		case hoststate.WinOpDisableUser:
			addInv(hoststate.WinChange{Op: hoststate.WinOpEnableUser, User: c.User})
		case hoststate.WinOpAddMember:
			if u := live.User(c.User); u != nil {
				addInv(hoststate.WinChange{Op: hoststate.WinOpRemoveMember, User: c.User, Group: c.Group, SID: u.SID})
			}
		case hoststate.WinOpRemoveMember:
			addInv(hoststate.WinChange{Op: hoststate.WinOpAddMember, User: c.User, Group: c.Group})
		case hoststate.WinOpWriteKeys:
			old := live.AdminKeys
			if c.File == "user" {
				old = live.UserKeys[c.User]
			}
			if old.Kind == hoststate.KindFile {
				addInv(hoststate.WinChange{Op: hoststate.WinOpWriteKeys, User: c.User, File: c.File, Content: old.Content, FixACL: true})
			} else {
				// Nothing was there: leave a file with no keys (APPLY does not delete key files).
				addInv(hoststate.WinChange{Op: hoststate.WinOpWriteKeys, User: c.User, File: c.File, Content: ManagedHeader + "\n", FixACL: true})
			}
		case hoststate.WinOpWriteState:
			if live.State.Kind == hoststate.KindFile {
				addInv(hoststate.WinChange{Op: hoststate.WinOpWriteState, Content: live.State.Content})
			}
		}
	}
	return inv
}

func checkWinWayIn(ctx context.Context, redial Redial) error {
	if redial == nil {
		return nil
	}
	c, err := redial(ctx)
	if err != nil {
		return fmt.Errorf("fresh connection: %w", err)
	}
	defer c.Close()
	var stderr bytes.Buffer
	code, err := c.Run(ctx, hoststate.WinNoOpScript, nil, &bytes.Buffer{}, &stderr)
	if err != nil {
		return fmt.Errorf("privileged no-op: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("privileged no-op exited with status %d: %s", code, firstLine(strings.TrimSpace(stderr.String())))
	}
	return nil
}

// windowsAdminKeyFindings: OpenSSH for Windows ends sshd_config with `Match Group administrators`
// -> administrators_authorized_keys, so every key in that file logs in as every administrator
// (HOSTS.md §6): a key bound to one administrator is a login path to the others, and a key
// accessctl did not install (kept) logs in as all of them (foreign-access).
func windowsAdminKeyFindings(admins []string, owner map[string][]string, foreign []desiredKey) []Finding {
	var out []Finding
	const file = hoststate.WinAdminKeysPath
	for _, a := range admins {
		for _, k := range foreign {
			out = append(out, Finding{Rule: "foreign-access", User: a, Where: file,
				Msg: fmt.Sprintf("key %s in %s (not installed by accessctl) logs in as administrator %s", k.Fingerprint, file, a)})
		}
		var others []string
		for fp, owners := range owner {
			mine := false
			for _, o := range owners {
				if o == a {
					mine = true
				}
			}
			if !mine {
				others = append(others, fp+" ("+strings.Join(owners, ", ")+")")
			}
		}
		sort.Strings(others)
		if len(others) > 0 {
			out = append(out, Finding{Rule: "foreign-access", User: a, Where: file,
				Msg: fmt.Sprintf("administrators share %s (Match Group administrators): %s also log in as %s", file, strings.Join(others, "; "), a)})
		}
	}
	return out
}
