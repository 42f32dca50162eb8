package hoststate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	goldenpkg "github.com/accessctl/accessctl/internal/golden"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// golden compares got with testdata/name (-update rewrites it).
func golden(t *testing.T, name string, got []byte) { goldenpkg.Check(t, name, got) }

// TestReadScriptGolden pins the command sent to hosts: a change to it is a reviewed diff.
func TestReadScriptGolden(t *testing.T) {
	cmd, err := ReadLinuxCommand(false, []string{"alice", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "read_linux.golden", []byte("$ "+cmd+"\n"+ReadLinuxScript()))
	if _, err := ReadLinuxCommand(true, []string{"x;rm -rf /"}); err == nil {
		t.Error("a hostile user name was accepted")
	}
}

func TestParseLinuxGolden(t *testing.T) {
	out, err := os.ReadFile("testdata/read_debian.out")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLinux(out)
	if err != nil {
		t.Fatal(err)
	}
	// Only what the plan uses from the recording; passwd and group of the recording machine are
	// summarised so the golden file stays readable.
	view := map[string]any{
		"alice":          l.Account("alice"),
		"aliceGroups":    l.SupplementaryGroups("alice"),
		"shadowExpire":   map[string]int{"alice": l.Shadow["alice"].Expire, "carol": l.Shadow["carol"].Expire},
		"locked":         map[string]bool{"alice": l.Shadow["alice"].Locked(), "carol": l.Shadow["carol"].Locked()},
		"authorizedKeys": l.AuthorizedKeys,
		"sudoers":        l.Sudoers,
		"dropIns":        l.DropIns,
		"sshd":           map[string]string{"passwordauthentication": l.SshdT["passwordauthentication"], "permitrootlogin": l.SshdT["permitrootlogin"], "pubkeyauthentication": l.SshdT["pubkeyauthentication"]},
		"includeFirst":   l.IncludesDropInsFirst([]string{"passwordauthentication"}),
		"record":         l.Record,
		"systemd":        l.Systemd,
		"pid":            l.SshdPID,
		"root":           l.Root,
		"fingerprint":    l.Fingerprint,
	}
	b, _ := json.MarshalIndent(view, "", "  ")
	golden(t, "read_debian.golden.json", append(b, '\n'))
	if _, ok := l.Shadow["dave"]; ok {
		t.Error("a missing user has a shadow entry")
	}
	top, _ := Winner(l.SshdLayout(nil, nil), "passwordauthentication")
	if top == nil || top.Where() != "/etc/ssh/sshd_config.d/50-cloud-init.conf:1" || top.Value != "yes" {
		t.Errorf("winner of passwordauthentication = %+v", top)
	}
}

func TestParseLinuxRejects(t *testing.T) {
	good, _ := os.ReadFile("testdata/read_debian.out")
	cases := map[string]string{
		"empty":       "",
		"truncated":   string(good[:len(good)/2]),
		"no header":   strings.Replace(string(good), "@@accessctl-read 1\n", "", 1),
		"bad base64":  strings.Replace(string(good), "@@begin sudoers - kind=file\n", "@@begin sudoers - kind=file\n!!!\n", 1),
		"bad kind":    strings.Replace(string(good), "sudoers - kind=file", "sudoers - kind=weird", 1),
		"nested":      strings.Replace(string(good), "@@begin sudoers", "@@begin x -\n@@begin sudoers", 1),
		"no sshd_t":   strings.Replace(string(good), "@@begin sshd_t", "@@begin other", 1),
		"future fmt":  strings.Replace(string(good), "@@accessctl-read 1", "@@accessctl-read 2", 1),
		"stray end":   "@@accessctl-read 1\n@@end\n@@done\n",
		"only done":   "@@accessctl-read 1\n@@done\n",
		"empty mark":  "@@accessctl-read 1\n@@\n",
		"short begin": "@@accessctl-read 1\n@@begin passwd\n@@end\n@@done\n",
	}
	for name, in := range cases {
		if _, err := ParseLinux([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A banner before the header is tolerated.
	if _, err := ParseLinux(append([]byte("Welcome!\n"), good...)); err != nil {
		t.Errorf("banner: %v", err)
	}
}

// TestReadScriptRuns runs the real script with the real tools of this machine (read-only).
func TestReadScriptRuns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to read shadow")
	}
	out, err := exec.Command("sh", "-c", ReadLinuxScript(), "sh", "root", "nobody").Output()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLinux(out)
	if err != nil {
		t.Fatal(err)
	}
	if l.Account("root") == nil || l.Account("root").UID != 0 || !l.Root {
		t.Errorf("root account not read: %+v", l.Account("root"))
	}
	if _, ok := l.Shadow["root"]; !ok {
		t.Error("no shadow entry for root")
	}
	if l.SshdTError == "" && l.SshdT["pubkeyauthentication"] == "" {
		t.Error("sshd -T output not parsed")
	}
}

func TestSshdLayout(t *testing.T) {
	l := &Linux{
		SshdConfig: File{Kind: KindFile, Content: "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\nMatch User x\n  PubkeyAuthentication no\n"},
		DropIns: []DropIn{
			{Name: "50-cloud-init.conf", File: File{Kind: KindFile, Content: "PasswordAuthentication yes\n"}},
			{Name: "notes.txt", File: File{Kind: KindFile, Content: "PermitRootLogin yes\n"}},
		},
	}
	if l.IncludesDropInsFirst([]string{"PasswordAuthentication"}) {
		t.Error("include after a managed keyword counted as first")
	}
	if !l.IncludesDropInsFirst([]string{"permitrootlogin"}) {
		t.Error("include before permitrootlogin not seen")
	}
	ds := l.SshdLayout(nil, nil)
	top, _ := Winner(ds, "passwordauthentication")
	if top.Where() != "/etc/ssh/sshd_config:1" {
		t.Errorf("winner %s", top.Where())
	}
	if top, _ := Winner(ds, "permitrootlogin"); top != nil {
		t.Errorf("a .txt drop-in was read: %+v", top)
	}
	if top, m := Winner(ds, "pubkeyauthentication"); top != nil || len(m) != 1 || m[0].Match != "Match User x" {
		t.Errorf("match block: %+v %+v", top, m)
	}
	noInc := &Linux{SshdConfig: File{Kind: KindFile, Content: "Port 22\n"}}
	if noInc.IncludesDropInsFirst([]string{"passwordauthentication"}) {
		t.Error("no Include line, yet drop-ins count")
	}
	text := "# BEGIN accessctl\nPasswordAuthentication no\n# END accessctl\nPort 22\n"
	if RemoveManagedBlock(text) != "Port 22\n" || ManagedBlock(text) != "# BEGIN accessctl\nPasswordAuthentication no\n# END accessctl\n" {
		t.Error("managed block handling")
	}
}

func TestParseAuthorizedKeys(t *testing.T) {
	pub, _ := os.ReadFile("testdata/alice.pub")
	keys, bad := ParseAuthorizedKeys("# c\n\n" + string(pub) + "garbage line\nfrom=\"10.0.0.0/8\" " + string(pub))
	if len(keys) != 2 || bad != 1 || keys[1].Options[0] != `from="10.0.0.0/8"` || keys[0].Fingerprint != keys[1].Fingerprint {
		t.Errorf("keys %+v bad %d", keys, bad)
	}
}

// batched rewrites a read in the one-section-per-user format as the script sends it now: one
// shadow section, a keys marker per user, and the regular files in one keyfiles section.
func batched(t *testing.T, old []byte) []byte {
	t.Helper()
	secs, err := splitSections(old)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) + "\n" }
	const sep = "0123456789abcdef0123456789abcdef"
	var out, shadow, files strings.Builder
	out.WriteString("@@accessctl-read 1\n")
	var users []string
	hasKeys := map[string]bool{}
	n := 0
	for _, s := range secs {
		switch s.kind {
		case "shadow":
			shadow.Write(s.body)
			users = append(users, s.arg)
		case "keys":
			hasKeys[s.arg] = true
		}
	}
	for _, s := range secs {
		switch s.kind {
		case "shadow":
			if s.arg == users[0] {
				out.WriteString("@@begin shadow -\n" + enc([]byte(shadow.String())) + "@@end\n")
			}
			if !hasKeys[s.arg] {
				// In the old format a user with no home has no keys section; here it is a
				// marker, in the same place.
				out.WriteString("@@begin keys " + s.arg + " kind=nohome\n@@end\n")
			}
			continue
		case "keys":
			if s.attrs["kind"] == "file" {
				fmt.Fprintf(&out, "@@begin keys %s kind=file ref=%d\n@@end\n", s.arg, n)
				files.Write(s.body)
				files.WriteString("ACCESSCTL_SEP=" + sep + "\x00")
				n++
				continue
			}
		case "sudoers":
			fmt.Fprintf(&out, "@@begin keyfiles - sep=%s n=%d\n%s@@end\n", sep, n, enc([]byte(files.String())))
		}
		fmt.Fprintf(&out, "@@begin %s %s", s.kind, s.arg)
		for k, v := range s.attrs {
			fmt.Fprintf(&out, " %s=%s", k, v)
		}
		out.WriteString("\n" + enc(s.body) + "@@end\n")
	}
	out.WriteString("@@done\n")
	return []byte(out.String())
}

// TestParseLinuxBatched: the batched format parses to the same state and fingerprint.
func TestParseLinuxBatched(t *testing.T) {
	old, err := os.ReadFile("testdata/read_debian.out")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseLinux(old)
	if err != nil {
		t.Fatal(err)
	}
	in := batched(t, old)
	got, err := ParseLinux(in)
	if err != nil {
		t.Fatalf("%v\n%s", err, in)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("batched read differs:\n%s\nwant:\n%s", gj, wj)
	}
	if got.Fingerprint != want.Fingerprint || got.Shadow["alice"] != want.Shadow["alice"] {
		t.Errorf("fingerprint %s, want %s", got.Fingerprint, want.Fingerprint)
	}
	if got.AuthorizedKeys["alice"].Kind != KindFile || got.AuthorizedKeys["alice"].Content == "" {
		t.Errorf("alice's keys: %+v", got.AuthorizedKeys["alice"])
	}
	s := string(in)
	for name, bad := range map[string]string{
		"missing part":  strings.Replace(s, "ref=0", "ref=7", 1),
		"negative ref":  strings.Replace(s, "ref=0", "ref=-1", 1),
		"wrong count":   strings.Replace(s, " n=1", " n=2", 1),
		"short sep":     strings.Replace(s, "sep=0123456789abcdef0123456789abcdef", "sep=01", 1),
		"no keyfiles":   strings.Replace(s, "@@begin keyfiles", "@@begin other", 1),
		"two keyfiles":  strings.Replace(s, "@@begin sudoers", "@@begin keyfiles - sep=0123456789abcdef0123456789abcdef n=1\n@@end\n@@begin sudoers", 1),
		"bad shadow":    regexp.MustCompile(`(?s)@@begin shadow -\n.*?@@end`).ReplaceAllString(s, "@@begin shadow -\neDp5Cg==\n@@end"),
		"ref with body": strings.Replace(s, "kind=file ref=0\n", "kind=file ref=0\neDp5Cg==\n", 1),
	} {
		if _, err := ParseLinux([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestParseZooGolden parses a read recorded on the lab's match-group host (TestReadZoo with
// ACCESSCTL_RECORD_ZOO=1): carol in a Match Group block, a foreign key in her authorized_keys2,
// labadmin's sudo asked of sudo -l.
func TestParseZooGolden(t *testing.T) {
	out, err := os.ReadFile("testdata/read_zoo.out")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLinux(out)
	if err != nil {
		t.Fatal(err)
	}
	e := l.Effective
	view := map[string]any{
		"directory":  map[string]bool{"labadmin": l.Account("labadmin").Directory},
		"local":      e.Local,
		"homes":      e.Homes,
		"tools":      e.Tools,
		"server":     e.Server,
		"keyFiles":   e.KeyFiles,
		"match":      e.MatchBlocks,
		"conns":      e.Conns,
		"includedir": e.SudoIncludeDir,
		"sudo":       e.Sudo,
	}
	b, _ := json.MarshalIndent(view, "", "  ")
	golden(t, "read_zoo.golden.json", append(b, '\n'))
	// The same read with its sections one per file parses to the same state.
	again, err := ParseLinux(out)
	if err != nil || again.Fingerprint != l.Fingerprint {
		t.Errorf("fingerprint not stable: %v", err)
	}
	for name, bad := range map[string]string{
		"raw elsewhere":     strings.Replace(string(out), "@@begin sudoers - kind=absent", "@@begin sudoers - kind=absent enc=raw", 1),
		"relative key file": strings.Replace(string(out), "path=/home/carol/.ssh/authorized_keys2", "path=home/carol", 1),
		"unended conn":      strings.Replace(string(out), "@@begin sshd_conn -\n", "@@begin sshd_conn -\n"+base64.StdEncoding.EncodeToString([]byte("=conn a b c\n"))+"\n", 1),
	} {
		if _, err := ParseLinux([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseSudoList(t *testing.T) {
	for in, want := range map[string]string{
		"User a may run the following commands on h:\n    (ALL : ALL) ALL\n":                        "true",
		"User a may run the following commands on h:\n    (ALL) NOPASSWD: ALL\n    (ALL : ALL) ALL": "nopasswd",
		"User a may run the following commands on h:\n    (root) NOPASSWD: /usr/bin/apt\n":          "",
		"User a is not allowed to run sudo on h.\n":                                                 "",
		"Matching Defaults entries for a on h:\n    (ALL) ALL\n":                                    "",
		"User a may run the following commands on h:\n    (ALL) NOPASSWD: SETENV: ALL\n":            "nopasswd",
	} {
		if got := ParseSudoList(in).Level; got != want {
			t.Errorf("%q: level %q, want %q", in, got, want)
		}
	}
}
