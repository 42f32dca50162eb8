package hoststate

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestExtraScriptRunsHere runs the read script with every extra on this machine (as root, as
// the lab tests do) and checks the extra sections parse.
func TestExtraScriptRunsHere(t *testing.T) {
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Skip("sudo not installed")
	}
	out, err := exec.Command("sh", "-c", ReadExtraScript()+ReadLinuxScript(), "sh", "+access", "+usage", "root").Output()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLinux(out)
	if err != nil {
		t.Fatal(err)
	}
	x := l.Extra
	if x == nil || !x.Candidates["root"] {
		t.Fatalf("no access facts: %+v", x)
	}
	if x.Passwords["root"].State == "" {
		t.Errorf("no password state for root")
	}
	plain, err := exec.Command("sh", "-c", ReadLinuxScript(), "sh", "root").Output()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseLinux(plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Fingerprint != l.Fingerprint {
		t.Error("the extras changed the host's fingerprint")
	}
}

func TestSudoLevel(t *testing.T) {
	out := `Matching Defaults entries for bob on vm:
    env_reset, mail_badpass

User bob may run the following commands on vm:
    (ALL : ALL) ALL
    (root) NOPASSWD: /usr/bin/systemctl restart nginx
`
	r := parseSudoList(out)
	if len(r.Rules) != 2 || r.Level() != "true" || !r.NoPasswd() {
		t.Errorf("%+v level %s", r, r.Level())
	}
	for rule, want := range map[string]string{
		"(ALL) NOPASSWD: ALL":               "nopasswd",
		"(ALL : ALL) NOPASSWD: SETENV: ALL": "nopasswd",
		"(ALL) ALL":                         "true",
		"(postgres) ALL":                    "partial",
		"(ALL) /bin/ls":                     "partial",
		"(ALL) NOPASSWD: PASSWD: ALL":       "true",
	} {
		if got := (SudoRights{Rules: []string{rule}}).Level(); got != want {
			t.Errorf("%s: %s, want %s", rule, got, want)
		}
	}
	if got := parseSudoList("User eve is not allowed to run sudo on vm.\n").Level(); got != "false" {
		t.Errorf("eve: %s", got)
	}
}

func TestParseAcceptedLine(t *testing.T) {
	ref := time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		line string
		want Login
		ok   bool
	}{
		{"Jan  2 09:15:01 web-1 sshd[812]: Accepted publickey for alice from 10.0.0.9 port 51234 ssh2: ED25519 SHA256:abcDEF012", Login{User: "alice", Method: "publickey", Fingerprint: "SHA256:abcDEF012", Time: time.Date(2026, 1, 2, 9, 15, 1, 0, time.UTC)}, true},
		// December records in a file last written in January belong to the year before.
		{"Dec 31 23:59:59 web-1 sshd[1]: Accepted password for bob from 10.0.0.9 port 1 ssh2", Login{User: "bob", Method: "password", Time: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)}, true},
		{"2026-01-02T09:15:01.123456+01:00 web-1 sshd-session[9]: Accepted publickey for carol from ::1 port 2 ssh2: RSA SHA256:zz", Login{User: "carol", Method: "publickey", Fingerprint: "SHA256:zz", Time: time.Date(2026, 1, 2, 8, 15, 1, 123456000, time.UTC)}, true},
		{"2026-01-02T09:15:01+0000 web-1 sshd[9]: Accepted keyboard-interactive/pam for dave from 1.2.3.4 port 2 ssh2", Login{User: "dave", Method: "keyboard-interactive/pam", Time: time.Date(2026, 1, 2, 9, 15, 1, 0, time.UTC)}, true},
		{"Jan  2 09:15:01 web-1 sudo[1]: Accepted publickey for alice from 1 port 2 ssh2: ED25519 SHA256:x", Login{}, false},
		{"Jan  2 09:15:01 web-1 sshd[1]: Failed publickey for alice from 1 port 2 ssh2: ED25519 SHA256:x", Login{}, false},
		{"Jan  2 09:15:01 web-1 sshd[1]: Accepted publickey for alice from 1 port 2 ssh2", Login{}, false},
		{"garbage", Login{}, false},
	}
	for _, c := range cases {
		got, ok := ParseAcceptedLine(c.line, ref)
		if ok != c.ok || (ok && (got != c.want && !(got.Time.Equal(c.want.Time) && got.User == c.want.User && got.Method == c.want.Method && got.Fingerprint == c.want.Fingerprint))) {
			t.Errorf("%s:\n got %+v %v\nwant %+v %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func TestUsageSources(t *testing.T) {
	var u Usage
	file := strings.Join([]string{
		"/var/log/auth.log.1",
		"tz=+0000 now=1767434400 mtime=1767434400 truncated=0",
		"@first Dec 20 00:00:01 h rsyslogd: start",
		"Dec 21 10:00:00 h sshd[1]: Accepted publickey for alice from 1 port 2 ssh2: ED25519 SHA256:k1",
		"Jan  2 10:00:00 h sshd[1]: Accepted publickey for alice from 1 port 2 ssh2: ED25519 SHA256:k1",
	}, "\n")
	journal := strings.Join([]string{
		"tz=+0000 now=1767434400",
		"@first 2025-11-01T00:00:00+0000 h kernel: boot",
		"2026-01-03T08:00:00+0000 h sshd[1]: Accepted password for alice from 1 port 2 ssh2",
	}, "\n")
	if err := u.addSource(false, []byte(file)); err != nil {
		t.Fatal(err)
	}
	if err := u.addSource(true, []byte(journal)); err != nil {
		t.Fatal(err)
	}
	u.finish()
	if k, ok := u.LastKey("alice", "SHA256:k1"); !ok || !k.Equal(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("last key %v %v", k, ok)
	}
	if p, ok := u.LastPassword("alice"); !ok || p.Day() != 3 {
		t.Errorf("last password %v", p)
	}
	if !u.Since.Equal(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("since %v", u.Since)
	}
}

// FuzzUsage feeds arbitrary log text through the usage parser: it must never panic, and every
// login it keeps names a user and a method.
func FuzzUsage(f *testing.F) {
	f.Add([]byte("/var/log/auth.log\ntz=+0000 mtime=1767434400\n@first Jan  1 00:00:00 h x: y\nJan  2 10:00:00 h sshd[1]: Accepted publickey for a from 1 port 2 ssh2: ED25519 SHA256:k"), false)
	f.Add([]byte("tz=-0330\n@first 2026-01-02T10:00:00Z h k: x\n2026-01-02T10:00:00.5+05:30 h sshd-session[2]: Accepted password for b from x port 1 ssh2"), true)
	f.Fuzz(func(t *testing.T, body []byte, journal bool) {
		var u Usage
		if err := u.addSource(journal, body); err != nil {
			return
		}
		u.finish()
		for _, l := range u.Logins {
			if l.User == "" || l.Method == "" {
				t.Fatalf("empty login %+v", l)
			}
		}
	})
}

// TestReadExtraScriptGolden pins the extra sections' script and command line.
func TestReadExtraScriptGolden(t *testing.T) {
	cmd, err := ReadLinuxCommandWith(false, []string{"alice"}, ReadExtras{Access: true, Usage: true, Sudo: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "read_extra_linux.golden", []byte("$ "+cmd+"\n"+ReadExtraScript()))
	if _, err := ReadLinuxCommandWith(true, nil, ReadExtras{Sudo: []string{"x,y"}}); err == nil {
		t.Error("a hostile sudo user name was accepted")
	}
}

// FuzzExtraSections feeds arbitrary bodies to the extra sections' parser: it must never panic.
func FuzzExtraSections(f *testing.F) {
	f.Add("ax_keyindex", []byte("alice\t/home/alice/.ssh/authorized_keys\tfile\t0\n"))
	f.Add("ax_sudo", []byte("@@sudo alice VXNlciBhbGljZSBtYXkgcnVuIHRoZSBmb2xsb3dpbmcgY29tbWFuZHMgb24geDoKICAgIChBTEwpIEFMTAo=\n"))
	f.Add("ax_shadow", []byte("alice:usable:\nbob:locked:1\n"))
	f.Add("ax_logindefs", []byte("uid_min=1000\nuid_max=60000\n"))
	f.Add("ax_keyfile", []byte("alice\t/x\nssh-ed25519 AAAA\n"))
	f.Add("usage_file", []byte("/var/log/auth.log\ntz=+0000 mtime=1\n@first x\n"))
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		p := &extraParser{x: &Extra{}}
		if err := p.section(section{kind: kind, arg: "-", attrs: map[string]string{"sep": "0123456789abcdef0123", "n": "1"}, body: body}); err != nil {
			return
		}
		_ = p.finish()
	})
}
