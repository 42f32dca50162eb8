package reconcile

import (
	"encoding/json"
	"fmt"
	goldenpkg "github.com/accessctl/accessctl/internal/golden"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

// golden compares got with testdata/name (-update rewrites it).
func golden(t *testing.T, name string, got []byte) { goldenpkg.Check(t, name, got) }

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func ptr[T any](v T) *T { return &v }

const daveHash = "$6$abcdEFGH12345678$N0uTR2hHz1xqwdN5nw/NALHnCGO1vB6zW0rTrhzvrhHSz8oGPEUeR6L1dY6oBV0EhPcvG3wIoO3Me4ZuRlF5P/"

// testManifest is the manifest the fixture host (testdata/read_debian.out) is planned against.
// The recording holds alice (created by accessctl, two lines for one key, sudo), bob (keys a
// symlink to /etc/shadow), carol (locked) and no dave.
func testManifest(t *testing.T) *manifest.Manifest {
	return &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs: []manifest.Keypair{
			{Name: "alice-laptop", PublicKey: readFile(t, "testdata/alice.pub")},
			{Name: "bob-desk", PublicKey: readFile(t, "testdata/bob.pub")},
		},
		Users: []manifest.User{
			{Name: "alice", Sudo: manifest.SudoNoPasswd, State: manifest.StatePresent, Groups: []string{"developers"},
				Keypairs: []manifest.Binding{{Keypair: "alice-laptop", From: []string{"10.0.0.0/8"}, Expires: "2027-01-31"}}},
			{Name: "bob", Sudo: manifest.SudoNone, State: manifest.StateLocked, Keypairs: []manifest.Binding{{Keypair: "bob-desk"}}},
			{Name: "carol", Sudo: manifest.SudoNone, State: manifest.StateAbsent},
			{Name: "dave", FullName: "Dave O'Brien; rm -rf /", UID: ptr(2004), Shell: "/bin/bash", Sudo: manifest.SudoPassword,
				State: manifest.StatePresent, Keypairs: []manifest.Binding{{Keypair: "bob-desk"}}, Password: &manifest.Password{Hash: daveHash}},
		},
		HostGroups: []manifest.HostGroup{{Name: "web", Users: []string{"alice", "bob", "dave"},
			Sshd: &manifest.Sshd{PasswordAuthentication: ptr(false), PubkeyAuthentication: ptr(true)}}},
		Hosts: []manifest.Host{{Name: "web-1", Address: "127.0.1.1", Port: 22, OS: "linux", Transport: "ssh", User: "admin", Groups: []string{"web"}}},
	}
}

func fixture(t *testing.T) *hoststate.Linux {
	l, err := hoststate.ParseLinux([]byte(readFile(t, "testdata/read_debian.out") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func planFixture(t *testing.T, m *manifest.Manifest, live *hoststate.Linux) *HostPlan {
	d, err := DesiredFor(m, m.Hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	return PlanLinux(m, d, live, "hosts[0]", Options{Login: "admin", Today: DaysSinceEpoch(testNow)})
}

func TestPlanFixture(t *testing.T) {
	m := testManifest(t)
	hp := planFixture(t, m, fixture(t))
	if hp.Status != StatusOK {
		t.Fatalf("status %s: %s", hp.Status, hp.Error)
	}
	p := NewPlan([]*HostPlan{hp})
	b, _ := json.MarshalIndent(p.Public(), "", "  ")
	golden(t, "plan_fixture.json", append(b, '\n'))
	if strings.Contains(string(b), "$6$") {
		t.Error("a password hash reached the plan as shown")
	}
	script, err := LinuxApplyScript(hp, "20260501T120000Z-test", testNow, Waits{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "apply_fixture.sh", []byte(script))
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
	if strings.Contains(script, "rm -rf /\n") || strings.Contains(script, "O'Brien;") && !strings.Contains(script, `'Dave O'\''Brien; rm -rf /'`) {
		t.Error("a manifest value reached the script unquoted")
	}

	in := map[string]any{"live": LiveInput(p), "plan": PlanInput(p)}
	ib, _ := json.MarshalIndent(in, "", "  ")
	golden(t, "policy_input.json", append(ib, '\n'))
}

func TestPlanNoChangesWhenInSync(t *testing.T) {
	m := testManifest(t)
	m.Users = m.Users[:1]
	m.Users[0].Groups = nil
	m.HostGroups[0].Users = []string{"alice"}
	m.HostGroups[0].Sshd = nil
	live := fixture(t)
	d, _ := DesiredFor(m, m.Hosts[0])
	live.AuthorizedKeys["alice"] = hoststate.File{Kind: hoststate.KindFile, Content: authorizedKeysText(d.Users[0].Keys)}
	live.Sudoers = hoststate.File{Kind: hoststate.KindFile, Content: SudoersHeader + "\nalice ALL=(ALL:ALL) NOPASSWD: ALL\n"}
	hp := planFixture(t, m, live)
	// carol and bob are human accounts the manifest does not name and accessctl did not create.
	if len(hp.Changes) != 0 || hp.Apply != nil {
		t.Errorf("changes on a host in sync: %+v", hp.Changes)
	}
	if strings.Join(hp.Unmanaged, ",") != "bob,carol,cloudsdk" {
		t.Errorf("unmanaged = %v", hp.Unmanaged)
	}
}

func TestGuard(t *testing.T) {
	m := testManifest(t)
	live := fixture(t)
	// The login is alice; she is kept but her key changes to bob's.
	m.Users[0].Keypairs = []manifest.Binding{{Keypair: "bob-desk"}}
	m.Users[0].Sudo = manifest.SudoNone
	d, _ := DesiredFor(m, m.Hosts[0])
	aliceFP := hoststate.ParseAuthorizedKeysFingerprints(live.AuthorizedKeys["alice"].Content)
	hp := PlanLinux(m, d, live, "hosts[0]", Options{Login: "alice", LoginKeys: aliceFP, Today: DaysSinceEpoch(testNow)})
	g := hp.Guard
	if !g.LoginKeysRemoved || !g.LoginSudoRemoved || g.LoginUserRemoved || g.PubkeyAuthDisabled {
		t.Errorf("guard %+v", g)
	}
	m.Users[0].State = manifest.StateAbsent
	m.HostGroups[0].Sshd.PubkeyAuthentication = ptr(false)
	d, _ = DesiredFor(m, m.Hosts[0])
	hp = PlanLinux(m, d, live, "hosts[0]", Options{Login: "alice", LoginKeys: aliceFP, Today: DaysSinceEpoch(testNow)})
	g = hp.Guard
	if !g.LoginUserRemoved || !g.LoginKeysRemoved || !g.LoginSudoRemoved || !g.PubkeyAuthDisabled {
		t.Errorf("guard %+v", g)
	}
}

func TestPasswordUnchangedWhenHashVerifies(t *testing.T) {
	m := testManifest(t)
	live := fixture(t)
	live.Accounts = append(live.Accounts, hoststate.Account{Name: "dave", UID: 2004, GID: 2004, GECOS: "Dave O'Brien; rm -rf /", Home: "/home/dave", Shell: "/bin/bash"})
	h := SHA512Crypt("Correct-Horse-9", "saltsaltsalt", 0)
	live.Shadow["dave"] = hoststate.Shadow{Hash: h, Expire: -1}
	m.Users[3].Password = &manifest.Password{Env: "DAVE_PW"}
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == "DAVE_PW" }
	}
	d, _ := DesiredFor(m, m.Hosts[0])
	hp := PlanLinux(m, d, live, "hosts[0]", Options{Login: "admin", LookupEnv: env("Correct-Horse-9"), Today: DaysSinceEpoch(testNow)})
	for _, c := range hp.Changes {
		if c.Resource == ResPassword {
			t.Errorf("password change although the hash verifies: %+v", c)
		}
	}
	hp = PlanLinux(m, d, live, "hosts[0]", Options{Login: "admin", LookupEnv: env("Other-Horse-9"), Today: DaysSinceEpoch(testNow)})
	found := false
	for _, c := range hp.Changes {
		if c.Resource == ResPassword && c.Action == Update {
			found = true
		}
		if strings.Contains(c.Reason+fmt.Sprint(c.Before, c.After), "Horse") {
			t.Error("plaintext in a change")
		}
	}
	if st := testSteps(t, hp); !found || len(st.passwords) != 1 || !VerifyCrypt(strings.TrimPrefix(st.passwords[0], "dave:"), "Other-Horse-9") {
		t.Errorf("password change not planned right: %+v", hp.Changes)
	}
	hp = PlanLinux(m, d, live, "hosts[0]", Options{Login: "admin", Today: DaysSinceEpoch(testNow)})
	if hp.Status != StatusError || !strings.Contains(hp.Error, "DAVE_PW") {
		t.Errorf("unset variable: %s %s", hp.Status, hp.Error)
	}
}

func TestNoIncludeUsesBlock(t *testing.T) {
	m := testManifest(t)
	live := fixture(t)
	live.SshdConfig = hoststate.File{Kind: hoststate.KindFile, Content: "PasswordAuthentication yes\nUsePAM yes\n"}
	live.DropIns = nil
	hp := planFixture(t, m, live)
	s := testSteps(t, hp).sshd
	if s == nil || s.DropIn || !strings.HasPrefix(s.Content, hoststate.BlockBegin+"\nPasswordAuthentication no\nPubkeyAuthentication yes\n"+hoststate.BlockEnd+"\nPasswordAuthentication yes\n") {
		t.Fatalf("sshd op %+v", s)
	}
	// A second run keeps one block.
	live.SshdConfig.Content = s.Content
	live.SshdT["passwordauthentication"] = "no"
	hp = planFixture(t, m, live)
	if s := testSteps(t, hp).sshd; s != nil {
		t.Errorf("block rewritten although in place: %+v", s)
	}
}

// testSteps is what the apply script of hp runs, from its ops.
func testSteps(t *testing.T, hp *HostPlan) *linuxSteps {
	t.Helper()
	st, err := stepsOf(hp.Changes)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestGroupLeft: a supplementary group accessctl managed for a user and that the manifest no
// longer lists is left (gpasswd -d); one the manifest never listed is not touched.
func TestGroupLeft(t *testing.T) {
	m := testManifest(t)
	live := fixture(t)
	live.Groups = append(live.Groups, hoststate.Group{Name: "ops", GID: 3000, Members: []string{"alice"}},
		hoststate.Group{Name: "audio", GID: 3001, Members: []string{"alice"}})
	live.Record.Groups = map[string][]string{"alice": {"developers", "ops"}}
	hp := planFixture(t, m, live)
	var left []Change
	for _, c := range hp.Changes {
		if c.Resource == ResGroup && c.Action == Delete {
			left = append(left, c)
		}
	}
	if len(left) != 1 || left[0].Name != "alice:ops" || len(left[0].Ops) != 1 || left[0].Ops[0].Kind != OpDelGroups {
		t.Fatalf("group changes: %+v", left)
	}
	script, err := LinuxApplyScript(hp, "run-1", testNow, Waits{})
	if err != nil || !strings.Contains(script, "\tgpasswd -d 'alice' 'ops' >/dev/null || fail 'remove alice from ops'\n") || strings.Contains(script, "audio") {
		t.Errorf("script: %v", err)
	}
	if got := hp.Apply.Record.Groups["alice"]; strings.Join(got, ",") != "developers" {
		t.Errorf("record: %v", got)
	}
	// The login never leaves a group: it may be what grants its sudo.
	if g := LinuxGuard(hp.Changes, live.Sudoers, "alice", nil); !g.LoginSudoRemoved {
		t.Errorf("guard: %+v", g)
	}
}
