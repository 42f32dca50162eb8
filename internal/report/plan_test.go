package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

func samplePlan() *reconcile.Plan {
	uid := 2001
	const fpA = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
	const fpB = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	const fpC = "SHA256:Aq3ZFTqVHbwbT3Kd4kXX0WnHrQn8bNBdX6ZQnP8l+Hk"
	aliceFile := "/home/alice/.ssh/authorized_keys"
	bobFile := "/home/bob/.ssh/authorized_keys"
	return reconcile.NewPlan([]*reconcile.HostPlan{
		{Name: "web-2", Status: reconcile.StatusError, Error: "read host: dial 10.0.0.6:22: connection refused"},
		{Name: "web-1", Status: reconcile.StatusOK, Fingerprint: "sha256:00", Unmanaged: []string{"carol"}, Changes: []reconcile.Change{
			{Action: reconcile.Create, Resource: reconcile.ResUser, Name: "alice", Reason: "alice is not on web-1",
				After: reconcile.UserView{UID: &uid, Shell: "/bin/bash", Groups: []string{"developers"}, State: "active"}},
			{Action: reconcile.Create, Resource: reconcile.ResKeys, Name: "alice", Reason: "authorized_keys for alice: 1 key to install",
				After: []reconcile.KeyView{{Keypair: "alice-laptop", Fingerprint: fpA, Type: "ssh-ed25519", Comment: "alice@laptop", File: aliceFile}}},
			{Action: reconcile.Create, Resource: reconcile.ResGroup, Name: "alice:developers", Reason: "alice is not in group developers", After: "developers"},
			{Action: reconcile.Update, Resource: reconcile.ResSudo, Name: "alice", Reason: "sudo of alice differs from the manifest",
				After: reconcile.SudoView{Rule: "alice ALL=(ALL:ALL) ALL", File: "/etc/sudoers.d/accessctl"}},
			{Action: reconcile.Update, Resource: reconcile.ResKeys, Name: "bob", Reason: "authorized_keys for bob: 1 key not in the manifest, 1 key differs only in the comment",
				Before: []reconcile.KeyView{
					{Keypair: "bob-desk", Fingerprint: fpB, Type: "ssh-ed25519", Options: `from="10.0.0.0/8"`, Comment: "bob@old", File: bobFile},
					{Fingerprint: fpC, Type: "ssh-rsa", Comment: "mallory", File: bobFile},
				},
				After: []reconcile.KeyView{
					{Keypair: "bob-desk", Fingerprint: fpB, Type: "ssh-ed25519", Options: `from="10.0.0.0/8"`, Comment: "bob@desk", File: bobFile},
				}},
			{Action: reconcile.Update, Resource: reconcile.ResUser, Name: "bob", Reason: "bob differs from the manifest: shell",
				Before: reconcile.UserView{Shell: "/bin/sh"}, After: reconcile.UserView{Shell: "/bin/bash"}},
			{Action: reconcile.Delete, Resource: reconcile.ResUser, Name: "dave", Reason: "dave is absent in the manifest",
				Before: reconcile.UserView{UID: &uid, Shell: "/bin/bash", State: "active"}, After: reconcile.UserView{State: "absent", Home: "kept"}},
			{Action: reconcile.Update, Resource: reconcile.ResSshd, Name: "passwordAuthentication", Reason: "passwordAuthentication is yes; the manifest says no",
				Before: reconcile.SshdView{Value: "yes", Where: "/etc/ssh/sshd_config:57"}, After: reconcile.SshdView{Value: "no", Where: "/etc/ssh/sshd_config.d/00-accessctl.conf"}},
			{Action: reconcile.Update, Resource: reconcile.ResPassword, Name: "erin", Reason: "password of erin differs from the manifest", Before: "differs", After: "set"},
		}},
		{Name: "web-3", Status: reconcile.StatusOK},
		{Name: "web-4", Status: reconcile.StatusOK},
	})
}

func TestRenderPlanGolden(t *testing.T) {
	for _, f := range PlanFormats() {
		var b bytes.Buffer
		if err := RenderPlan(&b, f, samplePlan()); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "plan."+f+".golden")
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs (go test -update):\n%s", path, b.Bytes())
		}
	}
	if err := RenderPlan(&bytes.Buffer{}, "xml", samplePlan()); err == nil {
		t.Error("unknown format accepted")
	}
}
