package winsim

import (
	"strings"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// SIMULATOR model of what decides effective access on a Windows host (issue 10 item 4): the
// OpenSSH for Windows config, the Remote Desktop switch in the registry and the user rights
// assignments. Built from Microsoft's public documentation (the OpenSSH for Windows server
// configuration page, the Terminal Services fDenyTSConnections setting, the "Allow/Deny log on
// through Remote Desktop Services" user rights and secedit's /export format), not recorded from a
// host: what the READ script would print, not what Windows proved.

// DefaultSshdConfig is the part of the sshd_config OpenSSH for Windows installs at its first
// start (sshd_config_default) that matters here, with its Match Group administrators block.
const DefaultSshdConfig = "# This is the sshd server system-wide configuration file.  See\r\n" +
	"# sshd_config(5) for more information.\r\n" +
	"\r\n" +
	"#Port 22\r\n" +
	"#PubkeyAuthentication yes\r\n" +
	"\r\n" +
	"# The default is to check both .ssh/authorized_keys and .ssh/authorized_keys2\r\n" +
	"# but this is overridden so installations will only check .ssh/authorized_keys\r\n" +
	"AuthorizedKeysFile\t.ssh/authorized_keys\r\n" +
	"\r\n" +
	"#PasswordAuthentication yes\r\n" +
	"\r\n" +
	"# override default of no subsystems\r\n" +
	"Subsystem\tsftp\tsftp-server.exe\r\n" +
	"\r\n" +
	"Match Group administrators\r\n" +
	"       AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\r\n"

// defaultEffective: OpenSSH installed with its default config; Remote Desktop enabled (as the
// cloud images of Windows Server ship; a fresh install has fDenyTSConnections = 1); the user
// rights a Windows Server member assigns by default.
func (h *Host) defaultEffective() {
	h.files[strings.ToLower(hoststate.WinSshdConfigPath)] = &File{Content: DefaultSshdConfig, Owner: hoststate.SIDAdministrators,
		ACL: []string{hoststate.SIDAdministrators, hoststate.SIDSystem}, Protected: true}
	h.registry[regKey(hoststate.WinTSKey, hoststate.FDenyTSConnections)] = 0
	for _, r := range []struct{ name, entries string }{
		{"SeNetworkLogonRight", "*S-1-1-0,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551"},
		{"SeBackupPrivilege", "*S-1-5-32-544,*S-1-5-32-551"},
		{"SeInteractiveLogonRight", "*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551"},
		{hoststate.SeRemoteInteractiveLogonRight, "*S-1-5-32-544,*S-1-5-32-555"},
		{"SeDenyNetworkLogonRight", "*S-1-5-32-546"},
	} {
		h.setRight(r.name, strings.Split(r.entries, ","))
	}
}

func regKey(key, name string) string { return strings.ToLower(key + `\` + name) }

// SetDWORD sets a registry DWORD value, e.g. SetDWORD(hoststate.WinTSKey, "fDenyTSConnections", 1).
func (h *Host) SetDWORD(key, name string, v int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.registry[regKey(key, name)] = v
}

// DeleteValue removes a registry value.
func (h *Host) DeleteValue(key, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.registry, regKey(key, name))
}

func (h *Host) dword(key, name string) *int {
	if v, ok := h.registry[regKey(key, name)]; ok {
		return &v
	}
	return nil
}

// SetRight assigns a user right to exactly these entries (`*SID`, or a name as secedit writes
// accounts it could not map); none removes the right from the export, as Windows does for a
// right no one holds.
func (h *Host) SetRight(name string, entries ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setRight(name, entries)
}

func (h *Host) setRight(name string, entries []string) {
	if _, ok := h.rights[name]; !ok {
		h.rightOrder = append(h.rightOrder, name)
	}
	h.rights[name] = append([]string(nil), entries...)
}

// FailRightsExport makes secedit /export fail with msg (empty: works again).
func (h *Host) FailRightsExport(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rightsError = msg
}

// seceditExport renders the rights as `secedit /export /areas USER_RIGHTS` writes its INF file
// (read back by the script as text: CRLF lines; the UTF-16 BOM is consumed by the read).
func (h *Host) seceditExport() string {
	var b strings.Builder
	b.WriteString("[Unicode]\r\nUnicode=yes\r\n[Privilege Rights]\r\n")
	for _, n := range h.rightOrder {
		if e := h.rights[n]; len(e) > 0 {
			b.WriteString(n + " = " + strings.Join(e, ",") + "\r\n")
		}
	}
	b.WriteString("[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n")
	return b.String()
}

// readEffective fills what READ reports about sshd_config and Remote Desktop.
func (h *Host) readEffective(w *hoststate.Windows) {
	w.SshdConfig = hoststate.WinFile{Path: hoststate.WinSshdConfigPath, Kind: hoststate.KindAbsent}
	if f := h.files[strings.ToLower(hoststate.WinSshdConfigPath)]; f != nil {
		w.SshdConfig.Kind, w.SshdConfig.Content = hoststate.KindFile, f.Content
	}
	r := &hoststate.WinRDP{
		FDenyTSConnections:       h.dword(hoststate.WinTSKey, hoststate.FDenyTSConnections),
		PolicyFDenyTSConnections: h.dword(hoststate.WinTSPolicyKey, hoststate.FDenyTSConnections),
	}
	if h.rightsError != "" {
		r.RightsError = "secedit /export exited with status 1: " + h.rightsError
	} else {
		r.UserRights = h.seceditExport()
	}
	w.RDP = r
}

// RemoveFile deletes the file at a Windows path (test setup: e.g. no sshd_config).
func (h *Host) RemoveFile(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.files, strings.ToLower(path))
}
