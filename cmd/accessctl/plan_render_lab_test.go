package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/lab"
)

// A reviewer approves a plan from its text alone (issue 11): on a real sshd host, the plan names
// the key pair, fingerprint, type, what differs (here only the comment) and the file; the sshd
// value and where it is set; and the markdown format says the same.
func TestPlanNamesWhatChangesLab(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "deb", Variant: lab.Debian})
	f := &labFleet{lab: l, dir: t.TempDir()}
	f.aliceKey = filepath.Join(f.dir, "alice")
	f.bobKey = filepath.Join(f.dir, "bob")
	for _, k := range []string{f.aliceKey, f.bobKey} {
		if _, err := lab.GenerateKey(k, filepath.Base(k)+"@test"); err != nil {
			t.Fatal(err)
		}
	}
	f.alicePub = strings.TrimSpace(readString(t, f.aliceKey+".pub"))
	f.bobPub = strings.TrimSpace(readString(t, f.bobKey+".pub"))
	f.manifest(t, "  - name: alice\n    keypairs: [alice-laptop]\n", "alice")
	if code, out, errOut := f.run(t, "apply", "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(f.alicePub))
	if err != nil {
		t.Fatal(err)
	}
	fp := ssh.FingerprintSHA256(pk)
	host := l.Host("deb")

	// The same key with another comment, and password authentication switched on in sshd_config.
	fields := strings.Fields(f.alicePub)
	host.MustExec(t, "printf '# managed by accessctl\\n%s %s old@desk\\n' '"+fields[0]+"' '"+fields[1]+"' > /home/alice/.ssh/authorized_keys")
	code, out, errOut := f.run(t, "plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"host deb: 1 change (1 to update)\n  user alice\n    ~ authorized_keys alice\n",
		"1 key differs only in the comment",
		`~ alice-laptop ` + fp + ` (ssh-ed25519) in /home/alice/.ssh/authorized_keys: comment "old@desk" -> "alice@test"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "other options") {
		t.Errorf("a comment difference reported as options:\n%s", out)
	}

	// A foreign key and an sshd value set elsewhere.
	host.MustExec(t, "echo '"+f.bobPub+"' >> /home/alice/.ssh/authorized_keys")
	code, out, errOut = f.run(t, "plan", "--format", "markdown")
	if code != exitOK {
		t.Fatalf("plan --format markdown: exit %d\n%s\n%s", code, out, errOut)
	}
	bpk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(f.bobPub))
	for _, want := range []string{
		"### accessctl plan\n",
		"#### `deb`: 1 change (1 to update)\n",
		"**user alice**\n\n```diff\n~ authorized_keys alice\n",
		"-     bob-desk " + ssh.FingerprintSHA256(bpk) + ` (ssh-ed25519, comment "bob@test") in /home/alice/.ssh/authorized_keys`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile("(?m)^!     alice-laptop SHA256:").MatchString(out) {
		t.Errorf("markdown does not show the comment change:\n%s", out)
	}

	// An sshd value changed behind accessctl's back: the plan shows the value and where it is set.
	host.MustExec(t, "sed -i 's/^PasswordAuthentication no$/PasswordAuthentication yes/I' /etc/ssh/sshd_config.d/00-accessctl.conf")
	code, out, errOut = f.run(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("plan:\n%s", out)
	if !regexp.MustCompile(`(?m)^  sshd\n    ~ sshd passwordauthentication\n.*\n        - yes \(/etc/ssh/sshd_config.d/00-accessctl.conf:\d+\)\n        \+ no`).MatchString(out) {
		t.Errorf("plan does not show the sshd value and where it is set:\n%s", out)
	}
}
