package hoststate

import (
	"fmt"
	"strconv"
	"strings"
)

// Paths of pull mode (docs/pull-mode.md): sshd's AuthorizedKeysCommand, the snapshot it reads and
// the key the snapshot's signature is checked with.
const (
	PullDir           = "/etc/accessctl"
	PullSnapshotPath  = PullDir + "/snapshot.json"
	PullVerifyKeyPath = PullDir + "/snapshot.pub"
	PullKeysBinary    = "/usr/local/sbin/accessctl-keys"
)

// PullParents are the directories sshd checks above PullKeysBinary: each must be root-owned and
// not group- or world-writable, like the binary itself.
var PullParents = []string{"/usr/local/sbin", "/usr/local", "/usr", "/"}

// PathFact is the owner, mode and type of one path, as `stat` (not following symlinks) saw it.
type PathFact struct {
	UID  int    `json:"uid"`
	Mode uint32 `json:"mode"`
	// Type is stat's %F: "regular file", "directory", "symbolic link", ...
	Type string `json:"type"`
}

// SafeForSshd reports whether sshd accepts the path in an AuthorizedKeysCommand's chain: owned
// by root and writable by no one else.
func (p PathFact) SafeForSshd() bool { return p.UID == 0 && p.Mode&0o022 == 0 }

// Describe is the fact as a person reads it: "uid 1000, mode 775".
func (p PathFact) Describe() string {
	return fmt.Sprintf("%s, uid %d, mode %o", p.Type, p.UID, p.Mode)
}

// Pull is what a Linux host has of pull mode.
type Pull struct {
	// Read is false when the read output had no pull sections (an older read script).
	Read bool `json:"read"`
	// Snapshot is PullSnapshotPath; for a regular file, Content holds only its first four lines
	// (the header, never the users) and SnapshotSHA256 the digest of the whole file.
	Snapshot       File   `json:"snapshot"`
	SnapshotSHA256 string `json:"snapshotSha256,omitempty"`
	VerifyKey      File   `json:"verifyKey"`
	// Paths holds the facts of PullKeysBinary, PullParents and PullDir that exist.
	Paths map[string]PathFact `json:"paths,omitempty"`
	// KeysSHA256 is the digest of PullKeysBinary when it is a regular file.
	KeysSHA256 string `json:"keysSha256,omitempty"`
}

func parsePullSnapshot(l *Linux, s section) error {
	f, err := fileOf(s)
	if err != nil {
		return err
	}
	l.Pull.Read = true
	l.Pull.Snapshot = f
	if f.Kind == KindFile {
		sum := s.attrs["sha256"]
		if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
			return fmt.Errorf("bad sha256 %q", sum)
		}
		l.Pull.SnapshotSHA256 = sum
	}
	return nil
}

func parsePullPaths(l *Linux, s section) error {
	l.Pull.Read = true
	l.Pull.Paths = map[string]PathFact{}
	for _, line := range lines(s.body) {
		if sum, ok := strings.CutPrefix(line, "sha256:"); ok {
			if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
				return fmt.Errorf("bad sha256 %q", sum)
			}
			l.Pull.KeysSHA256 = sum
			continue
		}
		f := strings.SplitN(line, ":", 4)
		if len(f) != 4 {
			return fmt.Errorf("malformed path line %q", line)
		}
		uid, err1 := strconv.Atoi(f[0])
		mode, err2 := strconv.ParseUint(f[1], 8, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("malformed path line %q", line)
		}
		l.Pull.Paths[f[3]] = PathFact{UID: uid, Mode: uint32(mode), Type: f[2]}
	}
	return nil
}
