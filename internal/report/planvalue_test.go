package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// A plan read back from JSON (plan --out, report merge) holds maps where the planner had Go
// types: the text must not change.
func TestRenderPlanAfterJSONRoundTrip(t *testing.T) {
	var direct, viaJSON bytes.Buffer
	if err := RenderPlan(&direct, "text", samplePlan()); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	var p reconcile.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if err := RenderPlan(&viaJSON, "text", &p); err != nil {
		t.Fatal(err)
	}
	if direct.String() != viaJSON.String() {
		t.Errorf("after a JSON round trip:\n%s\nwant:\n%s", viaJSON.String(), direct.String())
	}
}

func TestChangeDetails(t *testing.T) {
	key := func(kp, fp, opts, comment string) map[string]any {
		return map[string]any{"keypair": kp, "fingerprint": fp, "type": "ssh-ed25519", "options": opts, "comment": comment, "file": "/home/a/.ssh/authorized_keys"}
	}
	cases := []struct {
		name          string
		before, after any
		want          []string
	}{
		{"strings", "1 key", "2 keys", []string{"- 1 key", "+ 2 keys"}},
		{"nothing", nil, nil, nil},
		{"empty string is nothing", "", "S-1-5-32-544", []string{"+ S-1-5-32-544"}},
		{"only options differ", []any{key("k", "SHA256:x", "", "c")}, []any{key("k", "SHA256:x", "no-pty", "c")},
			[]string{`~ k SHA256:x (ssh-ed25519) in /home/a/.ssh/authorized_keys: options "" -> "no-pty"`}},
		{"unchanged keys are counted", []any{key("k", "SHA256:x", "", "c"), key("j", "SHA256:y", "", "")},
			[]any{key("k", "SHA256:x", "", "c"), key("j", "SHA256:y", "", ""), key("n", "SHA256:z", "", "")},
			[]string{"+ n SHA256:z (ssh-ed25519) in /home/a/.ssh/authorized_keys", "  2 other keys unchanged"}},
		{"all keys removed", []any{key("", "SHA256:x", "", "")}, []any{},
			[]string{"- SHA256:x (ssh-ed25519, no key pair in the manifest) in /home/a/.ssh/authorized_keys"}},
		{"fields", map[string]any{"uid": 5.0, "groups": []any{"a"}}, map[string]any{"uid": 6.0, "groups": []any{"a", "b"}},
			[]string{"~ uid 5 -> 6", "~ groups a -> a, b"}},
		{"list of names", nil, []any{"wheel", "docker"}, []string{"+ wheel, docker"}},
		{"control characters", "a\nb\x1b[31m", nil, []string{"- a b [31m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := changeDetails(reconcile.Change{Before: tc.before, After: tc.after})
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// Names and values from hosts cannot break out of the Markdown structure.
func TestMarkdownHostileValues(t *testing.T) {
	p := reconcile.NewPlan([]*reconcile.HostPlan{{Name: "web`1", Status: reconcile.StatusOK, Changes: []reconcile.Change{
		{Action: reconcile.Update, Resource: reconcile.ResKeys, Name: "alice", Reason: "x\n```\n# injected",
			Before: []reconcile.KeyView{{Fingerprint: "SHA256:x", Type: "ssh-ed25519", Comment: "```</details>", File: "f"}}, After: []reconcile.KeyView{}},
	}}})
	var b bytes.Buffer
	if err := RenderPlan(&b, "markdown", p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "```") != 2 || strings.Contains(out, "\n# injected") || strings.Contains(out, "web`1") {
		t.Errorf("markdown structure broken:\n%s", out)
	}
}

func TestGroupChanges(t *testing.T) {
	cs := []reconcile.Change{
		{Resource: reconcile.ResSshd, Name: "passwordauthentication"},
		{Resource: reconcile.ResKeys, Name: "bob"},
		{Resource: reconcile.ResKeys, Name: "/etc/accessctl/snapshot.json"},
		{Resource: reconcile.ResUser, Name: "alice"},
		{Resource: reconcile.ResGroup, Name: "bob:docker"},
		{Resource: "cloud_keypair", Name: "alice-laptop"},
	}
	var got []string
	for _, g := range groupChanges(cs) {
		got = append(got, fmt.Sprintf("%s:%d", g.title, len(g.changes)))
	}
	if want := "user bob:2 user alice:1 sshd:1 files:1 cloud_keypair:1"; strings.Join(got, " ") != want {
		t.Errorf("groups %q, want %q", strings.Join(got, " "), want)
	}
}

// A fleet plan in markdown folds each host into a <details> block and lists unchanged hosts on
// one line, so that a pull-request comment stays short.
func TestMarkdownLargeFleet(t *testing.T) {
	var hosts []*reconcile.HostPlan
	for i := 0; i < 8; i++ {
		h := &reconcile.HostPlan{Name: fmt.Sprintf("web-%d", i), Status: reconcile.StatusOK}
		if i < 3 {
			h.Changes = []reconcile.Change{{Action: reconcile.Create, Resource: reconcile.ResUser, Name: "alice", Reason: "alice is not on " + h.Name}}
		}
		hosts = append(hosts, h)
	}
	var b bytes.Buffer
	if err := RenderPlan(&b, "markdown", reconcile.NewPlan(hosts)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "<details><summary>") != 3 || strings.Count(out, "</details>") != 3 ||
		!strings.Contains(out, "No changes on 5 hosts: `web-3`, `web-4`, `web-5`, `web-6`, `web-7`") {
		t.Errorf("markdown:\n%s", out)
	}
}
