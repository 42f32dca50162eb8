package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// The zoo: hosts set up the way real ones are, where what sshd and sudo decide differs from the
// files accessctl writes (HOSTS.md §11). Each variant is Debian's lab host plus one twist; the
// ones that need a person to act on start with HumanUserName (carol, uid 1001, key
// HumanIdentityFile), as HumanUser does.
const (
	// KeysFile2: carol's key is in ~/.ssh/authorized_keys2 (read by OpenSSH's default
	// AuthorizedKeysFile), her authorized_keys is absent.
	KeysFile2 Variant = "authorized-keys2"
	// EtcKeys: `AuthorizedKeysFile /etc/ssh/authorized_keys/%u` only; carol's key is in
	// /etc/ssh/authorized_keys/carol (root-owned 0644), none in her home; labadmin's key is in
	// /etc/ssh/authorized_keys/labadmin (and, unread, in his home).
	EtcKeys Variant = "etc-keys"
	// EtcKeysAndHome: `AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u`;
	// carol's key in her home, the /etc directory exists and is empty.
	EtcKeysAndHome Variant = "etc-keys-and-home"
	// MatchUser ends sshd_config with `Match User carol` / `PasswordAuthentication yes`.
	MatchUser Variant = "match-user"
	// MatchGroup ends sshd_config with `Match Group MatchGroupName` / `PasswordAuthentication
	// yes`; the group exists and carol is a member.
	MatchGroup Variant = "match-group"
	// MatchAddress ends sshd_config with `Match Address 127.0.0.0/8` / `PasswordAuthentication
	// yes` (every lab client comes from loopback).
	MatchAddress Variant = "match-address"
	// AllowUsers: `AllowUsers labadmin carol` in sshd_config: nobody else may log in.
	AllowUsers Variant = "allow-users"
	// AllowGroups: `AllowGroups sudo` in sshd_config: only members of sudo may log in (labadmin).
	AllowGroups Variant = "allow-groups"
	// NoIncludedir: /etc/sudoers without `@includedir /etc/sudoers.d` (labadmin's NOPASSWD rule
	// is in /etc/sudoers itself), so a drop-in grants nothing.
	NoIncludedir Variant = "no-includedir"
	// GroupSudo: carol is a member of sudo, so Debian's `%sudo ALL=(ALL:ALL) ALL` grants her sudo.
	GroupSudo Variant = "group-sudo"
	// Directory: DirectoryUserName is a systemd-userdb record (/etc/userdb/dora.user, NSS module
	// systemd in nsswitch.conf): `getent passwd dora` answers, /etc/passwd does not hold her, so
	// useradd says "already exists". Her home exists (uid DirectoryUID), without keys.
	Directory Variant = "directory"
	// MissingHome: carol's home directory does not exist.
	MissingHome Variant = "missing-home"
	// SymlinkHome: carol's home is a symlink to /var/lib/carol-home.
	SymlinkHome Variant = "symlink-home"
	// NoAccountTools: useradd, usermod, userdel, groupadd, chpasswd are not installed (hidden
	// from /usr/sbin in the host's mount namespace), as on busybox-style images.
	NoAccountTools Variant = "no-account-tools"
	// Dropbear: the SSH server is dropbear (Debian's dropbear-bin), not OpenSSH: /usr/sbin/sshd
	// is absent in the host; carol exists. dropbear reads only ~/.ssh/authorized_keys and has
	// no PAM: a `!` hash plus an expired account does not stop its key logins.
	Dropbear Variant = "dropbear"
	// SudoPassword: labadmin's sudo needs a password, and the machine's hostname does not
	// resolve (/etc/hosts lacks it, DNS refuses): `sudo -n` warns "unable to resolve host" first
	// and says "a password is required" after.
	SudoPassword Variant = "sudo-password"
)

// Names and ids of the zoo's accounts.
const (
	// MatchGroupName is the group of the MatchGroup variant's Match block.
	MatchGroupName = "pwlogin"
	// DirectoryUserName is the directory (NSS) account of the Directory variant.
	DirectoryUserName = "dora"
	// DirectoryUID is its uid and gid.
	DirectoryUID = 4242
)

// zooVariants are the variants of this file; all but Directory start with carol.
var zooVariants = []Variant{KeysFile2, EtcKeys, EtcKeysAndHome, MatchUser, MatchGroup, MatchAddress,
	AllowUsers, AllowGroups, NoIncludedir, GroupSudo, Directory, MissingHome, SymlinkHome,
	NoAccountTools, Dropbear, SudoPassword}

func isZoo(v Variant) bool {
	for _, z := range zooVariants {
		if z == v {
			return true
		}
	}
	return false
}

// withHuman reports whether hosts of the variant start from the template with carol.
func withHuman(v Variant) bool {
	return v == HumanUser || (isZoo(v) && v != Directory)
}

// hiddenTools are the programs a variant removes from the host's /usr/sbin.
func hiddenTools(v Variant) []string {
	switch v {
	case NoAccountTools:
		return []string{"useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "chpasswd", "newusers"}
	case Dropbear:
		return []string{"sshd"}
	}
	return nil
}

// etcPath is where a file of the host's /etc is read from before the host starts: the host's
// own copy (or overlay upper directory) when it has one, else its template's.
func (h *Host) etcPath(rel string) string {
	own := filepath.Join(h.dir, "etc", rel)
	if _, err := os.Lstat(own); err == nil || !h.lab.overlay {
		return own
	}
	return filepath.Join(h.template(), "etc", rel)
}

// editEtc rewrites a file of the host's /etc (before it starts) with edit, keeping mode and owner.
func (h *Host) editEtc(rel string, edit func(string) string) error {
	src := h.etcPath(rel)
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	dst := filepath.Join(h.dir, "etc", rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".lab-tmp"
	if err := os.WriteFile(tmp, []byte(edit(string(b))), st.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
		return err
	}
	if sys, ok := statOwner(st); ok {
		if err := os.Chown(tmp, sys[0], sys[1]); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dst)
}

// writeEtc writes a new file into the host's /etc (before it starts), owned by root.
func (h *Host) writeEtc(rel, content string, perm os.FileMode) error {
	dst := filepath.Join(h.dir, "etc", rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, []byte(content), perm); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}

// zooSSHDConfig returns the variant's sshd_config, given Debian's with the lab's own lines
// appended. Match blocks go last: they take every line after them.
func zooSSHDConfig(v Variant, cfg string) string {
	switch v {
	case EtcKeys:
		cfg += "AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n"
	case EtcKeysAndHome:
		cfg += "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u\n"
	case AllowUsers:
		cfg += "AllowUsers " + AdminUser + " " + HumanUserName + "\n"
	case AllowGroups:
		cfg += "AllowGroups sudo\n"
	case MatchUser:
		cfg += "\nMatch User " + HumanUserName + "\n\tPasswordAuthentication yes\n"
	case MatchGroup:
		cfg += "\nMatch Group " + MatchGroupName + "\n\tPasswordAuthentication yes\n"
	case MatchAddress:
		cfg += "\nMatch Address 127.0.0.0/8\n\tPasswordAuthentication yes\n"
	}
	return cfg
}

// zooSetup gives a host the rest of its variant's twist (files in /etc and /home), before it
// starts.
func (h *Host) zooSetup(ctx context.Context) error {
	home := filepath.Join(h.dir, "home", HumanUserName)
	carolKey := func() []byte { return ssh.MarshalAuthorizedKey(h.lab.HumanSigner.PublicKey()) }
	switch h.Variant {
	case KeysFile2:
		return os.Rename(filepath.Join(home, ".ssh", "authorized_keys"), filepath.Join(home, ".ssh", "authorized_keys2"))
	case EtcKeys, EtcKeysAndHome:
		if err := os.MkdirAll(filepath.Join(h.dir, "etc", "ssh", "authorized_keys"), 0o755); err != nil {
			return err
		}
		if h.Variant == EtcKeysAndHome {
			return nil
		}
		if err := os.Remove(filepath.Join(home, ".ssh", "authorized_keys")); err != nil {
			return err
		}
		// labadmin's key moves there too, or the lab could not log in.
		if err := h.writeEtc("ssh/authorized_keys/"+AdminUser, string(ssh.MarshalAuthorizedKey(h.lab.AdminSigner.PublicKey())), 0o644); err != nil {
			return err
		}
		return h.writeEtc("ssh/authorized_keys/"+HumanUserName, string(carolKey()), 0o644)
	case MatchGroup:
		return h.addGroup(MatchGroupName, 1500, HumanUserName)
	case GroupSudo:
		return h.editEtc("group", func(s string) string { return addMember(s, "sudo", HumanUserName) })
	case NoIncludedir:
		// sudoers.d/labadmin stays: without the include line it grants nothing.
		return h.editEtc("sudoers", func(s string) string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				t := strings.TrimSpace(l)
				if strings.HasPrefix(t, "@includedir") || strings.HasPrefix(t, "#includedir") {
					continue
				}
				out = append(out, l)
			}
			return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n" + AdminUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
		})
	case SudoPassword:
		if err := h.writeEtc("sudoers.d/"+AdminUser, AdminUser+" ALL=(ALL:ALL) ALL\n", 0o440); err != nil {
			return err
		}
		if err := h.writeEtc("hosts", "127.0.0.1 localhost\n::1 localhost\n", 0o644); err != nil {
			return err
		}
		// A refused resolver fails at once; a missing one could make sudo wait for seconds.
		if err := h.writeEtc("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", 0o644); err != nil {
			return err
		}
		return nil
	case Directory:
		rec := fmt.Sprintf(`{"userName":%q,"uid":%d,"gid":%d,"realName":"Dora Directory","homeDirectory":"/home/%s","shell":"/bin/bash"}`+"\n",
			DirectoryUserName, DirectoryUID, DirectoryUID, DirectoryUserName)
		grp := fmt.Sprintf(`{"groupName":%q,"gid":%d}`+"\n", DirectoryUserName, DirectoryUID)
		if err := h.writeEtc("userdb/"+DirectoryUserName+".user", rec, 0o644); err != nil {
			return err
		}
		if err := h.writeEtc("userdb/"+DirectoryUserName+".group", grp, 0o644); err != nil {
			return err
		}
		for _, l := range [][2]string{{fmt.Sprintf("%d.user", DirectoryUID), DirectoryUserName + ".user"}, {fmt.Sprintf("%d.group", DirectoryUID), DirectoryUserName + ".group"}} {
			if err := os.Symlink(l[1], filepath.Join(h.dir, "etc", "userdb", l[0])); err != nil {
				return err
			}
		}
		if err := h.editEtc("nsswitch.conf", ensureSystemdNSS); err != nil {
			return err
		}
		dh := filepath.Join(h.dir, "home", DirectoryUserName)
		if err := os.Mkdir(dh, 0o755); err != nil {
			return err
		}
		return os.Chown(dh, DirectoryUID, DirectoryUID)
	case MissingHome:
		return os.RemoveAll(home)
	case SymlinkHome:
		target := filepath.Join(h.dir, "var", "lib", "carol-home")
		if err := os.Rename(home, target); err != nil {
			return err
		}
		return os.Symlink("/var/lib/carol-home", home)
	case NoAccountTools, Dropbear:
		return h.makeSbin(ctx)
	}
	return nil
}

// ensureSystemdNSS adds the systemd NSS module to the passwd and group lines of nsswitch.conf.
func ensureSystemdNSS(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && (k == "passwd" || k == "group") && !strings.Contains(v, "systemd") {
			l = k + ":" + v + " systemd"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// addGroup adds a group with members to the host's /etc/group and /etc/gshadow.
func (h *Host) addGroup(name string, gid int, members ...string) error {
	m := strings.Join(members, ",")
	if err := h.editEtc("group", func(s string) string {
		return strings.TrimRight(s, "\n") + fmt.Sprintf("\n%s:x:%d:%s\n", name, gid, m)
	}); err != nil {
		return err
	}
	err := h.editEtc("gshadow", func(s string) string {
		return strings.TrimRight(s, "\n") + fmt.Sprintf("\n%s:!::%s\n", name, m)
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// addMember adds user to group's member list in /etc/group text.
func addMember(s, group, user string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) == 4 && f[0] == group {
			if f[3] == "" {
				f[3] = user
			} else {
				f[3] += "," + user
			}
			lines[i] = strings.Join(f, ":")
		}
	}
	return strings.Join(lines, "\n")
}

// makeSbin builds the host's /usr/sbin: a directory of symlinks to every program of the
// machine's /usr/sbin (seen at LAB_DIR/realsbin inside the host) but the variant's hidden ones.
func (h *Host) makeSbin(ctx context.Context) error {
	dir := filepath.Join(h.dir, "sbin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.dir, "realsbin"), 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir("/usr/sbin")
	if err != nil {
		return err
	}
	hide := map[string]bool{}
	for _, t := range hiddenTools(h.Variant) {
		hide[t] = true
	}
	for _, e := range ents {
		if hide[e.Name()] {
			continue
		}
		if err := os.Symlink(filepath.Join(h.dir, "realsbin", e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	if h.Variant != Dropbear {
		return nil
	}
	if _, err := exec.LookPath("dropbear"); err != nil {
		return fmt.Errorf("the dropbear variant needs dropbear (apt-get install dropbear-bin): %w", err)
	}
	return nil
}

// writeDropbearKey converts the host's OpenSSH host key for dropbear.
func (h *Host) writeDropbearKey(ctx context.Context) error {
	if h.Variant != Dropbear {
		return nil
	}
	dir := filepath.Join(h.dir, "etc", "dropbear")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out := filepath.Join(dir, "lab_ed25519_host_key")
	os.Remove(out)
	if b, err := exec.CommandContext(ctx, "dropbearconvert", "openssh", "dropbear",
		filepath.Join(h.dir, "etc", "ssh", "ssh_host_ed25519_key"), out).CombinedOutput(); err != nil {
		return fmt.Errorf("dropbearconvert: %v: %s", err, b)
	}
	return nil
}

func statOwner(st os.FileInfo) ([2]int, bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return [2]int{int(sys.Uid), int(sys.Gid)}, true
	}
	return [2]int{}, false
}
