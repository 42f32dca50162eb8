package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/access"
)

func sampleAccess() *access.Report {
	used := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	return access.NewReport([]*access.Host{
		access.ErrorHost("web-2", errString("dial tcp 10.0.0.6:22: connection refused")),
		{Host: "web-1", Status: "ok", Usage: &access.Coverage{Since: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, Accounts: []access.Account{
			{User: "alice", UID: 2001, Managed: true, CanLogIn: true, BlockedBy: []string{}, Groups: []string{"alice", "sudo"},
				Sudo: access.Sudo{Allowed: true, Rules: []string{"(ALL : ALL) ALL"}},
				Paths: []access.Path{
					{Kind: access.KindKey, File: "/home/alice/.ssh/authorized_keys", Line: 2, Fingerprint: "SHA256:aaa", Type: "ssh-ed25519", Keypair: "alice-laptop", Options: []string{`from="10.0.0.0/8"`}, Managed: true, LastUsed: &used},
					{Kind: access.KindKey, File: "/home/alice/.ssh/authorized_keys2", Line: 1, Fingerprint: "SHA256:eee", Type: "ssh-rsa"},
					{Kind: access.KindPassword, Allowed: false},
				}},
			{User: "bob", UID: 2002, BlockedBy: []string{"/etc/ssh/sshd_config:14: DenyUsers bob"}, Groups: []string{"bob"}, Sudo: access.Sudo{Rules: []string{}}, Paths: []access.Path{}},
		}},
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func TestRenderAccessGolden(t *testing.T) {
	for _, f := range AccessFormats() {
		var b bytes.Buffer
		if err := RenderAccess(&b, f, sampleAccess()); err != nil {
			t.Fatal(err)
		}
		golden(t, "access."+f, b.Bytes())
	}
	if err := RenderAccess(&bytes.Buffer{}, "xml", sampleAccess()); err == nil {
		t.Error("unknown format accepted")
	}
}
