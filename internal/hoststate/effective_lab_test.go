package hoststate_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/lab"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// TestReadZoo reads a host of every zoo variant through real SSH and checks what the read says
// sshd and sudo decide there.
func TestReadZoo(t *testing.T) {
	variants := []lab.Variant{lab.Debian, lab.KeysFile2, lab.EtcKeys, lab.EtcKeysAndHome, lab.MatchUser, lab.MatchGroup,
		lab.MatchAddress, lab.AllowUsers, lab.NoIncludedir, lab.GroupSudo, lab.Directory,
		lab.MissingHome, lab.SymlinkHome, lab.NoAccountTools, lab.Dropbear, lab.SudoPassword}
	var specs []lab.HostSpec
	for _, v := range variants {
		specs = append(specs, lab.HostSpec{Name: string(v), Variant: v})
	}
	l := lab.New(t, specs...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	users := []string{"carol", "dora", "alice", l.AdminUser}
	read := func(h *lab.Host) (*hoststate.Linux, error) {
		conn, err := sshtr.Dial(ctx, sshtr.Config{Name: h.Name, Addr: h.Addr, Port: h.Port, User: l.AdminUser,
			KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return hoststate.ReadLinux(ctx, conn, false, users)
	}
	carolKey := strings.TrimSpace(string(mustRead(t, l.HumanIdentityFile+".pub")))
	carolKey = strings.Join(strings.Fields(carolKey)[:2], " ")
	keyFile := func(st *hoststate.Linux, path string) *hoststate.KeyPathFile {
		for i, kf := range st.Effective.KeyFiles["carol"] {
			if kf.Path == path {
				return &st.Effective.KeyFiles["carol"][i]
			}
		}
		return nil
	}
	if os.Getenv("ACCESSCTL_RECORD_ZOO") != "" {
		// Re-record testdata/read_zoo.out (TestParseZooGolden) from the match-group host.
		h := l.Host(string(lab.MatchGroup))
		h.MustExec(t, "echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDLA2EPGpz0u0Ynk6ZtIvKnM9m7GSh6FLTQbJR0mKS5H foreign@x' >/home/carol/.ssh/authorized_keys2; chown carol /home/carol/.ssh/authorized_keys2")
		conn, err := sshtr.Dial(ctx, sshtr.Config{Name: h.Name, Addr: h.Addr, Port: h.Port, User: l.AdminUser,
			KnownHostsFiles: []string{l.KnownHostsFile}, IdentityFiles: []string{l.IdentityFile}})
		if err != nil {
			t.Fatal(err)
		}
		cmd, _ := hoststate.ReadLinuxCommand(false, users)
		var out, errb bytes.Buffer
		if code, err := conn.Run(ctx, cmd, strings.NewReader(hoststate.ReadLinuxScript()), &out, &errb); err != nil || code != 0 {
			t.Fatalf("%d %v %s", code, err, errb.String())
		}
		conn.Close()
		if err := os.WriteFile("testdata/read_zoo.out", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		h.MustExec(t, "rm /home/carol/.ssh/authorized_keys2")
	}
	for _, h := range l.Hosts {
		st, err := read(h)
		if h.Variant == lab.SudoPassword {
			if err == nil || !strings.Contains(err.Error(), "a password is required") || !strings.Contains(err.Error(), "unable to resolve host") {
				t.Errorf("sudo-password: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		e := st.Effective
		if !e.Read {
			t.Fatalf("%s: no effective sections", h.Name)
		}
		wantServer := "sshd"
		if h.Variant == lab.Dropbear {
			wantServer = "dropbear"
		}
		if e.Server != wantServer {
			t.Errorf("%s: server %q", h.Name, e.Server)
		}
		if got := e.MatchBlocks; got != (h.Variant == lab.MatchUser || h.Variant == lab.MatchGroup || h.Variant == lab.MatchAddress) {
			t.Errorf("%s: match blocks %v", h.Name, got)
		}
		if h.Variant != lab.NoIncludedir && !e.SudoIncludeDir {
			t.Errorf("%s: includedir not seen", h.Name)
		}
		switch h.Variant {
		case lab.Debian:
			if kf := keyFile(st, "/home/carol/.ssh/authorized_keys2"); kf != nil {
				t.Errorf("debian: carol has no account, yet a key file %+v", kf)
			}
			if kf := st.Effective.KeyFiles[l.AdminUser]; len(kf) != 1 || kf[0].Path != "/home/labadmin/.ssh/authorized_keys2" || kf[0].Kind != hoststate.KindAbsent {
				t.Errorf("debian: labadmin's other key files %+v", kf)
			}
			if s := e.Sudo[l.AdminUser]; s.Level != "nopasswd" {
				t.Errorf("debian: labadmin's sudo %+v", s)
			}
			if len(e.MissingTools("useradd", "chpasswd", "visudo")) != 0 {
				t.Errorf("debian: tools %v", e.Tools)
			}
		case lab.KeysFile2:
			if kf := keyFile(st, "/home/carol/.ssh/authorized_keys2"); kf == nil || !strings.Contains(kf.Content, carolKey) {
				t.Errorf("authorized_keys2: %+v", e.KeyFiles["carol"])
			}
		case lab.EtcKeys:
			if kf := keyFile(st, "/etc/ssh/authorized_keys/carol"); kf == nil || !strings.Contains(kf.Content, carolKey) {
				t.Errorf("etc-keys: %+v", e.KeyFiles["carol"])
			}
		case lab.EtcKeysAndHome:
			if kf := keyFile(st, "/etc/ssh/authorized_keys/carol"); kf == nil || kf.Kind != hoststate.KindAbsent {
				t.Errorf("etc-keys-and-home: %+v", e.KeyFiles["carol"])
			}
		case lab.MatchUser, lab.MatchGroup, lab.MatchAddress:
			yes := map[string]bool{}
			for _, c := range e.Conns {
				if c.Error != "" {
					t.Errorf("%s: %+v", h.Name, c)
				}
				if c.Values["passwordauthentication"] == "yes" {
					yes[c.User+"@"+c.Addr] = true
				}
			}
			if !yes["carol@198.51.100.7"] && h.Variant != lab.MatchAddress {
				t.Errorf("%s: carol's password connection not seen: %+v", h.Name, e.Conns)
			}
			if h.Variant == lab.MatchAddress && !yes["alice@127.0.0.0"] {
				t.Errorf("match-address: %v", yes)
			}
		case lab.NoIncludedir:
			if e.SudoIncludeDir {
				t.Error("no-includedir: includedir seen")
			}
		case lab.GroupSudo:
			if s := e.Sudo["carol"]; s.Level != "true" {
				t.Errorf("group-sudo: carol's sudo %+v", s)
			}
		case lab.Directory:
			if a := st.Account("dora"); a == nil || !a.Directory || a.UID != lab.DirectoryUID {
				t.Errorf("directory: dora %+v", a)
			}
			if a := st.Account(l.AdminUser); a == nil || a.Directory {
				t.Errorf("directory: labadmin %+v", a)
			}
		case lab.MissingHome:
			if e.Homes["carol"] != "absent" {
				t.Errorf("missing-home: %q", e.Homes["carol"])
			}
		case lab.SymlinkHome:
			if e.Homes["carol"] != "symlink" {
				t.Errorf("symlink-home: %q", e.Homes["carol"])
			}
		case lab.NoAccountTools:
			if m := e.MissingTools("useradd", "usermod", "groupadd", "chpasswd", "visudo"); strings.Join(m, " ") != "useradd usermod groupadd chpasswd" {
				t.Errorf("no-account-tools: missing %v", m)
			}
		case lab.Dropbear:
			if st.SshdTError == "" {
				t.Error("dropbear: sshd -T worked")
			}
		}
		if e.Homes["alice"] != "none" {
			t.Errorf("%s: alice's home %q", h.Name, e.Homes["alice"])
		}
	}
}
