package reconcile

import (
	"fmt"
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Effective access on Windows hosts (SPEC §1, §4, §6; issue 10 item 4): keys go to the files
// OpenSSH for Windows reads for each account (its sshd_config, Match blocks included), and a Remote
// Desktop logon is judged from group membership, the logon rights and fDenyTSConnections. apply
// changes neither sshd_config, the user rights nor fDenyTSConnections: a host's Remote Desktop
// switch and its user rights are usually Group Policy's (a local change would be overwritten at
// the next policy refresh and show as drift forever), and a wrong user right can lock every
// administrator out. What they refuse or allow against the manifest is reported as a
// login-blocked or foreign-access finding that names the value or right and what to change.

// winKeyRoute is where sshd reads one desired user's keys once apply has made the memberships.
type winKeyRoute struct {
	// admin: sshd reads administrators_authorized_keys for the user; user: the profile's
	// .ssh\authorized_keys.
	admin, user bool
	// other are files sshd reads that apply neither reads nor writes; maybe are files of Match
	// blocks that apply to some connections (or groups READ does not list).
	other, maybe []string
	where        string
}

// keyRoute computes the key files of a desired user (admin: a member of Administrators after apply).
func (p *winPlanner) keyRoute(du desiredUser, lu *hoststate.WinUser, admin bool) winKeyRoute {
	profile := ""
	if lu != nil {
		profile = lu.Profile
	}
	// Other local groups are not read (nor managed on Windows): a Match Group for them is a maybe.
	kf := p.sshd.KeyFilesFor(du.Name, profile, nil, admin)
	r := winKeyRoute{where: kf.Where, maybe: kf.Maybe}
	own := `%USERPROFILE%\.ssh\authorized_keys`
	if profile != "" {
		own = strings.TrimSuffix(profile, `\`) + `\.ssh\authorized_keys`
	}
	for _, f := range kf.Paths {
		switch {
		case hoststate.SamePath(f, hoststate.WinAdminKeysPath):
			r.admin = true
		case hoststate.SamePath(f, own):
			r.user = true
		default:
			r.other = append(r.other, f)
		}
	}
	return r
}

// routeFindings reports key files sshd reads for a user that accessctl does not check, and
// blocks a user's keys when sshd reads none of the files apply writes.
func (p *winPlanner) routeFindings(du desiredUser, r winKeyRoute) {
	for _, f := range append(append([]string{}, r.other...), r.maybe...) {
		p.hp.Findings = append(p.hp.Findings, Finding{Rule: "foreign-access", User: du.Name, Where: r.where,
			Msg: fmt.Sprintf("sshd also reads keys of %s from %s (%s), a file accessctl neither reads nor writes: keys there log in as %s", du.Name, f, r.where, du.Name)})
	}
	if !r.admin && !r.user && len(du.Keys) > 0 {
		p.add(Update, ResKeys, du.Name, fmt.Sprintf("sshd reads the keys of %s from %s only (%s)", du.Name, strings.Join(r.other, ", "), r.where), "", plural(len(du.Keys), "key", "keys"))
		p.hp.Changes[len(p.hp.Changes)-1].Blocked = fmt.Sprintf("apply writes only %s and %%USERPROFILE%%\\.ssh\\authorized_keys; change AuthorizedKeysFile in %s (%s)", hoststate.WinAdminKeysPath, hoststate.WinSshdConfigPath, r.where)
	}
}

// rdpFindings judges every desired user's Remote Desktop logon as it will be after apply: a user
// with rdp who would still be refused is login-blocked (one finding per cause, naming the
// registry value or user right); a user without rdp who can still log on (through Administrators
// and a logon right granted to one of its SIDs) is foreign-access.
func (p *winPlanner) rdpFindings() {
	if p.live.RDP == nil {
		return
	}
	for _, du := range p.d.Users {
		if du.State != manifest.StatePresent {
			continue
		}
		admin := du.Sudo != "" && du.Sudo != manifest.SudoNone
		sid := ""
		if lu := p.live.User(du.Name); lu != nil {
			sid = lu.SID
		}
		v := p.live.RDPAccess(du.Name, sid, admin, du.RDP, true)
		switch {
		case du.RDP && !v.Allowed:
			for _, c := range v.Refused {
				msg := fmt.Sprintf("%s cannot log on through Remote Desktop: %s (%s)", du.Name, c.Msg, c.Where)
				if !v.Known {
					msg = fmt.Sprintf("cannot tell whether %s can log on through Remote Desktop: %s", du.Name, c.Msg)
				}
				p.hp.Findings = append(p.hp.Findings, Finding{Rule: "login-blocked", User: du.Name, Where: c.Where, Msg: msg + "; " + rdpFix(c.Where)})
			}
		case !du.RDP && v.Allowed:
			_, at := p.live.RDP.Enabled()
			p.hp.Findings = append(p.hp.Findings, Finding{Rule: "foreign-access", User: du.Name, Where: hoststate.RightsWhere(hoststate.SeRemoteInteractiveLogonRight),
				Msg: fmt.Sprintf("%s has rdp: false but can log on through Remote Desktop: %s; Remote Desktop is enabled (%s). apply does not change user rights: set rdp: true, or name %s in %s (Group Policy: Deny log on through Remote Desktop Services)",
					du.Name, v.Via, at, du.Name, hoststate.SeDenyRemoteInteractiveLogonRight)})
		}
	}
}

// rdpFix says what to change for a refused Remote Desktop logon (apply changes none of these).
func rdpFix(where string) string {
	switch {
	case strings.Contains(where, hoststate.FDenyTSConnections):
		return "apply does not enable Remote Desktop: set fDenyTSConnections to 0 (System Properties > Remote, or the Group Policy setting Allow users to connect remotely by using Remote Desktop Services) and allow the Remote Desktop firewall rules"
	case strings.Contains(where, hoststate.SeDenyRemoteInteractiveLogonRight):
		return "apply does not change user rights: remove the entry from Deny log on through Remote Desktop Services (Local Security Policy or Group Policy)"
	case strings.Contains(where, hoststate.SeRemoteInteractiveLogonRight):
		return "apply does not change user rights: grant Allow log on through Remote Desktop Services to Remote Desktop Users (" + hoststate.SIDRemoteDesktopUsers + ") (Local Security Policy or Group Policy)"
	}
	return "apply does not change user rights or Remote Desktop settings"
}

// loginReadsAdminKeys says whether sshd reads the login's keys from administrators_authorized_keys.
func (p *winPlanner) loginReadsAdminKeys() bool {
	for _, u := range p.live.Users {
		if u.SID != p.live.Login.SID {
			continue
		}
		admin := p.live.Group(hoststate.SIDAdministrators).HasMember(u.SID)
		for _, f := range p.sshd.KeyFilesFor(u.Name, u.Profile, nil, admin).Paths {
			if hoststate.SamePath(f, hoststate.WinAdminKeysPath) {
				return true
			}
		}
	}
	return false
}
