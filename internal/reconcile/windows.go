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
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
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

// Windows APPLY phases: each op belongs to the change added right after it; the phase orders
// APPLY (accounts and grants first, then keys, then disabling and removing grants, then removing
// accounts).
const (
	winFirst = iota
	winKeys
	winLater
	winRemovals
)

// winPlanner collects one Windows host's changes, each with its windows.change ops.
type winPlanner struct {
	m       *manifest.Manifest
	d       *Desired
	live    *hoststate.Windows
	o       Options
	hp      *HostPlan
	rec     hoststate.WinRecord
	queued  []winQueued
	pending []Op
	secrets map[string]*SecretRef
	// adminKeys are the keys of desired administrators (administrators_authorized_keys).
	adminKeys []desiredKey
	// adminNames are the desired administrators; adminOwner maps each admin key's fingerprint
	// to the administrators it is bound to (foreign-access findings).
	adminNames []string
	adminOwner map[string][]string
	// sshd is what the host's sshd_config says about key files; adminWhere the line that sends
	// the first reader to administrators_authorized_keys.
	sshd       hoststate.WinSshd
	adminWhere string
}

type winQueued struct {
	phase, seq int
	op         *WindowsOp
}

// op queues one APPLY change; it belongs to the next change added.
func (p *winPlanner) op(phase int, c winapply.Change) {
	wo := &WindowsOp{Change: c}
	if ref := p.secrets[c.User]; ref != nil && (c.Op == winapply.OpCreateUser || c.Op == winapply.OpSetPassword) {
		wo.Secret, wo.Stamp = ref, p.rec.Passwords[c.User]
	}
	p.queued = append(p.queued, winQueued{phase, len(p.queued), wo})
	p.pending = append(p.pending, Op{Kind: OpWindows, Windows: wo})
}

func (p *winPlanner) add(a Action, res, name, reason string, before, after any) {
	p.hp.Changes = append(p.hp.Changes, Change{Host: p.hp.Name, Action: a, Resource: res, Name: name, Reason: reason, Before: before, After: after, Ops: p.pending})
	p.pending = nil
}

// planWindows adds the changes of a Windows host to hp, each carrying its windows.change ops
// numbered in the order APPLY makes them, and returns the state record as it will be.
func planWindows(m *manifest.Manifest, d *Desired, live *hoststate.Windows, o Options, hp *HostPlan) (*hoststate.WinRecord, error) {
	if live.RecordError != "" {
		return nil, fmt.Errorf("accessctl's state file is unusable: %s", live.RecordError)
	}
	p := &winPlanner{m: m, d: d, live: live, o: o, hp: hp, rec: copyWinRecord(live.Record), secrets: map[string]*SecretRef{},
		sshd: hoststate.ParseWinSshdConfig(live.SshdConfig)}
	for _, du := range d.Users {
		if err := p.planUser(du); err != nil {
			return nil, err
		}
	}
	p.planRemovals()
	if d.PushKeys {
		p.planAdminKeys()
	}
	p.rdpFindings()
	hp.Guard = WindowsGuard(hp.Changes, windowsLogin(live), p.loginReadsAdminKeys(), o.LoginKeys)
	for _, u := range live.Users {
		n := strings.ToLower(u.Name)
		if u.Human() && !d.Named[n] && !live.Record.CreatedUser(n) && u.SID != live.Login.SID {
			hp.Unmanaged = append(hp.Unmanaged, u.Name)
		}
	}
	sort.Strings(hp.Unmanaged)
	p.number()
	return &p.rec, nil
}

// number gives the queued changes their APPLY order.
func (p *winPlanner) number() {
	all := p.queued
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].phase != all[j].phase {
			return all[i].phase < all[j].phase
		}
		return all[i].seq < all[j].seq
	})
	for i, q := range all {
		q.op.Change.ID = i + 1
	}
}

// planUser plans one desired user: password, account, group memberships and key file.
func (p *winPlanner) planUser(du desiredUser) error {
	name := du.Name
	if !hoststate.ValidWinUserName(name) {
		return fmt.Errorf("user %s: a Windows account name has at most %d characters", name, hoststate.WinMaxUserName)
	}
	hasSecret, err := p.planPassword(du)
	if err != nil {
		return err
	}
	lu := p.live.User(name)
	p.planAccount(du, lu, hasSecret)
	admin := du.Sudo != "" && du.Sudo != manifest.SudoNone
	sid := ""
	if lu != nil {
		sid = lu.SID
	}
	p.member(name, sid, p.live.Group(hoststate.SIDAdministrators), admin, ResSudo, "has sudo")
	p.member(name, sid, p.live.Group(hoststate.SIDRemoteDesktopUsers), du.RDP, ResGroup, "has rdp")
	if !p.d.PushKeys {
		return nil
	}
	p.rec.Keys[name] = installed(du.Keys)
	route := p.keyRoute(du, lu, admin)
	if route.admin {
		p.adminKeys = append(p.adminKeys, du.Keys...)
		p.adminNames = append(p.adminNames, name)
		if p.adminWhere == "" {
			p.adminWhere = route.where
		}
		if p.adminOwner == nil {
			p.adminOwner = map[string][]string{}
		}
		for _, k := range du.Keys {
			p.adminOwner[k.Fingerprint] = append(p.adminOwner[k.Fingerprint], name)
		}
	}
	if route.user {
		p.planUserKeys(du)
	}
	p.routeFindings(du, route)
	return nil
}

// planPassword reads the user's password now (a missing variable fails the plan, not the
// apply), records its salted stamp, and plans setting it on an existing account when the stamp
// accessctl recorded does not verify. The op names the source, never the password.
func (p *winPlanner) planPassword(du desiredUser) (bool, error) {
	name := du.Name
	if du.Password == nil {
		return false, nil
	}
	if du.Password.Hash != "" {
		return false, fmt.Errorf("user %s: a password hash cannot be set on Windows; give the password by env or file", name)
	}
	lookup := p.o.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	pw, err := p.m.Secret(du.Password, lookup)
	if err != nil {
		return false, fmt.Errorf("user %s: %w", name, err)
	}
	ref := &SecretRef{Env: du.Password.Env}
	if f := du.Password.File; f != "" {
		if !filepath.IsAbs(f) {
			f = filepath.Join(p.m.Dir, f)
		}
		if abs, err := filepath.Abs(f); err == nil {
			f = abs
		}
		ref.File = f
	}
	p.secrets[name] = ref
	old := p.live.Record.Passwords[name]
	if verifyStamp(old, pw) {
		p.rec.Passwords[name] = old
		return true, nil
	}
	stamp, err := newStamp(pw)
	if err != nil {
		return false, err
	}
	p.rec.Passwords[name] = stamp
	if p.live.User(name) != nil {
		why := "the password was not set by accessctl"
		if old != "" {
			why = "the manifest's password differs from the one accessctl set"
		}
		p.op(winFirst, winapply.Change{Op: winapply.OpSetPassword, User: name})
		p.add(Update, ResPassword, name, why, "differs", "set")
	}
	return true, nil
}

// planAccount plans creating the account, or its full name and enabled state.
func (p *winPlanner) planAccount(du desiredUser, lu *hoststate.WinUser, hasSecret bool) {
	name := du.Name
	enabled := du.State != manifest.StateLocked
	if lu == nil {
		p.op(winFirst, winapply.Change{Op: winapply.OpCreateUser, User: name, FullName: du.FullName, Description: winDescription, Disabled: !enabled})
		state := "enabled"
		if !enabled {
			state = "locked"
		}
		how := "without a password"
		if hasSecret {
			how = "with the manifest's password"
		}
		p.add(Create, ResUser, name, fmt.Sprintf("%s is desired on %s; local account created %s", name, p.d.Host.Name, how), "", state)
		p.rec.Created = appendUnique(p.rec.Created, name)
		return
	}
	if lu.FullName != du.FullName {
		p.op(winFirst, winapply.Change{Op: winapply.OpSetUser, User: name, FullName: du.FullName, Description: lu.Description})
		p.add(Update, ResUser, name, "full name differs", orNone(lu.FullName), orNone(du.FullName))
	}
	switch {
	case enabled && !lu.Enabled:
		p.op(winFirst, winapply.Change{Op: winapply.OpEnableUser, User: name})
		p.add(Update, ResUser, name, fmt.Sprintf("%s is disabled; the manifest says present", name), "disabled", "enabled")
	case !enabled && lu.Enabled:
		p.op(winLater, winapply.Change{Op: winapply.OpDisableUser, User: name})
		p.add(Update, ResUser, name, fmt.Sprintf("%s is locked in the manifest: the account is disabled", name), "enabled", "locked")
	}
}

// member plans the user's membership of g (by SID) as want says.
func (p *winPlanner) member(name, sid string, g *hoststate.WinGroup, want bool, res, what string) {
	has := sid != "" && g.HasMember(sid)
	word := fmt.Sprintf("%s (%s)", g.Name, g.SID)
	switch {
	case want && !has:
		p.op(winFirst, winapply.Change{Op: winapply.OpAddMember, User: name, Group: g.SID})
		p.add(Create, res, memberName(res, name, g), fmt.Sprintf("%s %s in the manifest: member of %s", name, what, word), "", g.SID)
	case !want && has:
		p.op(winLater, winapply.Change{Op: winapply.OpRemoveMember, User: name, Group: g.SID, SID: sid})
		p.add(Delete, res, memberName(res, name, g), fmt.Sprintf("%s is a member of %s; the manifest does not grant it", name, word), g.SID, "")
	}
}

// planUserKeys plans a non-administrator's %USERPROFILE%\.ssh\authorized_keys.
func (p *winPlanner) planUserKeys(du desiredUser) {
	cur := hoststate.WinKeyFile{Kind: hoststate.KindAbsent}
	if f, ok := p.live.UserKeys[du.Name]; ok {
		cur = f
	}
	if len(du.Keys) == 0 && cur.Kind != hoststate.KindFile {
		return
	}
	want := authorizedKeysText(du.Keys)
	if reason, a, fix, ok := winKeysChange(du.Name, want, cur); !ok {
		p.op(winKeys, winapply.Change{Op: winapply.OpWriteKeys, User: du.Name, File: "user", Content: want, FixACL: fix})
		p.add(a, ResKeys, du.Name, reason, keyCount(cur), plural(len(du.Keys), "key", "keys"))
	}
}

// planRemovals: accounts absent in the manifest, or created by accessctl and no longer desired.
func (p *winPlanner) planRemovals() {
	desired := map[string]bool{}
	for _, du := range p.d.Users {
		desired[du.Name] = true
	}
	for _, u := range p.live.Users {
		name := strings.ToLower(u.Name)
		_, absent := p.d.Absent[name]
		if desired[name] || !(absent || p.rec.CreatedUser(name)) || !hoststate.ValidWinUserName(name) {
			continue
		}
		p.op(winRemovals, winapply.Change{Op: winapply.OpRemoveUser, User: name})
		why := fmt.Sprintf("%s is absent in the manifest", name)
		if !absent {
			why = fmt.Sprintf("accessctl created %s, and no group of %s lists it now", name, p.d.Host.Name)
		}
		p.add(Delete, ResUser, name, why+"; the profile directory is kept", "present", "")
		p.rec.Created = removeString(p.rec.Created, name)
		delete(p.rec.Keys, name)
		delete(p.rec.Passwords, name)
	}
}

// planAdminKeys: administrators_authorized_keys holds the desired admins' keys, plus keys
// accessctl did not install (the login's own key, say), which it never removes.
func (p *winPlanner) planAdminKeys() {
	live := p.live
	mine := map[string]bool{}
	for _, ks := range live.Record.Keys {
		for _, k := range ks {
			mine[k.Fingerprint] = true
		}
	}
	wantFP := map[string]bool{}
	for _, k := range p.adminKeys {
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
	p.hp.Findings = append(p.hp.Findings, windowsAdminKeyFindings(p.adminNames, p.adminOwner, foreign, p.adminWhere)...)
	all := append(foreign, dedupeKeys(p.adminKeys)...)
	if len(all) == 0 && live.AdminKeys.Kind != hoststate.KindFile {
		return
	}
	want := authorizedKeysText(all)
	if reason, a, fix, ok := winKeysChange("administrators", want, live.AdminKeys); !ok {
		p.op(winKeys, winapply.Change{Op: winapply.OpWriteKeys, File: "admin", Content: want, FixACL: fix})
		if len(foreign) > 0 {
			reason += fmt.Sprintf("; %s not installed by accessctl kept", plural(len(foreign), "key", "keys"))
		}
		p.add(a, ResKeys, "administrators_authorized_keys", reason, keyCount(live.AdminKeys), plural(len(all), "key", "keys"))
	}
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
func WindowsChangeSet(hp *HostPlan, now time.Time, lookupEnv func(string) (string, bool)) (*winapply.ChangeSet, error) {
	set := &winapply.ChangeSet{FormatVersion: "1"}
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
	set.Changes = append(set.Changes, winapply.Change{ID: len(set.Changes) + 1, Op: winapply.OpWriteState, Content: string(b) + "\n"})
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
	rep, err := winapply.Apply(ctx, conn, set)
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
		rrep, rerr := winapply.Apply(ctx, conn, inv)
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
func winFailure(set *winapply.ChangeSet, rep *winapply.ApplyReport) (Outcome, error) {
	var failed string
	var left []string
	for i, r := range rep.Results {
		c := set.Changes[min(i, len(set.Changes)-1)]
		switch r.Status {
		case winapply.Failed:
			failed = fmt.Sprintf("%s %s: %s", c.Op, describe(c), r.Error)
		case winapply.NotRolledBack:
			left = append(left, fmt.Sprintf("%s %s (%s)", c.Op, describe(c), r.Error))
		}
	}
	err := fmt.Errorf("apply failed at %s", failed)
	if len(left) > 0 || len(rep.RollbackErrors) > 0 {
		return Failed, fmt.Errorf("%w; rolled back except: %s", err, strings.Join(left, "; "))
	}
	return RolledBack, fmt.Errorf("%w; rolled back", err)
}

func notUndone(set *winapply.ChangeSet, rep *winapply.ApplyReport) string {
	var left []string
	for i, r := range rep.Results {
		c := set.Changes[i]
		if _, never := winapply.NotUndoable[c.Op]; never && r.Status == winapply.Done {
			left = append(left, c.Op+" "+describe(c))
		}
	}
	if len(left) == 0 {
		return ""
	}
	return " except " + strings.Join(left, ", ") + " (cannot be undone)"
}

func describe(c winapply.Change) string {
	switch {
	case c.Op == winapply.OpWriteKeys && c.File == "admin":
		return "administrators_authorized_keys"
	case c.Op == winapply.OpWriteState:
		return "state.json"
	case c.Group != "":
		return c.User + " in " + c.Group
	}
	return c.User
}

// inverse undoes the changes a successful APPLY made, from the live state the plan was made from.
func inverseWin(live *hoststate.Windows, set *winapply.ChangeSet, rep *winapply.ApplyReport) *winapply.ChangeSet {
	inv := &winapply.ChangeSet{FormatVersion: "1"}
	addInv := func(c winapply.Change) {
		c.ID = len(inv.Changes) + 1
		inv.Changes = append(inv.Changes, c)
	}
	for i := len(set.Changes) - 1; i >= 0; i-- {
		c := set.Changes[i]
		if i >= len(rep.Results) || rep.Results[i].Status != winapply.Done {
			continue
		}
		switch c.Op {
		case winapply.OpCreateUser:
			addInv(winapply.Change{Op: winapply.OpRemoveUser, User: c.User})
		case winapply.OpSetUser:
			if u := live.User(c.User); u != nil {
				addInv(winapply.Change{Op: winapply.OpSetUser, User: c.User, FullName: u.FullName, Description: u.Description})
			}
		case winapply.OpEnableUser:
			addInv(winapply.Change{Op: winapply.OpDisableUser, User: c.User})
		case winapply.OpDisableUser:
			addInv(winapply.Change{Op: winapply.OpEnableUser, User: c.User})
		case winapply.OpAddMember:
			if u := live.User(c.User); u != nil {
				addInv(winapply.Change{Op: winapply.OpRemoveMember, User: c.User, Group: c.Group, SID: u.SID})
			}
		case winapply.OpRemoveMember:
			addInv(winapply.Change{Op: winapply.OpAddMember, User: c.User, Group: c.Group})
		case winapply.OpWriteKeys:
			old := live.AdminKeys
			if c.File == "user" {
				old = live.UserKeys[c.User]
			}
			if old.Kind == hoststate.KindFile {
				addInv(winapply.Change{Op: winapply.OpWriteKeys, User: c.User, File: c.File, Content: old.Content, FixACL: true})
			} else {
				// Nothing was there: leave a file with no keys (APPLY does not delete key files).
				addInv(winapply.Change{Op: winapply.OpWriteKeys, User: c.User, File: c.File, Content: ManagedHeader + "\n", FixACL: true})
			}
		case winapply.OpWriteState:
			if live.State.Kind == hoststate.KindFile {
				addInv(winapply.Change{Op: winapply.OpWriteState, Content: live.State.Content})
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
		return fmt.Errorf("privileged no-op exited with status %d: %s", code, hoststate.Bounded(stderr.String()))
	}
	return nil
}

// windowsAdminKeyFindings: OpenSSH for Windows ends sshd_config with `Match Group administrators`
// -> administrators_authorized_keys, so every key in that file logs in as every account sshd
// sends there (HOSTS.md §6; admins are those the host's sshd_config sends there, where names the
// line): a key bound to one of them is a login path to the others, and a key accessctl did not
// install (kept) logs in as all of them (foreign-access).
func windowsAdminKeyFindings(admins []string, owner map[string][]string, foreign []desiredKey, where string) []Finding {
	var out []Finding
	const file = hoststate.WinAdminKeysPath
	for _, a := range admins {
		for _, k := range foreign {
			out = append(out, Finding{Rule: "foreign-access", User: a, Where: file,
				Msg: fmt.Sprintf("key %s in %s (not installed by accessctl) logs in as administrator %s (%s)", k.Fingerprint, file, a, where)})
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
				Msg: fmt.Sprintf("administrators share %s (%s): %s also log in as %s", file, where, strings.Join(others, "; "), a)})
		}
	}
	return out
}
