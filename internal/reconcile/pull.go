package reconcile

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/snapshot"
	"github.com/accessctl/accessctl/internal/snapshot/compile"
)

// Pull mode on a Linux host (docs/pull-mode.md, SPEC §2a): when a group of the host says
// `keys: pull`, the plan installs
//
//	/usr/local/sbin/accessctl-keys   the plug-in (from --keys-binary, or checked in place)
//	/etc/accessctl/snapshot.pub      the verify key (when snapshots are signed)
//	/etc/accessctl/snapshot.json     the host's snapshot
//
// each as a change of resource authorized_keys named by its path (SPEC §5's resource list is
// fixed; a path cannot be a user name, so the names never clash), and adds AuthorizedKeysCommand
// and AuthorizedKeysCommandUser to accessctl's sshd settings. Everything goes through the same
// apply script as push mode: backed up, checked (the plug-in is run on the new snapshot as sshd
// will run it), sshd -t, reload, sshd -T, the fresh-login check, and rollback on any failure.

// DefaultSnapshotMaxAge is how long a snapshot installed by apply stays valid (its notAfter)
// unless --snapshot-max-age says otherwise. A plan refreshes a snapshot once less than half of
// it is left.
const DefaultSnapshotMaxAge = 30 * 24 * time.Hour

// PullUser runs the plug-in (AuthorizedKeysCommandUser).
const PullUser = "nobody"

// PullOptions configure the pull-mode install of a plan.
type PullOptions struct {
	// Signer signs the snapshots; nil writes them unsigned (and the sshd line has no --verify-key).
	Signer *snapshot.Signer
	// KeysBinary is the accessctl-keys binary to install; nil: it must already be on the host.
	KeysBinary []byte
	// MaxAge sets the snapshot's notAfter; 0: no expiry.
	MaxAge time.Duration
	// Now is the run's time (the snapshot's generatedAt and notAfter), set by the caller:
	// planning reads no clock.
	Now time.Time
	// ManifestDigest identifies the manifest (compile.SourceDigest).
	ManifestDigest string

	binarySum string
}

func (po *PullOptions) keysBinarySHA256() string {
	if po.binarySum == "" && po.KeysBinary != nil {
		s := sha256.Sum256(po.KeysBinary)
		po.binarySum = hex.EncodeToString(s[:])
	}
	return po.binarySum
}

// PullOp is what the apply script does for pull mode.
type PullOp struct {
	MkDir bool `json:"mkdir,omitempty"` // create /etc/accessctl
	// Binary is the plug-in to install (nil: untouched). A plan file holds only its digest,
	// BinarySHA256; apply --plan takes the file again from --keys-binary and checks the digest.
	Binary       []byte  `json:"-"`
	BinarySHA256 string  `json:"binarySha256,omitempty"`
	VerifyKey    *string `json:"verifyKey,omitempty"` // write the .pub; nil: untouched
	Snapshot     []byte  `json:"snapshot,omitempty"`  // write the snapshot; nil: untouched
	// Probe runs the plug-in on the snapshot as sshd will: its arguments before the user name.
	Probe []string `json:"probe,omitempty"`
	// RemoveKeys are users whose authorized_keys file, written by accessctl in push mode, goes.
	RemoveKeys []string `json:"removeKeys,omitempty"`
}

// PullWanted reports whether a group of h asks for pull mode.
func PullWanted(m *manifest.Manifest, h manifest.Host) bool {
	in := map[string]bool{}
	for _, g := range h.Groups {
		in[g] = true
	}
	for _, g := range m.HostGroups {
		if in[g.Name] && g.Keys == "pull" {
			return true
		}
	}
	return false
}

// PullCommand is the AuthorizedKeysCommand accessctl sets.
func PullCommand(signed bool) string {
	cmd := hoststate.PullKeysBinary + " --snapshot " + hoststate.PullSnapshotPath
	if signed {
		cmd += " --verify-key " + hoststate.PullVerifyKeyPath
	}
	return cmd + " %u"
}

// pullSshd is what pull mode wants of sshd (planSshd writes and verifies it with the manifest's
// settings): nil when no group of d's host uses pull mode.
func pullSshd(m *manifest.Manifest, d *Desired, o Options) map[string]string {
	if !PullWanted(m, d.Host) {
		return nil
	}
	signed := o.Pull != nil && o.Pull.Signer != nil
	return map[string]string{"authorizedkeyscommand": PullCommand(signed), "authorizedkeyscommanduser": PullUser}
}

// pullPlanner plans pull mode on one host: the changes it finds, and the one op that makes
// them all.
type pullPlanner struct {
	p       *linuxPlanner
	live    *hoststate.Linux
	lp      hoststate.Pull
	po      *PullOptions
	now     time.Time
	op      *PullOp
	changed bool
	pending []pullChange
}

type pullChange struct {
	a             Action
	name, reason  string
	before, after any
}

func (q *pullPlanner) add(a Action, _, name, reason string, before, after any) {
	q.pending = append(q.pending, pullChange{a, name, reason, before, after})
}

// planPull plans pull mode for d's host: the plug-in, the verify key, the snapshot and the
// push-era files. Every pull change carries the one op that installs it all.
func planPull(m *manifest.Manifest, d *Desired, live *hoststate.Linux, o Options, p *linuxPlanner) error {
	if !PullWanted(m, d.Host) {
		return nil
	}
	po := o.Pull
	if po == nil {
		po = &PullOptions{MaxAge: DefaultSnapshotMaxAge, Now: o.Now}
	}
	if po.Now.IsZero() {
		return fmt.Errorf("pull mode: no run time given")
	}
	if !live.Pull.Read {
		return fmt.Errorf("pull mode: the host's read output has no pull-mode facts")
	}
	if live.Account(PullUser) == nil {
		return fmt.Errorf("pull mode: the host has no user %s to run %s as (AuthorizedKeysCommandUser)", PullUser, hoststate.PullKeysBinary)
	}
	q := &pullPlanner{p: p, live: live, lp: live.Pull, po: po, now: po.Now, op: &PullOp{}}
	for _, step := range []func() error{q.binary, q.dir, q.verifyKey, func() error { return q.snapshot(m, d) }} {
		if err := step(); err != nil {
			return err
		}
	}
	q.pushEra(d, o)
	if q.changed {
		q.op.Probe = []string{hoststate.PullKeysBinary, "--snapshot", hoststate.PullSnapshotPath}
		if po.Signer != nil {
			q.op.Probe = append(q.op.Probe, "--verify-key", hoststate.PullVerifyKeyPath)
		}
		for _, c := range q.pending {
			p.add(c.a, ResKeys, c.name, c.reason, c.before, c.after, Op{Kind: OpPull, Pull: q.op})
		}
	}
	return nil
}

// binary: the plug-in, and every directory above it (sshd refuses the command otherwise).
func (q *pullPlanner) binary() error {
	// The plug-in, and every directory above it: sshd refuses the command otherwise.
	for _, dir := range hoststate.PullParents {
		f, ok := q.lp.Paths[dir]
		switch {
		case !ok:
			return fmt.Errorf("pull mode: %s does not exist on the host", dir)
		case f.Type != "directory":
			return fmt.Errorf("pull mode: %s is a %s, not a directory", dir, f.Type)
		case !f.SafeForSshd():
			return fmt.Errorf("pull mode: %s is owned by uid %d with mode %o; sshd refuses an AuthorizedKeysCommand below a directory that is not root-owned or is group/world-writable", dir, f.UID, f.Mode)
		}
	}
	bin, binOK := q.lp.Paths[hoststate.PullKeysBinary]
	if binOK && bin.Type != "regular file" {
		return fmt.Errorf("pull mode: %s is a %s; apply writes only a regular file there (remove it first)", hoststate.PullKeysBinary, bin.Type)
	}
	if q.po.KeysBinary != nil {
		want := q.po.keysBinarySHA256()
		switch {
		case !binOK:
			q.add(Create, ResKeys, hoststate.PullKeysBinary, "pull mode: accessctl-keys is not installed; install it from --keys-binary", "", "sha256:"+want[:12])
		case q.lp.KeysSHA256 != want:
			q.add(Update, ResKeys, hoststate.PullKeysBinary, "pull mode: accessctl-keys differs from --keys-binary", "sha256:"+short(q.lp.KeysSHA256), "sha256:"+want[:12])
		case !bin.SafeForSshd() || bin.Mode&0o7777 != 0o755:
			q.add(Update, ResKeys, hoststate.PullKeysBinary, fmt.Sprintf("pull mode: accessctl-keys is uid %d mode %o; sshd needs it root-owned and not writable by others", bin.UID, bin.Mode), fmt.Sprintf("uid %d mode %o", bin.UID, bin.Mode), "root 755")
		default:
			want = ""
		}
		if want != "" {
			q.op.Binary = q.po.KeysBinary
			q.op.BinarySHA256 = q.po.keysBinarySHA256()
			q.changed = true
		}
	} else {
		switch {
		case !binOK:
			return fmt.Errorf("pull mode: %s is not installed; install it (docs/pull-mode.md) or pass --keys-binary FILE", hoststate.PullKeysBinary)
		case !bin.SafeForSshd():
			return fmt.Errorf("pull mode: %s is owned by uid %d with mode %o, which sshd refuses; fix it or pass --keys-binary FILE", hoststate.PullKeysBinary, bin.UID, bin.Mode)
		case bin.Mode&0o111 == 0:
			return fmt.Errorf("pull mode: %s is not executable (mode %o); fix it or pass --keys-binary FILE", hoststate.PullKeysBinary, bin.Mode)
		}
	}

	return nil
}

// dir: /etc/accessctl is root's alone, or a writer could swap the snapshot.
func (q *pullPlanner) dir() error {
	// /etc/accessctl: root's alone, or a writer could swap the snapshot.
	if f, ok := q.lp.Paths[hoststate.PullDir]; !ok {
		q.op.MkDir = true
	} else if f.Type != "directory" || !f.SafeForSshd() {
		return fmt.Errorf("pull mode: %s is %s; it must be a directory owned by root and writable only by root", hoststate.PullDir, f.Describe())
	}

	return nil
}

// verifyKey: the public half of --sign-key, which the plug-in checks the snapshot with.
func (q *pullPlanner) verifyKey() error {
	// The verify key.
	if q.po.Signer != nil {
		want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(q.po.Signer.PublicKey()))) + " accessctl-snapshot\n"
		vk := q.lp.VerifyKey
		switch vk.Kind {
		case hoststate.KindAbsent, "":
			q.op.VerifyKey = &want
			q.add(Create, ResKeys, hoststate.PullVerifyKeyPath, "pull mode: the snapshot verify key is not installed", "", ssh.FingerprintSHA256(q.po.Signer.PublicKey()))
		case hoststate.KindFile:
			pk, err := snapshot.ParseVerifyKey([]byte(vk.Content))
			if err != nil || ssh.FingerprintSHA256(pk) != ssh.FingerprintSHA256(q.po.Signer.PublicKey()) {
				before := "unreadable"
				if err == nil {
					before = ssh.FingerprintSHA256(pk)
				}
				q.op.VerifyKey = &want
				q.add(Update, ResKeys, hoststate.PullVerifyKeyPath, "pull mode: the verify key is not the public half of --sign-key", before, ssh.FingerprintSHA256(q.po.Signer.PublicKey()))
			}
		default:
			return fmt.Errorf("pull mode: %s is a %s; refusing to write through it", hoststate.PullVerifyKeyPath, vk.Kind)
		}
		if q.op.VerifyKey != nil {
			q.changed = true
		}
	}

	return nil
}

// snapshot: the manifest compiled for this host, compared by content.
func (q *pullPlanner) snapshot(m *manifest.Manifest, d *Desired) error {
	// The snapshot.
	snap, err := compile.Build(m, d.Host.Name, q.now, q.po.ManifestDigest)
	if err != nil {
		return fmt.Errorf("pull mode: %w", err)
	}
	if q.po.MaxAge > 0 {
		snap.NotAfter = q.now.Add(q.po.MaxAge)
	}
	fresh, err := snapshot.Encode(snap, q.po.Signer)
	if err != nil {
		return fmt.Errorf("pull mode: %w", err)
	}
	after := describeSnapshot(len(snap.Users), snap.NotAfter)
	reason := ""
	action := Update
	before := ""
	switch ls := q.lp.Snapshot; ls.Kind {
	case hoststate.KindAbsent, "":
		action = Create
		reason = fmt.Sprintf("pull mode: the snapshot is not installed (%s)", plural(len(snap.Users), "user", "users"))
	case hoststate.KindFile:
		head, err := snapshot.ParseHead([]byte(ls.Content))
		if err != nil {
			reason = fmt.Sprintf("pull mode: the snapshot on the host is unreadable (%v)", err)
			before = "unreadable"
			break
		}
		before = describeSnapshot(-1, head.NotAfter)
		reason = snapshotDrift(snap, head, q.lp.SnapshotSHA256, q.po, q.now)
	default:
		return fmt.Errorf("pull mode: %s is a %s; refusing to write through it", hoststate.PullSnapshotPath, ls.Kind)
	}
	if reason != "" {
		q.add(action, ResKeys, hoststate.PullSnapshotPath, reason, before, after)
		q.op.Snapshot = fresh
		q.changed = true
	}

	return nil
}

// pushEra: in a host whose keys all come from the snapshot, an authorized_keys file accessctl
// wrote earlier would keep letting in keys the manifest has since dropped (sshd reads
// AuthorizedKeysFile before it asks the plug-in). accessctl's own login keeps its file.
func (q *pullPlanner) pushEra(d *Desired, o Options) {
	live := q.live
	// Push-era files: in a host whose keys all come from the snapshot, an authorized_keys file
	// accessctl wrote earlier would keep letting in keys the manifest has since dropped (sshd
	// reads AuthorizedKeysFile before it asks the plug-in). accessctl's own login keeps its file.
	if !d.PushKeys {
		for _, du := range d.Users {
			f, ok := live.AuthorizedKeys[du.Name]
			if !ok || du.Name == o.Login || f.Kind != hoststate.KindFile || !strings.HasPrefix(f.Content, ManagedHeader+"\n") {
				continue
			}
			q.op.RemoveKeys = append(q.op.RemoveKeys, du.Name)
			delete(q.p.rec.Keys, du.Name)
			q.add(Delete, ResKeys, du.Name, fmt.Sprintf("pull mode: keys of %s come from the snapshot; the authorized_keys file accessctl wrote in push mode is removed", du.Name), plural(countKeys(f), "key", "keys"), "snapshot")
			q.changed = true
		}
	}

}

// snapshotDrift says why the live snapshot must be replaced, or "" when it holds what the
// manifest wants. Contents are compared, not times: the wanted snapshot is encoded again with
// the live header's generatedAt, notAfter and manifestDigest, and the whole file's digest must
// match (ed25519 signatures are deterministic). So a second plan of the same manifest is empty,
// while a changed user, key, host name or signing key is a change.
func snapshotDrift(want *snapshot.Snapshot, head *snapshot.Head, liveSum string, po *PullOptions, now time.Time) string {
	same := *want
	same.GeneratedAt, same.NotAfter, same.ManifestDigest = head.GeneratedAt, head.NotAfter, head.ManifestDigest
	enc, err := snapshot.Encode(&same, po.Signer)
	if err != nil {
		return fmt.Sprintf("pull mode: %v", err)
	}
	sum := sha256.Sum256(enc)
	wantFP := ""
	if po.Signer != nil {
		wantFP = ssh.FingerprintSHA256(po.Signer.PublicKey())
	}
	switch {
	case head.SignedBy != wantFP && wantFP == "":
		return "pull mode: the snapshot is signed, and no --sign-key was given"
	case head.SignedBy != wantFP && head.SignedBy == "":
		return "pull mode: the snapshot is unsigned; --sign-key signs it"
	case head.SignedBy != wantFP:
		return fmt.Sprintf("pull mode: the snapshot is signed by %s, not by --sign-key (%s)", head.SignedBy, wantFP)
	case hex.EncodeToString(sum[:]) != liveSum:
		return "pull mode: the snapshot's users or keys differ from the manifest"
	case po.MaxAge == 0 && !head.NotAfter.IsZero():
		return fmt.Sprintf("pull mode: the snapshot expires at %s; --snapshot-max-age 0 asks for none", head.NotAfter.UTC().Format(time.RFC3339))
	case po.MaxAge > 0 && head.NotAfter.IsZero():
		return fmt.Sprintf("pull mode: the snapshot has no expiry; --snapshot-max-age is %s", po.MaxAge)
	case po.MaxAge > 0 && !now.Before(head.NotAfter):
		return fmt.Sprintf("pull mode: the snapshot expired at %s: no pull-mode login works", head.NotAfter.UTC().Format(time.RFC3339))
	case po.MaxAge > 0 && head.NotAfter.Sub(now) < po.MaxAge/2:
		return fmt.Sprintf("pull mode: the snapshot expires at %s, less than half of --snapshot-max-age %s away: refreshed", head.NotAfter.UTC().Format(time.RFC3339), po.MaxAge)
	case po.MaxAge > 0 && head.NotAfter.After(now.Add(po.MaxAge)):
		return fmt.Sprintf("pull mode: the snapshot is valid until %s, longer than --snapshot-max-age %s", head.NotAfter.UTC().Format(time.RFC3339), po.MaxAge)
	}
	return ""
}

func describeSnapshot(users int, notAfter time.Time) string {
	var parts []string
	if users >= 0 {
		parts = append(parts, plural(users, "user", "users"))
	}
	if notAfter.IsZero() {
		parts = append(parts, "no expiry")
	} else {
		parts = append(parts, "valid until "+notAfter.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	if sum == "" {
		return "?"
	}
	return sum
}

//go:embed apply_pull_linux.sh
var pullPrelude string

// writePullOps adds pull mode's steps to the apply script, before the sshd settings: the
// directory, the plug-in, the verify key, the snapshot, the probe, and push-era files removed.
func writePullOps(b *strings.Builder, op *PullOp) {
	if op == nil {
		return
	}
	if op.MkDir {
		fmt.Fprintf(b, "\tpull_dir %s\n", q(hoststate.PullDir))
	}
	if op.Binary != nil {
		heredoc(b, "put "+q(hoststate.PullKeysBinary)+" 755 root:root <<'ACCESSCTL_DATA'", string(op.Binary))
	}
	if op.VerifyKey != nil {
		heredoc(b, "put "+q(hoststate.PullVerifyKeyPath)+" 644 root:root <<'ACCESSCTL_DATA'", *op.VerifyKey)
	}
	if op.Snapshot != nil {
		heredoc(b, "put "+q(hoststate.PullSnapshotPath)+" 644 root:root <<'ACCESSCTL_DATA'", string(op.Snapshot))
	}
	if len(op.Probe) > 0 {
		b.WriteString("\tpull_probe")
		for _, a := range op.Probe {
			b.WriteString(" " + q(a))
		}
		b.WriteString("\n")
	}
	for _, u := range op.RemoveKeys {
		fmt.Fprintf(b, "\tpull_remove_keys %s\n", q(u))
	}
}
