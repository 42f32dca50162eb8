package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/manifest"
)

// TestEmbeddedRegoTests runs the Rego unit tests of policies/ through go test.
func TestEmbeddedRegoTests(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := RunTests(context.Background(), nil, &out, false)
	if err != nil {
		t.Fatalf("RunTests: %v\n%s", err, out.String())
	}
	if failed > 0 || passed == 0 {
		t.Fatalf("Rego tests: %d passed, %d failed\n%s", passed, failed, out.String())
	}
	t.Logf("%d Rego tests passed", passed)
}

func TestEmbeddedPoliciesCompileStrict(t *testing.T) {
	engine(t)
}

// exampleManifest has one of almost everything the rules judge.
func exampleManifest(t *testing.T) (*manifest.Manifest, func(string) (string, bool)) {
	m := &manifest.Manifest{
		APIVersion: "accessctl/v1",
		Keypairs: []manifest.Keypair{
			{Name: "alice-laptop", PublicKey: seededKey(t, 1, "alice@laptop")},
			{Name: "alice-copy", PublicKey: seededKey(t, 1, "copy")},
			{Name: "bob", PublicKey: seededKey(t, 2, "")},
		},
		Users: []manifest.User{
			{Name: "alice", Password: &manifest.Password{Env: "ALICE_PW"}, RDP: true, Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}},
			{Name: "bob", Password: &manifest.Password{Env: "BOB_PW"}, RDP: true},
			{Name: "root"},
			{Name: "carol", Password: &manifest.Password{Hash: "$6$x$y"}, RDP: true},
		},
		HostGroups: []manifest.HostGroup{
			{Name: "web", Users: []string{"alice"}, Sshd: &manifest.Sshd{PermitRootLogin: ptr("no")}},
			{Name: "legacy", Users: []string{"alice", "bob", "carol"}, Sshd: &manifest.Sshd{PermitRootLogin: ptr("yes"), PasswordAuthentication: ptr(true)}},
		},
		Hosts: []manifest.Host{
			{Name: "web-1", OS: "linux", User: "ecs-user", Groups: []string{"web"}},
			{Name: "win-1", OS: "windows", User: "root", Groups: []string{"legacy"}},
		},
		Policy: manifest.Policy{Exceptions: []manifest.Exception{
			{Rule: "password-auth-enabled", HostGroup: "web", Reason: "other group", Expires: "2099-01-01"},
		}},
	}
	positionsFor(m)
	return m, env(map[string]string{"ALICE_PW": "Xk9#mPq2$vLr8!wZ", "BOB_PW": "bob123"})
}

func TestEvalFindings(t *testing.T) {
	m, lookup := exampleManifest(t)
	in, err := BuildInput(m, nil, InputOptions{LookupEnv: lookup, Today: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := engine(t).Eval(context.Background(), in, m)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ rule, sev, path string }
	var got []key
	for _, f := range fs {
		got = append(got, key{f.Rule, f.Severity, f.Path})
		want := m.Positions[f.Path]
		if f.File != "access.yaml" || f.Line != want.Line || f.Column != want.Column {
			t.Errorf("%s at %s:%d:%d, want line %d", f.Rule, f.File, f.Line, f.Column, want.Line)
		}
		if strings.Contains(f.Message, "bob123") || strings.Contains(f.Message, "AAAA") {
			t.Errorf("message leaks a secret or key: %s", f.Message)
		}
	}
	want := []key{
		{"duplicate-key", "deny", "keypairs[1].publicKey"},
		{"weak-password", "deny", "users[1].password"},
		{"root-user", "deny", "users[2].name"},
		{"password-unverifiable", "warn", "users[3].password"},
		{"rdp-session-limit", "warn", "hostGroups[1].users"},
		{"root-login", "deny", "hostGroups[1].sshd.permitRootLogin"},
		{"password-auth-enabled", "warn", "hostGroups[1].sshd.passwordAuthentication"},
		{"connect-as-root", "warn", "hosts[1].user"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
	weak := findingsOf(fs, "weak-password")[0].Message
	for _, reason := range []string{"too short (6 < 12)", "lacks upper case", "lacks a special character", "contains the user name", "easy to guess"} {
		if !strings.Contains(weak, reason) {
			t.Errorf("weak-password message %q lacks %q", weak, reason)
		}
	}
	b, _ := json.Marshal(fs[0])
	if want := `{"rule":"duplicate-key","severity":"deny","message":"key pair \"alice-copy\" holds the same public key as key pair \"alice-laptop\"","file":"access.yaml","line":8,"column":16,"path":"keypairs[1].publicKey"}`; string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
}

func TestExceptions(t *testing.T) {
	m := &manifest.Manifest{
		Users: []manifest.User{
			{Name: "alice", Password: &manifest.Password{Hash: "$6$a"}},
			{Name: "bob", Password: &manifest.Password{Hash: "$6$b"}},
			{Name: "carol", Password: &manifest.Password{Hash: "$6$c"}},
		},
		HostGroups: []manifest.HostGroup{{Name: "legacy", Sshd: &manifest.Sshd{PermitRootLogin: ptr("no"), PasswordAuthentication: ptr(true)}}},
		Hosts:      []manifest.Host{{Name: "web-1", OS: "linux"}},
		Policy: manifest.Policy{Exceptions: []manifest.Exception{
			{Rule: "password-unverifiable", User: "alice", Expires: "2026-05-01"}, // applies through its date
			{Rule: "password-unverifiable", User: "bob", Expires: "2026-04-30"},   // expired
			{Rule: "weak-password", User: "carol", Expires: "2099-01-01"},         // other rule
			{Rule: "password-auth-enabled", HostGroup: "legacy", Expires: "2099-01-01"},
			{Rule: "lockout", Host: "web-1", Expires: "2099-01-01"},
			{Rule: "unmanaged-user", Host: "db-9", Expires: "2099-01-01"}, // by the finding's host
		}},
	}
	positionsFor(m)
	plan := map[string]any{"hosts": []any{map[string]any{"name": "web-1", "path": "hosts[0]", "guard": map[string]any{"login": "ops", "loginKeysRemoved": true}}}}
	live := map[string]any{"hosts": []any{map[string]any{"name": "db-9", "status": "ok", "users": []any{
		map[string]any{"name": "eve", "human": true, "managed": false, "keys": []any{}},
	}}}}
	in, err := BuildInput(m, nil, InputOptions{Today: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Plan: plan, Live: live})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := engine(t).Eval(context.Background(), in, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Rule+" "+f.Path)
	}
	want := []string{
		"password-unverifiable users[1].password",
		"password-unverifiable users[2].password",
		"exception-expired policy.exceptions[1]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings after exceptions:\n got %q\nwant %q", got, want)
	}
}

func TestLocateFallback(t *testing.T) {
	m := &manifest.Manifest{
		Files: []string{"a.yaml", "b.yaml"},
		Positions: map[string]manifest.Pos{
			"users[1]":                  {File: "b.yaml", Line: 4, Column: 5},
			"hostGroups[0].sshd":        {File: "a.yaml", Line: 9, Column: 7},
			"hostGroups[0].users[2]":    {File: "a.yaml", Line: 8, Column: 12},
			"policy.exceptions[0].rule": {File: "a.yaml", Line: 30, Column: 13},
			"policy":                    {File: "a.yaml", Line: 27, Column: 1},
		},
	}
	cases := map[string]manifest.Pos{
		"users[1].password.env":              {File: "b.yaml", Line: 4, Column: 5},
		"users[1]":                           {File: "b.yaml", Line: 4, Column: 5},
		"hostGroups[0].sshd.permitRootLogin": {File: "a.yaml", Line: 9, Column: 7},
		"hostGroups[0].users[2]":             {File: "a.yaml", Line: 8, Column: 12},
		"policy.exceptions[1]":               {File: "a.yaml", Line: 27, Column: 1},
		"users[7].name":                      {File: "a.yaml"},
		"":                                   {File: "a.yaml"},
	}
	for path, want := range cases {
		if got := locate(m, path); got != want {
			t.Errorf("locate(%q) = %v, want %v", path, got, want)
		}
	}
	if got := locate(&manifest.Manifest{}, "users[0]"); got != (manifest.Pos{}) {
		t.Errorf("no files: %v", got)
	}
}

func TestSortAndDedupe(t *testing.T) {
	fs := sortFindings([]Finding{
		{Rule: "b", File: "a.yaml", Line: 3, Column: 1},
		{Rule: "a", File: "a.yaml", Line: 3, Column: 1},
		{Rule: "z", File: "a.yaml", Line: 1, Column: 9},
		{Rule: "a", File: "a.yaml", Line: 3, Column: 1},
		{Rule: "a", File: "0.yaml", Line: 50, Column: 1},
	})
	var got []string
	for _, f := range fs {
		got = append(got, f.File+":"+f.Rule)
	}
	if want := []string{"0.yaml:a", "a.yaml:z", "a.yaml:a", "a.yaml:b"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func writePolicy(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUserPolicy(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "shell.rego", `package accessctl.rules.shell

import rego.v1

deny contains {"rule": "no-zsh", "msg": sprintf("user %q uses zsh", [u.name]), "path": sprintf("users[%d].shell", [i])} if {
	some i, u in input.manifest.users
	u.shell == "/bin/zsh"
}

warn contains sprintf("user %s has no full name", [u.name]) if {
	some u in input.manifest.users
	u.fullName == ""
}
`)
	// A user's tests are not loaded by check: they may use test-only helpers.
	writePolicy(t, dir, "shell_test.rego", "package accessctl.rules.shell_test\n\nimport rego.v1\n\ntest_x if { x := 1 }\n")
	e, err := New(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Users: []manifest.User{{Name: "alice", Shell: "/bin/zsh", FullName: "Alice"}, {Name: "bob"}}}
	positionsFor(m)
	in, _ := BuildInput(m, nil, InputOptions{})
	fs, err := e.Eval(context.Background(), in, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("findings: %+v", fs)
	}
	// The string finding has no path: it sits at the top of the first file, so it sorts first.
	if f := fs[1]; f.Rule != "no-zsh" || f.Severity != "deny" || f.Path != "users[0].shell" || f.Line != m.Positions["users[0]"].Line {
		t.Errorf("no-zsh finding: %+v", f)
	}
	if f := fs[0]; f.Rule != "shell" || f.Severity != "warn" || f.Message != "user bob has no full name" || f.File != "access.yaml" || f.Line != 0 {
		t.Errorf("string finding: %+v", f)
	}
}

func TestNewRejectsBadPolicies(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unused.rego", "package accessctl.rules.x\n\nimport rego.v1\n\ndeny contains \"m\" if {\n\ty := 1\n\tinput.a == 2\n}\n",
			[]string{"unused.rego:6", "assigned var y unused"}},
		{"syntax.rego", "package accessctl.rules.x\n\ndeny contains \"m\" if {\n\tinput.a ==\n}\n",
			[]string{"syntax.rego:", "rego_parse_error"}},
		{"pkg.rego", "package mycompany.rules\n\ndeny contains \"m\" if { input.a == 1 }\n",
			[]string{"pkg.rego:1", "package mycompany.rules", "accessctl.rules.<name>"}},
		{"bool.rego", "package accessctl.rules.x\n\ndeny if { input.a == 1 }\n",
			[]string{"bool.rego:3", "deny must be a set"}},
		{"undefined.rego", "package accessctl.rules.x\n\ndeny contains \"m\" if { nosuchfunc(input.a) }\n",
			[]string{"undefined.rego:3", "nosuchfunc"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		writePolicy(t, dir, c.name, c.src)
		_, err := New(context.Background(), []string{dir})
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	if _, err := New(context.Background(), []string{filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing policy directory: no error")
	}
	if _, err := New(context.Background(), []string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no .rego files") {
		t.Errorf("empty policy directory: %v", err)
	}
}

func TestRunTestsDirs(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "x.rego", "package accessctl.rules.x\n\nimport rego.v1\n\ndeny contains \"m\" if input.a == 1\n")
	writePolicy(t, dir, "x_test.rego", `package accessctl.rules.x_test

import data.accessctl.rules.x
import rego.v1

test_fires if count(x.deny) == 1 with input as {"a": 1}

test_wrong if count(x.deny) == 1 with input as {"a": 2}
`)
	var out bytes.Buffer
	passed, failed, err := RunTests(context.Background(), []string{dir}, &out, false)
	if err != nil || passed != 1 || failed != 1 {
		t.Errorf("RunTests = %d passed, %d failed, %v\n%s", passed, failed, err, out.String())
	}
	if !strings.Contains(out.String(), "test_wrong") {
		t.Errorf("output does not name the failing test:\n%s", out.String())
	}

	writePolicy(t, dir, "bad.rego", "package accessctl.rules.bad\n\nimport rego.v1\n\ndeny contains \"m\" if {\n\tz := 1\n\tinput.a == 1\n}\n")
	if _, _, err := RunTests(context.Background(), []string{dir}, &out, false); err == nil || !strings.Contains(err.Error(), "bad.rego:6") {
		t.Errorf("strict compile error not reported with file:line: %v", err)
	}
}

func TestBoundKeypairDeleteAgainstBase(t *testing.T) {
	base := &manifest.Manifest{
		Keypairs: []manifest.Keypair{{Name: "alice-laptop", PublicKey: seededKey(t, 1, "")}, {Name: "alice-old", PublicKey: seededKey(t, 2, "")}},
		Users:    []manifest.User{{Name: "alice", Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}, {Keypair: "alice-old", Expires: "2027-01-01"}}}},
	}
	m := &manifest.Manifest{
		Keypairs: []manifest.Keypair{{Name: "alice-laptop", PublicKey: seededKey(t, 1, "")}},
		Users:    []manifest.User{{Name: "alice", Keypairs: []manifest.Binding{{Keypair: "alice-laptop"}}}},
	}
	positionsFor(m)
	in, err := BuildInput(m, base, InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := engine(t).Eval(context.Background(), in, m)
	if err != nil {
		t.Fatal(err)
	}
	got := findingsOf(fs, "bound-keypair-delete")
	if len(got) != 1 || got[0].Path != "keypairs" || got[0].Line != m.Positions["keypairs"].Line || !strings.Contains(got[0].Message, `"alice-old"`) {
		t.Errorf("bound-keypair-delete: %+v", got)
	}
	// Unbound in the base: deleting it is fine.
	base.Users[0].Keypairs = base.Users[0].Keypairs[:1]
	in, _ = BuildInput(m, base, InputOptions{})
	if fs, _ := engine(t).Eval(context.Background(), in, m); len(findingsOf(fs, "bound-keypair-delete")) != 0 {
		t.Errorf("unbound deletion denied: %+v", fs)
	}
}

// dsaKey is a 1024-bit ssh-dss public key (generating DSA parameters in a test is slow).
const dsaKey = "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPMzMSpaVOPlnIm3QN1GC7N7qKWKwsGnHqkcCsDr5aj82BUnT4ZhG8E3vnuFcyvnQyIcJLZtk38WJu2WWBD8tCQAfLBMCYrFVp6Wf1mKRqsTcmgC2UZb0dSZhDPSn3qHcW26zIEmXrUmy8aRoGQr1P2ZUlSdwXa5HzQ8yvWx6IIt"

func TestKeypairScopedException(t *testing.T) {
	m := &manifest.Manifest{
		Keypairs: []manifest.Keypair{
			{Name: "legacy-dsa", PublicKey: dsaKey},
			{Name: "other-dsa", PublicKey: strings.TrimSuffix(dsaKey, "t") + "u"},
		},
		Policy: manifest.Policy{Exceptions: []manifest.Exception{{Rule: "key-algorithm", Keypair: "legacy-dsa", Expires: "2099-12-31"}}},
	}
	positionsFor(m)
	in, err := BuildInput(m, nil, InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kp := in["manifest"].(map[string]any)["keypairs"].([]any)[0].(map[string]any)["key"].(map[string]any); kp["type"] != "ssh-dss" || kp["bits"] != 1024 {
		t.Fatalf("dsa key facts: %v", kp)
	}
	fs, err := engine(t).Eval(context.Background(), in, m)
	if err != nil {
		t.Fatal(err)
	}
	got := findingsOf(fs, "key-algorithm")
	if len(got) != 1 || got[0].Path != "keypairs[1].publicKey" || !strings.Contains(got[0].Message, "ssh-dss") {
		t.Errorf("key-algorithm after keypair exception: %+v", got)
	}
}
