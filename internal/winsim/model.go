package winsim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// SIMULATOR model of one Windows host.

// domainSID is the machine SID prefix of the simulated host's local accounts.
const domainSID = "S-1-5-21-1004336348-1177238915-682003330"

// User is a simulated local account.
type User struct {
	Name        string
	SID         string
	Enabled     bool
	FullName    string
	Description string
	// Password is the plaintext the simulator was given (tests assert on it; Windows keeps a hash).
	Password string
	Profile  string
}

// Group is a simulated local group; Name is localised, SID is what accessctl uses.
type Group struct {
	SID     string
	Name    string
	Members []string // SIDs
}

// File is a simulated file with the one ACL fact accessctl checks.
type File struct {
	Content string
	// Owner is the owner SID; ACL the allowed SIDs (full control), inheritance removed when
	// Protected.
	Owner     string
	ACL       []string
	Protected bool
}

// Host is the model. All methods are safe for concurrent use.
type Host struct {
	mu       sync.Mutex
	Computer string
	users    []*User
	groups   []*Group
	files    map[string]*File // lower-cased Windows path
	nextRID  int
	orphaned map[string]bool // group SIDs holding an orphaned SID
	failOn   map[string]string
	// registry holds DWORD values by `KEY\value` (lower-cased); rights the user rights
	// assignments, entries as secedit writes them (`*SID` or a name); rightsError makes the
	// secedit export fail with that message.
	registry    map[string]int
	rights      map[string][]string
	rightOrder  []string
	rightsError string
	// Applied counts the APPLY runs; Reads the READ runs.
	Applied, Reads int
}

// NewHost returns a German-localised Windows Server with the built-in accounts and Login as a
// member of Administrators (the account the transport logs in as).
func NewHost(computer, login, loginPassword string) *Host {
	h := &Host{Computer: computer, files: map[string]*File{}, nextRID: 1000, orphaned: map[string]bool{}, failOn: map[string]string{},
		registry: map[string]int{}, rights: map[string][]string{}}
	h.defaultEffective()
	h.users = []*User{
		{Name: "Administrator", SID: domainSID + "-500", Enabled: false, Description: "Vordefiniertes Konto für die Verwaltung des Computers bzw. der Domäne"},
		{Name: "Gast", SID: domainSID + "-501", Description: "Vordefiniertes Konto für Gastzugriff auf den Computer bzw. die Domäne"},
		{Name: "DefaultAccount", SID: domainSID + "-503"},
		{Name: "WDAGUtilityAccount", SID: domainSID + "-504"},
	}
	h.groups = []*Group{
		{SID: hoststate.SIDAdministrators, Name: "Administratoren"},
		{SID: hoststate.SIDRemoteDesktopUsers, Name: "Remotedesktopbenutzer"},
	}
	if login != "" {
		u := h.addUser(login, "", "", loginPassword, true)
		u.Profile = `C:\Users\` + login
		h.groups[0].Members = append(h.groups[0].Members, u.SID)
	}
	return h
}

func (h *Host) addUser(name, full, desc, pw string, enabled bool) *User {
	h.nextRID++
	u := &User{Name: name, SID: fmt.Sprintf("%s-%d", domainSID, h.nextRID), Enabled: enabled, FullName: full, Description: desc, Password: pw}
	h.users = append(h.users, u)
	return u
}

// AddUser adds an account that accessctl did not create (test setup).
func (h *Host) AddUser(name, fullName string, admin, rdp bool) *User {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.addUser(name, fullName, "", "", true)
	u.Profile = `C:\Users\` + name
	if admin {
		h.groups[0].Members = append(h.groups[0].Members, u.SID)
	}
	if rdp {
		h.groups[1].Members = append(h.groups[1].Members, u.SID)
	}
	return u
}

// User returns a copy of the named account, or nil.
func (h *Host) User(name string) *User {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.user(name); u != nil {
		c := *u
		return &c
	}
	return nil
}

func (h *Host) user(name string) *User {
	for _, u := range h.users {
		if strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}

func (h *Host) group(sid string) *Group {
	for _, g := range h.groups {
		if g.SID == sid {
			return g
		}
	}
	return nil
}

// IsMember reports whether the named user is in the group with the SID.
func (h *Host) IsMember(groupSID, user string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, g := h.user(user), h.group(groupSID)
	return u != nil && g != nil && contains(g.Members, u.SID)
}

// GroupName is the localised name of a group.
func (h *Host) GroupName(sid string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.group(sid); g != nil {
		return g.Name
	}
	return ""
}

// File returns a copy of the file at a Windows path, or nil.
func (h *Host) File(path string) *File {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.files[strings.ToLower(path)]; f != nil {
		c := *f
		return &c
	}
	return nil
}

// SetFile puts a file (test setup), e.g. a key file with a wrong ACL.
func (h *Host) SetFile(path string, f File) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[strings.ToLower(path)] = &f
}

// OrphanSID puts an orphaned SID (a deleted domain account) into a group: Get-LocalGroupMember
// fails on such a group, and READ reports it through WMI.
func (h *Host) OrphanSID(groupSID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.group(groupSID)
	g.Members = append(g.Members, "S-1-5-21-3623811015-3361044348-30300820-1013")
	h.orphaned[groupSID] = true
}

// FailOn makes the next APPLY change with this op and user fail with msg (rollback tests).
func (h *Host) FailOn(op, user, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failOn[op+"/"+user] = msg
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func remove(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if !strings.EqualFold(x, v) {
			out = append(out, x)
		}
	}
	return out
}

const profileKeys = `\.ssh\authorized_keys`

func aclOK(f *File, allowed ...string) bool {
	if !f.Protected || !contains(allowed, f.Owner) {
		return false
	}
	for _, s := range f.ACL {
		if !contains(allowed, s) {
			return false
		}
	}
	return true
}

func keyFile(path string, f *File, allowed ...string) hoststate.WinKeyFile {
	k := hoststate.WinKeyFile{Path: path, Kind: hoststate.KindAbsent, ACL: []string{}}
	if f == nil {
		return k
	}
	k.Kind, k.Content, k.Owner = hoststate.KindFile, f.Content, f.Owner
	for _, s := range f.ACL {
		k.ACL = append(k.ACL, s+":Allow:FullControl")
	}
	k.ACLOK = aclOK(f, allowed...)
	return k
}

// Read is what the READ script prints, computed from the model.
func (h *Host) Read(loginSID string, req hoststate.WinReadRequest) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Reads++
	w := hoststate.Windows{FormatVersion: "1", Computer: h.Computer, PSVersion: "5.1.17763.6189 (SIMULATOR)", UserKeys: map[string]hoststate.WinKeyFile{}}
	for _, u := range h.users {
		if u.SID == loginSID {
			w.Login = hoststate.WinLogin{Name: h.Computer + `\` + u.Name, SID: u.SID, Admin: contains(h.group(hoststate.SIDAdministrators).Members, u.SID)}
		}
		w.Users = append(w.Users, hoststate.WinUser{Name: u.Name, SID: u.SID, Enabled: u.Enabled, FullName: u.FullName, Description: u.Description, Profile: u.Profile})
	}
	for _, g := range h.groups {
		wg := hoststate.WinGroup{SID: g.SID, Name: g.Name, Via: "cmdlet", Members: []hoststate.WinMember{}}
		if h.orphaned[g.SID] {
			wg.Via = "wmi"
			wg.CmdletError = "Failed to compare two elements in the array."
		}
		for _, m := range g.Members {
			var u *User
			for _, x := range h.users {
				if x.SID == m {
					u = x
				}
			}
			switch {
			case u != nil:
				wg.Members = append(wg.Members, hoststate.WinMember{SID: m, Name: h.Computer + `\` + u.Name, Class: "User", Source: "Local"})
			case h.orphaned[g.SID]:
				// WMI does not resolve orphaned SIDs: they are not listed.
			default:
				wg.Members = append(wg.Members, hoststate.WinMember{SID: m, Class: "User", Source: "Unknown"})
			}
		}
		w.Groups = append(w.Groups, wg)
	}
	w.AdminKeys = keyFile(hoststate.WinAdminKeysPath, h.files[strings.ToLower(hoststate.WinAdminKeysPath)], hoststate.SIDAdministrators, hoststate.SIDSystem)
	for _, n := range req.Users {
		if !hoststate.ValidWinUserName(n) {
			return nil, fmt.Errorf("invalid user name in request")
		}
		u := h.user(n)
		if u == nil {
			continue
		}
		if u.Profile == "" {
			w.UserKeys[n] = hoststate.WinKeyFile{Kind: hoststate.KindNoProfile, ACL: []string{}}
			continue
		}
		p := u.Profile + profileKeys
		w.UserKeys[n] = keyFile(p, h.files[strings.ToLower(p)], u.SID, hoststate.SIDAdministrators, hoststate.SIDSystem)
	}
	h.readEffective(&w)
	w.State = hoststate.WinFile{Path: hoststate.WinStatePath, Kind: hoststate.KindAbsent}
	if f := h.files[strings.ToLower(hoststate.WinStatePath)]; f != nil {
		w.State.Kind, w.State.Content = hoststate.KindFile, f.Content
	}
	return json.Marshal(w)
}

// Users lists the account names, sorted (test assertions).
func (h *Host) Users() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n []string
	for _, u := range h.users {
		n = append(n, u.Name)
	}
	sort.Strings(n)
	return n
}
