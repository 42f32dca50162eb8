package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/access"
	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/transport"
)

// messyFleet is three lab hosts with the history real fleets have (issue 12): accounts on some
// hosts only, keys with options, a foreign key, a second key file, sudo through a group and
// through another sudoers file, a service account with a key, and rotated auth logs (plain and
// gzipped, traditional and RFC 3339 stamps) that reach back 200 days.
type messyFleet struct {
	l         *lab.Lab
	dir       string
	inventory string
	keys      map[string]string // name -> private key file
	pubs      map[string]string // name -> public key line
}

func newMessyFleet(t testing.TB) *messyFleet {
	t.Helper()
	l := lab.New(t,
		lab.HostSpec{Name: "web-1"},
		lab.HostSpec{Name: "web-2", AuthLog: lab.AuthLogRFC3339},
		lab.HostSpec{Name: "db-1", Variant: lab.NoInclude},
	)
	f := &messyFleet{l: l, dir: t.TempDir(), keys: map[string]string{}, pubs: map[string]string{}}
	for _, k := range []struct{ name, comment string }{
		{"alice", "alice@laptop"}, {"alice-ci", "ci runner #7"}, {"bob", "bob@desk"}, {"bob2", "bob@home"},
		{"eve", "eve@old-laptop"}, {"dave", "dave admin key (2019)"}, {"svc", "deploy"},
	} {
		p := filepath.Join(f.dir, "id_"+k.name)
		if _, err := lab.GenerateKey(p, k.comment); err != nil {
			t.Fatal(err)
		}
		f.keys[k.name] = p
		pub, err := os.ReadFile(p + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		f.pubs[k.name] = strings.TrimSpace(string(pub))
	}
	// An old 1024-bit RSA key, as long-lived fleets have: key-algorithm denies it.
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rpub, err := ssh.NewPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f.pubs["dave-old"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(rpub))) + " dave@2009"
	old := time.Now().Add(-200 * 24 * time.Hour)
	for _, h := range l.Hosts {
		var s strings.Builder
		user := func(name string, uid int, extra string) {
			fmt.Fprintf(&s, "useradd -m -u %d -s /bin/bash %s %s\nmkdir -p /home/%s/.ssh\n", uid, extra, name, name)
		}
		keys := func(name, file string, lines ...string) {
			fmt.Fprintf(&s, "cat >/home/%s/.ssh/%s <<'EOF'\n%s\nEOF\nchown -R %s: /home/%s/.ssh\nchmod 600 /home/%s/.ssh/%s\n",
				name, file, strings.Join(lines, "\n"), name, name, name, file)
		}
		user("alice", 2001, `-c "Alice Liu"`)
		keys("alice", "authorized_keys", "# alice's keys, by hand",
			`from="127.0.0.0/8,10.0.0.0/8" `+f.pubs["alice"],
			`expiry-time="20991231" `+f.pubs["alice-ci"])
		if h.Name != "db-1" {
			user("bob", 2002, "-G sudo")
			keys("bob", "authorized_keys", f.pubs["bob"], f.pubs["eve"])
			keys("bob", "authorized_keys2", f.pubs["bob2"])
		} else {
			user("dave", 2003, "")
			keys("dave", "authorized_keys", f.pubs["dave"], f.pubs["dave-old"])
			s.WriteString("echo 'dave ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/90-ops && chmod 440 /etc/sudoers.d/90-ops\n")
		}
		s.WriteString("useradd -r -m -d /var/lib/deploy -s /bin/sh deploy\nmkdir -p /var/lib/deploy/.ssh\n")
		fmt.Fprintf(&s, "echo '%s' >/var/lib/deploy/.ssh/authorized_keys\n", f.pubs["svc"])
		// Rotated logs: the oldest (gzipped) reaches back 200 days; alice-ci was last used then.
		stamp := old.Format(time.Stamp)
		if h.AuthLog == lab.AuthLogRFC3339 {
			stamp = old.Format("2006-01-02T15:04:05.000000-07:00")
		}
		fp := fingerprintOf(t, f.pubs["alice-ci"])
		fmt.Fprintf(&s, "printf '%%s\\n' '%s %s rsyslogd: start' '%s %s sshd[77]: Accepted publickey for alice from 10.1.2.3 port 50000 ssh2: ED25519 %s' | gzip >/var/log/auth.log.2.gz\n",
			stamp, h.Name, stamp, h.Name, fp)
		fmt.Fprintf(&s, "touch -d @%d /var/log/auth.log.2.gz\n", old.Add(time.Hour).Unix())
		fmt.Fprintf(&s, "echo '%s %s CRON[1]: pam_unix(cron:session): session closed' >/var/log/auth.log.1\ntouch -d @%d /var/log/auth.log.1\n",
			old.Add(48*time.Hour).Format(time.Stamp), h.Name, old.Add(49*time.Hour).Unix())
		h.MustExec(t, s.String())
	}
	var inv strings.Builder
	inv.WriteString("hosts:\n")
	for _, h := range l.ManifestHosts() {
		g := "web"
		if h.Name == "db-1" {
			g = "db"
		}
		fmt.Fprintf(&inv, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    groups: [%s]\n", h.Name, h.Address, h.Port, h.User, g)
	}
	f.inventory = filepath.Join(f.dir, "inventory.yaml")
	if err := os.WriteFile(f.inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func fingerprintOf(t testing.TB, pub string) string {
	t.Helper()
	ks := access.KeysOf(pub)
	if len(ks) != 1 {
		t.Fatalf("not a key: %s", pub)
	}
	return ks[0].Fingerprint
}

// run runs a command in-process against the fleet.
func (f *messyFleet) run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(nil, []string{"--known-hosts", f.l.KnownHostsFile, "--identity", f.l.IdentityFile, "--ssh-config", "none"}, args...)
}

// TestImportRoundTripLab: import a messy fleet, then plan with the draft shows no change, with
// the inventory's groups (-i) and with the draft's own hosts. bob's key in authorized_keys2 (which
// sshd reads) is bound like the others: the plan judges every file sshd reads together.
func TestImportRoundTripLab(t *testing.T) {
	f := newMessyFleet(t)
	draft := filepath.Join(f.dir, "access.yaml")
	code, _, errOut := f.run(t, "import", "-i", f.inventory, "--out", draft)
	if code != exitOK {
		t.Fatalf("import: exit %d\n%s", code, errOut)
	}
	text := readString(t, draft)
	t.Logf("draft:\n%s", text)
	for _, want := range []string{
		"name: alice-laptop", "from: [127.0.0.0/8, 10.0.0.0/8]", "expires: 2099-12-31",
		"name: bob-home", "- bob-home", "name: eve-old-laptop", "sudo: nopasswd", "groups: [sudo]",
		"name: deploy", "rule: key-algorithm\n      keypair: dave-2009", "ci runner #7",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("draft lacks %q", want)
		}
	}
	if strings.Contains(text, "$6$") || strings.Contains(text, "PRIVATE KEY") {
		t.Fatal("draft holds a password hash or a private key")
	}
	for _, args := range [][]string{
		{"plan", "-f", draft, "-i", f.inventory, "--detailed-exitcode"},
		{"plan", "-f", draft, "--detailed-exitcode"},
	} {
		code, out, errOut := f.run(t, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, want 0 (no changes)\n%s\n%s", args, code, out, errOut)
		}
	}
}

// TestAccessLab checks access in all three formats, --usage (a login made now, records from
// rotated files 200 days back), stale-key, and exit 3 with a host down.
func TestAccessLab(t *testing.T) {
	f := newMessyFleet(t)
	draft := filepath.Join(f.dir, "access.yaml")
	if code, _, errOut := f.run(t, "import", "-i", f.inventory, "--out", draft); code != exitOK {
		t.Fatalf("import: exit %d\n%s", code, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	web1 := f.l.Host("web-1")
	// After the import, someone adds a key to bob's authorized_keys2 on web-1 and web-2.
	foreign := filepath.Join(f.dir, "id_foreign")
	if _, err := lab.GenerateKey(foreign, "mallory@elsewhere"); err != nil {
		t.Fatal(err)
	}
	foreignPub := readString(t, foreign+".pub")
	for _, h := range []string{"web-1", "web-2"} {
		f.l.Host(h).MustExec(t, "printf '%s' "+transport.ShellQuote(foreignPub)+" >>/home/bob/.ssh/authorized_keys2")
	}
	if r, err := lab.SSH(ctx, web1, "alice", f.keys["alice"], "true"); err != nil || r.Code != 0 {
		t.Fatalf("alice's login: %v %+v", err, r)
	}
	// sshd writes the record after the session ends; give the stamper a moment.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(string(must(web1.ReadFile("/var/log/auth.log"))), "Accepted publickey for alice") {
		if time.Now().After(deadline) {
			t.Fatalf("no record of alice's login in auth.log:\n%s", must(web1.ReadFile("/var/log/auth.log")))
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, out, errOut := f.run(t, "access", "-f", draft, "-i", f.inventory, "--usage", "--format", "json")
	if code != exitOK {
		t.Fatalf("access: exit %d\n%s", code, errOut)
	}
	var rep struct {
		FormatVersion string `json:"formatVersion"`
		Hosts         []struct {
			Host, Status, Error string
			Accounts            []struct {
				User      string
				UID       any
				Managed   bool
				CanLogIn  bool
				BlockedBy []string
				Paths     []map[string]any
				Sudo      struct {
					Allowed, NoPasswd bool
					Rules             []string
				}
				Groups []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.FormatVersion != "1" || len(rep.Hosts) != 3 || rep.Hosts[0].Host != "db-1" {
		t.Fatalf("report shape: %s", out)
	}
	find := func(host, user string) (paths []map[string]any, sudoAllowed, nopw, canLogIn, managed bool) {
		for _, h := range rep.Hosts {
			for _, a := range h.Accounts {
				if h.Host == host && a.User == user {
					return a.Paths, a.Sudo.Allowed, a.Sudo.NoPasswd, a.CanLogIn, a.Managed
				}
			}
		}
		t.Fatalf("no %s on %s in %s", user, host, out)
		return
	}
	paths, _, _, canLogIn, managed := find("web-1", "alice")
	if !canLogIn || !managed || len(paths) < 2 {
		t.Errorf("alice on web-1: %v %v %v", canLogIn, managed, paths)
	}
	aliceFP := fingerprintOf(t, f.pubs["alice"])
	ciFP := fingerprintOf(t, f.pubs["alice-ci"])
	for _, p := range paths {
		switch p["fingerprint"] {
		case aliceFP:
			if p["lastUsed"] == nil || p["keypair"] != "alice-laptop" || p["managed"] != true || p["file"] != "/home/alice/.ssh/authorized_keys" {
				t.Errorf("alice's laptop key: %v", p)
			}
		case ciFP:
			lu, _ := p["lastUsed"].(string)
			if lu == "" || lu > time.Now().Add(-100*24*time.Hour).UTC().Format(time.RFC3339) {
				t.Errorf("alice-ci's last use should be 200 days ago: %v", p)
			}
		}
	}
	_, sudo, _, _, _ := find("web-1", "bob")
	if !sudo {
		t.Error("bob's sudo through the sudo group is not reported")
	}
	paths, _, _, _, _ = find("web-1", "bob")
	files := map[string]bool{}
	for _, p := range paths {
		if p["kind"] == "key" {
			files[p["file"].(string)] = true
		}
	}
	if !files["/home/bob/.ssh/authorized_keys2"] {
		t.Errorf("bob's second key file is not reported: %v", paths)
	}
	_, sudo, nopw, _, _ := find("db-1", "dave")
	if !sudo || !nopw {
		t.Error("dave's NOPASSWD sudo is not reported")
	}
	if !strings.Contains(errOut, "stale-key") || !strings.Contains(errOut, `key pair \"ci-runner-7\"`) && !strings.Contains(errOut, "ci-runner-7") {
		t.Errorf("no stale-key warning for alice's CI key:\n%s", errOut)
	}
	t.Logf("access --usage stderr:\n%s", errOut)
	if !strings.Contains(errOut, "foreign-access") || !strings.Contains(errOut, "authorized_keys2:2") {
		t.Errorf("no foreign-access warning for bob's key in authorized_keys2:\n%s", errOut)
	}
	if strings.Contains(errOut, "alice-laptop\" of user") {
		t.Errorf("alice-laptop was used today but is reported stale:\n%s", errOut)
	}

	// plan --usage judges stale-key too, and plans the foreign key's removal (bob-home, beside it
	// in authorized_keys2, moves to authorized_keys).
	code, planOut, planErr := f.run(t, "plan", "-f", draft, "-i", f.inventory, "--usage", "--detailed-exitcode")
	if code != exitChanges || !strings.Contains(planErr, "stale-key") || !strings.Contains(planErr, "ci-runner-7") ||
		!strings.Contains(planOut, "authorized_keys bob:/home/bob/.ssh/authorized_keys2") || !strings.Contains(planOut, "1 key not in the manifest ("+fingerprintOf(t, foreignPub)+"); 1 moved to /home/bob/.ssh/authorized_keys") {
		t.Errorf("plan --usage: exit %d\n%s\n%s", code, planOut, planErr)
	}

	// CSV: a header, then one row per host, account and path; the same run twice is identical.
	code, csv1, _ := f.run(t, "access", "-f", draft, "-i", f.inventory, "--format", "csv")
	if code != exitOK {
		t.Fatalf("access csv: exit %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(csv1)).ReadAll()
	if err != nil || len(rows) < 10 || rows[0][0] != "host" {
		t.Fatalf("csv: %v\n%s", err, csv1)
	}
	if _, csv2, _ := f.run(t, "access", "-f", draft, "-i", f.inventory, "--format", "csv"); csv2 != csv1 {
		t.Errorf("csv not stable:\n%s\n---\n%s", csv1, csv2)
	}
	t.Logf("csv:\n%s", csv1)
	_, txtU, _ := f.run(t, "access", "-f", draft, "-i", f.inventory, "--usage")
	t.Logf("text --usage:\n%s", txtU)
	code, txt, _ := f.run(t, "access", "-i", f.inventory)
	if code != exitOK || !strings.Contains(txt, "host web-2") || !strings.Contains(txt, "not in the manifest") {
		t.Errorf("text (inventory only): exit %d\n%s", code, txt)
	}

	// A host that is down: exit 3, reported with its error, the others still there.
	if err := f.l.Host("db-1").Stop(); err != nil {
		t.Fatal(err)
	}
	code, out, _ = f.run(t, "access", "-f", draft, "-i", f.inventory, "--format", "json", "--connect-timeout", "3s")
	if code != exitHost || !strings.Contains(out, `"status": "error"`) || !strings.Contains(out, `"host": "web-2"`) {
		t.Errorf("host down: exit %d\n%s", code, out)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		return []byte(err.Error())
	}
	return b
}
