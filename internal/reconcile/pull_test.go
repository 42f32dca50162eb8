package reconcile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/snapshot"
)

// testSigner is a fixed ed25519 key, so the golden script is stable.
func testSigner(t *testing.T) *snapshot.Signer {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.ParseSigningKey(pem.EncodeToMemory(block))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var fakeKeysBinary = []byte("\x7fELF fake accessctl-keys\n")

// pullManifest is the fixture manifest with the web group in pull mode and no other sshd settings.
func pullManifest(t *testing.T) *manifest.Manifest {
	m := testManifest(t)
	m.HostGroups[0].Keys = "pull"
	m.HostGroups[0].Sshd = nil
	return m
}

// pullLive is the fixture host with pull facts: safe directories, and (when installed) what a
// previous apply with po left behind.
func pullLive(t *testing.T, m *manifest.Manifest, po *PullOptions, installed bool) *hoststate.Linux {
	t.Helper()
	l := fixture(t)
	l.Pull = hoststate.Pull{Read: true, Snapshot: hoststate.File{Kind: hoststate.KindAbsent}, VerifyKey: hoststate.File{Kind: hoststate.KindAbsent},
		Paths: map[string]hoststate.PathFact{}}
	for _, d := range hoststate.PullParents {
		l.Pull.Paths[d] = hoststate.PathFact{UID: 0, Mode: 0o755, Type: "directory"}
	}
	if !installed {
		return l
	}
	l.Pull.Paths[hoststate.PullDir] = hoststate.PathFact{UID: 0, Mode: 0o755, Type: "directory"}
	l.Pull.Paths[hoststate.PullKeysBinary] = hoststate.PathFact{UID: 0, Mode: 0o755, Type: "regular file"}
	sum := sha256.Sum256(fakeKeysBinary)
	l.Pull.KeysSHA256 = hex.EncodeToString(sum[:])
	if po.Signer != nil {
		l.Pull.VerifyKey = hoststate.File{Kind: hoststate.KindFile, Content: string(ssh.MarshalAuthorizedKey(po.Signer.PublicKey()))}
	}
	// The snapshot a previous run wrote.
	hp := PlanLinux(m, mustDesired(t, m), fixtureWithPullDirs(t), "hosts[0]", Options{Login: "admin", Today: DaysSinceEpoch(po.Now), Pull: po})
	st := testSteps(t, hp)
	if st.pull == nil || st.pull.Snapshot == nil {
		t.Fatalf("no snapshot planned: %s %+v", hp.Error, hp.Changes)
	}
	data := st.pull.Snapshot
	i := bytes.Index(data, []byte("\"users\":[\n"))
	l.Pull.Snapshot = hoststate.File{Kind: hoststate.KindFile, Content: string(data[:i+len("\"users\":[\n")])}
	s := sha256.Sum256(data)
	l.Pull.SnapshotSHA256 = hex.EncodeToString(s[:])
	l.SshdT["authorizedkeyscommand"] = PullCommand(po.Signer != nil)
	l.SshdT["authorizedkeyscommanduser"] = "nobody"
	l.DropIns = append(l.DropIns, hoststate.DropIn{Name: hoststate.SshdDropIn, File: hoststate.File{Kind: hoststate.KindFile,
		Content: SshdHeader + "\nAuthorizedKeysCommand " + PullCommand(po.Signer != nil) + "\nAuthorizedKeysCommandUser nobody\n"}})
	return l
}

func fixtureWithPullDirs(t *testing.T) *hoststate.Linux {
	l := fixture(t)
	l.Pull = hoststate.Pull{Read: true, Snapshot: hoststate.File{Kind: hoststate.KindAbsent}, VerifyKey: hoststate.File{Kind: hoststate.KindAbsent},
		Paths: map[string]hoststate.PathFact{}}
	for _, d := range append(hoststate.PullParents, hoststate.PullDir) {
		l.Pull.Paths[d] = hoststate.PathFact{UID: 0, Mode: 0o755, Type: "directory"}
	}
	return l
}

func mustDesired(t *testing.T, m *manifest.Manifest) *Desired {
	t.Helper()
	d, err := DesiredFor(m, m.Hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func planPullFixture(t *testing.T, m *manifest.Manifest, live *hoststate.Linux, po *PullOptions) *HostPlan {
	t.Helper()
	return PlanLinux(m, mustDesired(t, m), live, "hosts[0]", Options{Login: "admin", Today: DaysSinceEpoch(po.Now), Pull: po})
}

// changeList lists the pull-mode changes of hp (the fixture host has other drift too).
func changeList(hp *HostPlan) string {
	var b strings.Builder
	for _, c := range hp.Changes {
		if !strings.Contains(c.Reason, "pull mode") && !strings.HasPrefix(c.Name, "authorizedkeyscommand") {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", c.Action, c.Resource, c.Name, c.Reason)
	}
	return b.String()
}

func TestPullInstallPlanAndScript(t *testing.T) {
	m := pullManifest(t)
	po := &PullOptions{Signer: testSigner(t), KeysBinary: fakeKeysBinary, MaxAge: DefaultSnapshotMaxAge, Now: testNow, ManifestDigest: "sha256:test"}
	hp := planPullFixture(t, m, pullLive(t, m, po, false), po)
	if hp.Status != StatusOK {
		t.Fatalf("%s", hp.Error)
	}
	got := changeList(hp)
	for _, want := range []string{
		"create authorized_keys /usr/local/sbin/accessctl-keys: pull mode: accessctl-keys is not installed; install it from --keys-binary\n",
		"create authorized_keys /etc/accessctl/snapshot.pub: pull mode: the snapshot verify key is not installed\n",
		"create authorized_keys /etc/accessctl/snapshot.json: pull mode: the snapshot is not installed (3 users)\n",
		"update sshd authorizedkeyscommand: sshd authorizedkeyscommand is none, the manifest says /usr/local/sbin/accessctl-keys --snapshot /etc/accessctl/snapshot.json --verify-key /etc/accessctl/snapshot.pub %u",
		"update sshd authorizedkeyscommanduser: ",
		// alice's push-era file goes; keys of pull-mode users come from the snapshot.
		"delete authorized_keys alice: pull mode: keys of alice come from the snapshot",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "create authorized_keys dave") {
		t.Errorf("pull mode wrote a push-mode authorized_keys file:\n%s", got)
	}
	script, err := LinuxApplyScript(hp, "20260501T120000Z-test", testNow, Waits{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "apply_pull.sh", []byte(script))
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
	for _, want := range []string{
		"\tpull_dir '/etc/accessctl'\n",
		"\tput '/usr/local/sbin/accessctl-keys' 755 root:root <<'ACCESSCTL_DATA'\n",
		"\tput '/etc/accessctl/snapshot.json' 644 root:root <<'ACCESSCTL_DATA'\n",
		"\tpull_probe '/usr/local/sbin/accessctl-keys' '--snapshot' '/etc/accessctl/snapshot.json' '--verify-key' '/etc/accessctl/snapshot.pub'\n",
		"\tpull_remove_keys 'alice'\n",
		"AuthorizedKeysCommandUser nobody",
	} {
		if !strings.Contains(script, want) && !strings.Contains(decodedHeredocs(script), want) {
			t.Errorf("script lacks %q", want)
		}
	}
	// The probe and file writes come before sshd is reloaded.
	if strings.Index(script, "\tpull_probe") > strings.Index(script, "\treload_sshd || fail") {
		t.Error("probe after reload")
	}
}

// decodedHeredocs is every base64 here-document of a script, decoded.
func decodedHeredocs(script string) string {
	var out strings.Builder
	for _, part := range strings.Split(script, "<<'ACCESSCTL_DATA'\n")[1:] {
		body, _, _ := strings.Cut(part, "\nACCESSCTL_DATA\n")
		dec, _ := decodeB64(strings.ReplaceAll(body, "\n", ""))
		out.Write(dec)
	}
	return out.String()
}

func TestPullNoChangesWhenInSync(t *testing.T) {
	m := pullManifest(t)
	for _, signed := range []bool{true, false} {
		po := &PullOptions{KeysBinary: fakeKeysBinary, MaxAge: DefaultSnapshotMaxAge, Now: testNow, ManifestDigest: "sha256:test"}
		if signed {
			po.Signer = testSigner(t)
		}
		live := pullLive(t, m, po, true)
		delete(live.AuthorizedKeys, "alice") // removed by the first run

		// A day later, another manifest digest: still nothing to do (contents are compared).
		later := *po
		later.Now = testNow.Add(24 * time.Hour)
		later.ManifestDigest = "sha256:other"
		if hp := planPullFixture(t, m, live, &later); changeList(hp) != "" || hp.Status != StatusOK {
			t.Errorf("signed=%v: changes on a host in sync: %s %s", signed, hp.Error, changeList(hp))
		}
		// Without --keys-binary, an installed, safe binary is fine as it is.
		noBin := later
		noBin.KeysBinary = nil
		if hp := planPullFixture(t, m, live, &noBin); changeList(hp) != "" || hp.Status != StatusOK {
			t.Errorf("changes without --keys-binary: %s", changeList(hp))
		}

		// Past half of the max age: refreshed.
		old := later
		old.Now = testNow.Add(16 * 24 * time.Hour)
		hp := planPullFixture(t, m, live, &old)
		if got := changeList(hp); got != "update authorized_keys /etc/accessctl/snapshot.json: pull mode: the snapshot expires at 2026-05-31T12:00:00Z, less than half of --snapshot-max-age 720h0m0s away: refreshed\n" {
			t.Errorf("refresh: %s", got)
		}
		// A shorter max age than the snapshot's remaining life: rewritten.
		short := later
		short.MaxAge = time.Hour
		if got := changeList(planPullFixture(t, m, live, &short)); !strings.Contains(got, "longer than --snapshot-max-age 1h0m0s") {
			t.Errorf("shorter max age: %s", got)
		}
		// A user's key changes: rewritten.
		m2 := pullManifest(t)
		m2.Users[0].Keypairs = []manifest.Binding{{Keypair: "bob-desk"}}
		if got := changeList(planPullFixture(t, m2, live, &later)); got != "update authorized_keys /etc/accessctl/snapshot.json: pull mode: the snapshot's users or keys differ from the manifest\n" {
			t.Errorf("changed key: %s", got)
		}
		// A binary that differs from --keys-binary is replaced.
		live.Pull.KeysSHA256 = strings.Repeat("0", 64)
		if got := changeList(planPullFixture(t, m, live, &later)); !strings.Contains(got, "update authorized_keys /usr/local/sbin/accessctl-keys: pull mode: accessctl-keys differs from --keys-binary") {
			t.Errorf("binary: %s", got)
		}
	}
}

func TestPullRefusals(t *testing.T) {
	m := pullManifest(t)
	po := &PullOptions{MaxAge: DefaultSnapshotMaxAge, Now: testNow}
	cases := []struct {
		name string
		mod  func(l *hoststate.Linux, po *PullOptions)
		want string
	}{
		{"no binary and no --keys-binary", func(*hoststate.Linux, *PullOptions) {}, "accessctl-keys is not installed; install it (docs/pull-mode.md) or pass --keys-binary FILE"},
		{"unsafe binary", func(l *hoststate.Linux, _ *PullOptions) {
			l.Pull.Paths[hoststate.PullKeysBinary] = hoststate.PathFact{UID: 1000, Mode: 0o755, Type: "regular file"}
		}, "owned by uid 1000 with mode 755, which sshd refuses"},
		{"group-writable parent", func(l *hoststate.Linux, po *PullOptions) {
			po.KeysBinary = fakeKeysBinary
			l.Pull.Paths["/usr/local"] = hoststate.PathFact{UID: 0, Mode: 0o2775, Type: "directory"}
		}, "/usr/local is owned by uid 0 with mode 2775; sshd refuses"},
		{"symlinked binary", func(l *hoststate.Linux, po *PullOptions) {
			po.KeysBinary = fakeKeysBinary
			l.Pull.Paths[hoststate.PullKeysBinary] = hoststate.PathFact{UID: 0, Mode: 0o777, Type: "symbolic link"}
		}, "is a symbolic link"},
		{"writable /etc/accessctl", func(l *hoststate.Linux, po *PullOptions) {
			po.KeysBinary = fakeKeysBinary
			l.Pull.Paths[hoststate.PullDir] = hoststate.PathFact{UID: 0, Mode: 0o777, Type: "directory"}
		}, "/etc/accessctl is directory, uid 0, mode 777; it must be a directory owned by root"},
		{"old read script", func(l *hoststate.Linux, _ *PullOptions) { l.Pull.Read = false }, "no pull-mode facts"},
	}
	for _, c := range cases {
		live := pullLive(t, m, po, false)
		p := *po
		c.mod(live, &p)
		hp := planPullFixture(t, m, live, &p)
		if hp.Status != StatusError || !strings.Contains(hp.Error, c.want) {
			t.Errorf("%s: %s %q", c.name, hp.Status, hp.Error)
		}
	}
}

// TestPushHostUntouchedByPull: a push-mode host gets no pull change and no AuthorizedKeysCommand.
func TestPushHostUntouchedByPull(t *testing.T) {
	m := testManifest(t)
	po := &PullOptions{KeysBinary: fakeKeysBinary, MaxAge: DefaultSnapshotMaxAge, Now: testNow}
	hp := planPullFixture(t, m, fixture(t), po)
	if strings.Contains(changeList(hp), "pull mode") || strings.Contains(changeList(hp), "authorizedkeyscommand") {
		t.Errorf("pull changes on a push host:\n%s", changeList(hp))
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
