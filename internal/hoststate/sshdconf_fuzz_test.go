package hoststate

import (
	"strings"
	"testing"
)

// FuzzSshdConfig: whatever sshd_config, a drop-in and `sshd -T` hold on a host, the layout,
// winner, Include and managed-block functions never panic, and what they return is sane.
// Run longer: go test -run '^$' -fuzz '^FuzzSshdConfig$' -fuzztime 5m ./internal/hoststate
func FuzzSshdConfig(f *testing.F) {
	debian := "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n"
	f.Add(debian, "PasswordAuthentication yes\n", "passwordauthentication yes\npermitrootlogin without-password\n")
	f.Add(BlockBegin+"\nPasswordAuthentication no\n"+BlockEnd+"\n"+debian, "Match User alice\n  PasswordAuthentication yes\nMatch all\nPermitRootLogin=yes\n", "")
	f.Add("Include sshd_config.d/*.conf other/*.conf\nmatch group admins\nInclude /etc/ssh/sshd_config.d/*\n", "Include /etc/ssh/sshd_config.d/*.conf\n", "Port 22\nport 23\n")
	f.Add(BlockBegin+"\nno end\n", "\t=\n ChallengeResponseAuthentication\tyes\n", "\n \n")
	f.Add("Include [\n", "", "")
	f.Fuzz(func(t *testing.T, main, dropIn, sshdT string) {
		l := &Linux{
			SshdConfig: File{Kind: KindFile, Content: main},
			DropIns:    []DropIn{{Name: "50-cloud-init.conf", File: File{Kind: KindFile, Content: dropIn}}},
		}
		ds := l.SshdLayout(nil, nil)
		for _, d := range ds {
			if d.Keyword == "" || d.Keyword != strings.ToLower(d.Keyword) || d.Line < 1 || d.File == "" {
				t.Fatalf("bad directive %+v", d)
			}
			if d.Keyword == "include" || d.Keyword == "match" {
				t.Fatalf("%s line kept as a directive: %+v", d.Keyword, d)
			}
		}
		if len(ds) > strings.Count(main, "\n")+1+strings.Count(dropIn, "\n")+1 && !strings.Contains(strings.ToLower(main), "include") {
			t.Fatalf("%d directives from so few lines", len(ds))
		}
		for _, k := range []string{"passwordauthentication", "pubkeyauthentication", "kbdinteractiveauthentication", "permitrootlogin"} {
			top, matches := Winner(ds, k)
			if top != nil && (top.Keyword != k || top.Match != "") {
				t.Fatalf("winner for %s: %+v", k, top)
			}
			for _, m := range matches {
				if m.Match == "" {
					t.Fatalf("match directive without its Match line: %+v", m)
				}
			}
		}
		_ = l.IncludesDropInsFirst([]string{"PasswordAuthentication", "PermitRootLogin"})
		rest := RemoveManagedBlock(main)
		if ManagedBlock(rest) != "" {
			t.Fatalf("a managed block survives its removal: %q", rest)
		}
		if len(rest) > len(main) {
			t.Fatal("removing the block made the text longer")
		}
		if b := ManagedBlock(main); b != "" && (!strings.HasPrefix(strings.TrimSpace(b), BlockBegin) || !strings.HasSuffix(strings.TrimSpace(b), BlockEnd)) {
			t.Fatalf("managed block %q", b)
		}
		m := parseSshdT([]byte(sshdT))
		for k, v := range m {
			if k == "" || k != strings.ToLower(k) || strings.ContainsAny(k, " \n") {
				t.Fatalf("bad sshd -T keyword %q", k)
			}
			if k == "permitrootlogin" && v == "without-password" {
				t.Fatal("without-password not normalised")
			}
		}
	})
}
