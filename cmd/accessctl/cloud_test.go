package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/cloudsim/ecssim"
	"github.com/accessctl/accessctl/internal/cloudsim/kpssim"
	"github.com/accessctl/accessctl/internal/lab"
)

const (
	cloudTestAliAK = "LTAI5tCliSimulatorID"
	cloudTestAliSK = "ali-secret-must-never-show"
	cloudTestHwAK  = "HWCLISIMULATORAK0001"
	cloudTestHwSK  = "hw-secret-must-never-show"
	cloudProject   = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

// TestCloudMixedPlanApply runs `accessctl plan` and `apply` from one manifest across two REAL
// Linux lab hosts and two SIMULATED registries (ecssim: ECS key pairs; kpssim: KPS), reached
// through the manifest's endpoint with the official SDKs and credentials from the providers'
// environment variables. Registry semantics are only as good as the simulators (docs/cloud.md).
//
// The KPS simulator runs twice: serving the ECS server list (bindings read from the servers),
// and serving KPS alone (bindings are accessctl's record in its key pairs' descriptions).
func TestCloudMixedPlanApply(t *testing.T) {
	for _, noServers := range []bool{false, true} {
		t.Run(fmt.Sprintf("kps-server-api=%v", !noServers), func(t *testing.T) { testCloudMixed(t, noServers) })
	}
}

func testCloudMixed(t *testing.T, noServerAPI bool) {
	l := lab.New(t, lab.HostSpec{Name: "web-1"}, lab.HostSpec{Name: "web-2"})
	ecs := ecssim.New("cn-hangzhou", ecssim.Instance{ID: "i-web1", OS: "linux"}, ecssim.Instance{ID: "i-other", OS: "linux"})
	ecs.AccessKeyID = cloudTestAliAK
	t.Cleanup(ecs.Close)
	kps := kpssim.New(cloudProject, kpssim.Server{ID: "srv-web2", OS: "Linux"})
	kps.AccessKey = cloudTestHwAK
	kps.PollsToFinish = 1
	kps.NoServerAPI = noServerAPI
	t.Cleanup(kps.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cloudTestAliAK)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cloudTestAliSK)
	t.Setenv("HUAWEICLOUD_SDK_AK", cloudTestHwAK)
	t.Setenv("HUAWEICLOUD_SDK_SK", cloudTestHwSK)
	// A key pair made in the console: never deleted, even though the manifest does not name it.
	ecs.AddKeyPair("console-made", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPVR8IJrAyBOEPUKc0vCjkUOLE1Kiw27zRE8IVByllEP+lGCxKZ6oHw3tpjN+/GljQlT4teTRm+PB0sUJnmTEKc= e256@test", nil)

	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice")
	if _, err := lab.GenerateKey(aliceKey, "alice@test"); err != nil {
		t.Fatal(err)
	}
	opsKey := filepath.Join(dir, "ops")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "ops@test", "-f", opsKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	hosts := l.ManifestHosts("web")
	mpath := filepath.Join(dir, "access.yaml")
	write := func(opsClouds string, bind bool, withOps bool) {
		var b strings.Builder
		fmt.Fprintf(&b, `apiVersion: accessctl/v1
clouds:
  - {name: ecs, provider: alibaba, region: cn-hangzhou, endpoint: %q}
  - {name: kps, provider: huawei, region: ap-southeast-3, endpoint: %q, project: %s}
keypairs:
  - name: alice-laptop
    publicKey: %s
    clouds: [kps]
`, ecs.URL, kps.URL, cloudProject, strings.TrimSpace(readString(t, aliceKey+".pub")))
		if withOps {
			fmt.Fprintf(&b, "  - name: ops\n    publicKey: %s\n    clouds: %s\n", strings.TrimSpace(readString(t, opsKey+".pub")), opsClouds)
		}
		b.WriteString("users:\n  - {name: alice, keypairs: [alice-laptop]}\nhostGroups:\n  - {name: web, users: [alice]}\nhosts:\n")
		for i, h := range hosts {
			fmt.Fprintf(&b, "  - {name: %s, address: %s, port: %d, user: %s, groups: [web]", h.Name, h.Address, h.Port, h.User)
			if bind {
				if i == 0 {
					b.WriteString(", cloud: {registry: ecs, instance: i-web1, keypair: ops}")
				} else {
					b.WriteString(", cloud: {registry: kps, instance: srv-web2, keypair: ops}")
				}
			}
			b.WriteString("}\n")
		}
		if err := os.WriteFile(mpath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		full := append([]string{"-f", mpath, "--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile, "--ssh-config", "none"}, args[1:]...)
		code := commands[args[0]].run(c, full)
		out := stdout.String() + stderr.String()
		for _, secret := range []string{cloudTestAliSK, cloudTestHwSK} {
			if strings.Contains(out, secret) {
				t.Fatalf("a credential appears in the output of %v", args)
			}
		}
		return code, stdout.String(), stderr.String()
	}
	mutating := func() (ecsCalls, kpsCalls []string) {
		for _, c := range ecs.Calls() {
			if !strings.HasPrefix(c.Action, "Describe") {
				ecsCalls = append(ecsCalls, c.Action)
			}
		}
		for _, c := range kps.Calls() {
			if !strings.HasPrefix(c.Op, "GET ") {
				kpsCalls = append(kpsCalls, c.Op)
			}
		}
		return
	}

	// 1. One plan: the hosts' changes and both registries', no mutating call.
	write("[ecs, kps]", true, true)
	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("first plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"host web-1:", "host web-2:", "cloud ecs: 2 changes", "cloud kps: 3 changes",
		"+ cloud_keypair ops", "+ cloud_keypair alice-laptop", "+ cloud_binding i-web1", "+ cloud_binding srv-web2",
		"next restarts, and accessctl never restarts an instance", "KPS associate task"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if e, k := mutating(); len(e)+len(k) > 0 {
		t.Fatalf("plan made mutating calls: ecs %v, kps %v", e, k)
	}
	t.Logf("first plan:\n%s", out)
	code, out, _ = run("plan", "--format", "json")
	var doc struct {
		Hosts []struct {
			Name    string
			Changes []struct{ Action, Resource, Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK {
		t.Fatalf("json plan: %v exit %d\n%s", err, code, out)
	}
	names := map[string]int{}
	for _, h := range doc.Hosts {
		names[h.Name] = len(h.Changes)
	}
	if names["cloud ecs"] != 2 || names["cloud kps"] != 3 || names["web-1"] == 0 {
		t.Errorf("json plan hosts: %v", names)
	}

	// 2. Apply: hosts and registries.
	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if in := ecs.Instance("i-web1"); in.KeyPair != "ops" || !in.PendingRestart {
		t.Errorf("ECS i-web1: %+v", in)
	}
	if sv := kps.ServerState("srv-web2"); sv.KeyName != "ops" {
		t.Errorf("KPS srv-web2: %+v", sv)
	}
	for _, k := range ecs.KeyPairs() {
		if k.Name == "ops" && k.Tags[cloud.MarkerKey] != cloud.MarkerValue {
			t.Errorf("ECS ops not tagged: %+v", k)
		}
	}
	if kp := kps.KeyPairs(); len(kp) != 2 || kp[1].Name != "ops" || !strings.HasPrefix(kp[1].Description, cloud.MarkerDescription) {
		t.Errorf("KPS key pairs: %+v", kp)
	}

	// 3. Nothing left to do.
	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}

	// 4. Removing ops while both registries still bind it: denied, no registry call made.
	write("", false, false)
	code, out, errOut = run("apply", "--yes")
	if code != exitInvalid || strings.Count(errOut, "bound-keypair-delete") < 2 {
		t.Fatalf("bound delete: exit %d\n%s\n%s", code, out, errOut)
	}
	// Only the first apply's calls: ECS import + attach; KPS two imports (+ their descriptions),
	// one associate (+ its record in the description).
	if e, k := mutating(); len(e) != 2 || len(k) != 6 {
		t.Errorf("mutating calls: ecs %v kps %v", e, k)
	}
	if ecs.CallCount("DeleteKeyPairs") != 0 || kps.CallCount("DELETE ") != 0 || ecs.CallCount("DetachKeyPair") != 0 {
		t.Fatalf("a delete or detach reached a registry: %v %v", ecs.Calls(), kps.Calls())
	}

	// 5. The way out: keep ops listed, drop the bindings (unbind), then remove it (delete).
	// The unbind goes through a saved plan: apply --plan refuses a registry that changed since
	// (the console bound i-other meanwhile), and applies an unchanged one.
	write("[ecs, kps]", false, true)
	planFile := filepath.Join(dir, "unbind.plan.json")
	if code, out, errOut = run("plan", "--out", planFile); code != exitOK {
		t.Fatalf("plan --out: exit %d\n%s\n%s", code, out, errOut)
	}
	if b, err := os.ReadFile(planFile); err != nil || strings.Contains(string(b), cloudTestAliSK) || strings.Contains(string(b), cloudTestHwSK) ||
		strings.Contains(string(b), cloudTestHwAK) || strings.Contains(string(b), cloudTestAliAK) {
		t.Fatalf("the plan file holds a credential (or cannot be read: %v)", err)
	}
	ecs.BindDirect("i-other", "console-made")
	code, out, errOut = run("apply", "--plan", planFile)
	if code != exitHost || !strings.Contains(errOut, "cloud ecs: failed: stale plan") || ecs.CallCount("DetachKeyPair") != 0 {
		t.Fatalf("stale registry: exit %d\n%s\n%s", code, out, errOut)
	}
	if kps.ServerState("srv-web2").KeyName != "" {
		t.Fatalf("the KPS registry (unchanged) was not applied from the plan file:\n%s\n%s", out, errOut)
	}
	ecs.BindDirect("i-other", "")
	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("unbind apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "- cloud_binding i-web1") || ecs.Instance("i-web1").KeyPair != "" || kps.ServerState("srv-web2").KeyName != "" {
		t.Fatalf("unbind:\n%s", out)
	}
	write("", false, false)
	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("delete apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if ecs.CallCount("DeleteKeyPairs") != 1 || kps.CallCount("DELETE /v3/{project}/keypairs/ops") != 1 {
		t.Fatalf("deletes: ecs %d kps %d", ecs.CallCount("DeleteKeyPairs"), kps.CallCount("DELETE /v3/{project}/keypairs/ops"))
	}
	if ks := ecs.KeyPairs(); len(ks) != 1 || ks[0].Name != "console-made" {
		t.Errorf("ECS key pairs left: %+v", ks)
	}
	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("final plan: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestCloudFailuresIsolated: a registry that cannot be read, a registry op that fails and a
// Windows instance (blocked) fail their registries (exit 3) and nothing else: the lab host and
// the healthy registry are applied in the same run.
func TestCloudFailuresIsolated(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "web-1"})
	ecs := ecssim.New("cn-hangzhou", ecssim.Instance{ID: "i-win", OS: "windows"})
	t.Cleanup(ecs.Close)
	kps := kpssim.New(cloudProject)
	t.Cleanup(kps.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cloudTestAliAK)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cloudTestAliSK)
	t.Setenv("HUAWEICLOUD_SDK_AK", cloudTestHwAK)
	t.Setenv("HUAWEICLOUD_SDK_SK", cloudTestHwSK)
	ecs.FailNext("ImportKeyPair", 500, "InternalError")

	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice")
	if _, err := lab.GenerateKey(aliceKey, "alice@test"); err != nil {
		t.Fatal(err)
	}
	ops := "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPVR8IJrAyBOEPUKc0vCjkUOLE1Kiw27zRE8IVByllEP+lGCxKZ6oHw3tpjN+/GljQlT4teTRm+PB0sUJnmTEKc= ops@test"
	h := l.ManifestHosts("web")[0]
	manifest := fmt.Sprintf(`apiVersion: accessctl/v1
clouds:
  - {name: ecs, provider: alibaba, region: cn-hangzhou, endpoint: %q}
  - {name: kps, provider: huawei, region: ap-southeast-3, endpoint: %q, project: %s}
  - {name: broken, provider: alibaba, region: cn-hangzhou, endpoint: "http://127.0.0.1:1"}
keypairs:
  - {name: alice-laptop, publicKey: %s, clouds: [kps]}
  - {name: ops, publicKey: %s, clouds: [ecs, kps]}
users:
  - {name: alice, keypairs: [alice-laptop]}
hostGroups:
  - {name: web, users: [alice], sshd: {permitRootLogin: "no"}}
hosts:
  - {name: %s, address: %s, port: %d, user: %s, groups: [web], cloud: {registry: ecs, instance: i-win, keypair: ops}}
`, ecs.URL, kps.URL, cloudProject, strings.TrimSpace(readString(t, aliceKey+".pub")), ops, h.Name, h.Address, h.Port, h.User)
	mpath := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		full := append([]string{"-f", mpath, "--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile, "--ssh-config", "none"}, args[1:]...)
		code := commands[args[0]].run(c, full)
		if strings.Contains(stdout.String()+stderr.String(), cloudTestAliSK) {
			t.Fatal("a credential appears in the output")
		}
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := run("plan")
	if code != exitHost || !strings.Contains(out, "cloud broken: error: read cloud registry broken:") ||
		!strings.Contains(strings.ToLower(out), "blocked: instance i-win runs windows; ecs cannot bind key pairs to windows instances") ||
		!strings.Contains(out, "host web-1: ") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = run("apply", "--yes", "--format", "json")
	if code != exitHost {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		Hosts []struct {
			Name, Status, Error string
			Changes             []struct{ Resource, Name, Result string }
		}
		Summary struct{ HostsFailed int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	results := map[string]string{}
	for _, h := range doc.Hosts {
		got[h.Name] = h.Status
		for _, c := range h.Changes {
			results[h.Name+" "+c.Resource+" "+c.Name] = c.Result
		}
	}
	if got["web-1"] != "applied" || got["cloud kps"] != "applied" || got["cloud ecs"] != "failed" || got["cloud broken"] != "error" || doc.Summary.HostsFailed != 2 {
		t.Errorf("statuses %v, hostsFailed %d\n%s", got, doc.Summary.HostsFailed, out)
	}
	if r := results["cloud ecs cloud_keypair ops"]; !strings.HasPrefix(r, "failed: ImportKeyPair ops: InternalError (HTTP 500)") {
		t.Errorf("ecs import result: %q", r)
	}
	if r := results["cloud ecs cloud_binding i-win"]; !strings.HasPrefix(r, "blocked: ") {
		t.Errorf("ecs binding result: %q", r)
	}
	if r := results["cloud kps cloud_keypair ops"]; r != "applied" {
		t.Errorf("kps import result: %q", r)
	}
	if ecs.CallCount("AttachKeyPair") != 0 {
		t.Error("a blocked binding reached the registry")
	}
	if len(kps.KeyPairs()) != 2 {
		t.Errorf("kps: %+v", kps.KeyPairs())
	}
}

// TestCloudOnlyManifest: a manifest with registries and no hosts plans and applies (no lab).
func TestCloudOnlyManifest(t *testing.T) {
	ecs := ecssim.New("cn-hangzhou", ecssim.Instance{ID: "i-1", OS: "linux"})
	t.Cleanup(ecs.Close)
	kps := kpssim.New(cloudProject)
	t.Cleanup(kps.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cloudTestAliAK)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cloudTestAliSK)
	t.Setenv("HUAWEICLOUD_SDK_AK", cloudTestHwAK)
	t.Setenv("HUAWEICLOUD_SDK_SK", cloudTestHwSK)
	dir := t.TempDir()
	mpath := filepath.Join(dir, "access.yaml")
	manifest := fmt.Sprintf(`apiVersion: accessctl/v1
clouds:
  - {name: ecs, provider: alibaba, region: cn-hangzhou, endpoint: %q}
  - {name: kps, provider: huawei, region: ap-southeast-3, endpoint: %q, project: %s}
keypairs:
  - name: ops
    publicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEPk7uuXJLRCZW0yUfe9bHiCE5eh33b7hnWWMFKMNnlX ops@test
    clouds: [ecs, kps]
`, ecs.URL, kps.URL, cloudProject)
	if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		code := commands[args[0]].run(c, append([]string{"-f", mpath}, args[1:]...))
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges || !strings.Contains(out, "ECS does not document Ed25519") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	// --limit selects registries by their plan name; a host-only limit leaves them out.
	if code, out, errOut = run("plan", "--limit", "cloud k*"); code != exitOK || strings.Contains(out, "cloud ecs") || !strings.Contains(out, "cloud kps") {
		t.Fatalf("plan --limit 'cloud k*': exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run("plan", "--limit", "nothing*"); code != exitUsage {
		t.Fatalf("plan --limit matching nothing: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run("apply", "--yes"); code != exitOK || !strings.Contains(out, "host cloud ecs: applied") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestCloudDiscoverHosts: clouds[].discover makes a registry's tagged instances hosts (here the
// ECS simulator reports a REAL lab host's address as an instance's private IP).
func TestCloudDiscoverHosts(t *testing.T) {
	l := lab.New(t, lab.HostSpec{Name: "disc-1"})
	h := l.Hosts[0]
	ecs := ecssim.New("cn-hangzhou",
		ecssim.Instance{ID: "i-disc1", Name: h.Name, OS: "linux", Tags: map[string]string{"env": "prod"}, PrivateIP: h.Addr},
		ecssim.Instance{ID: "i-dev", Name: "dev-1", OS: "linux", Tags: map[string]string{"env": "dev"}, PrivateIP: "192.0.2.10"})
	t.Cleanup(ecs.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cloudTestAliAK)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cloudTestAliSK)
	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice")
	if _, err := lab.GenerateKey(aliceKey, "alice@test"); err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(dir, "access.yaml")
	manifest := fmt.Sprintf(`apiVersion: accessctl/v1
clouds:
  - name: ecs
    provider: alibaba
    region: cn-hangzhou
    endpoint: %q
    discover: {tag: env=prod, groups: [web], user: %s, port: %d}
keypairs:
  - {name: alice-laptop, publicKey: %s}
users:
  - {name: alice, keypairs: [alice-laptop]}
hostGroups:
  - {name: web, users: [alice], sshd: {permitRootLogin: "no"}}
`, ecs.URL, l.AdminUser, h.Port, strings.TrimSpace(readString(t, aliceKey+".pub")))
	if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		full := append([]string{"-f", mpath, "--known-hosts", l.KnownHostsFile, "--identity", l.IdentityFile, "--ssh-config", "none"}, args[1:]...)
		return commands[args[0]].run(c, full), stdout.String(), stderr.String()
	}
	code, out, errOut := run("plan", "--detailed-exitcode")
	if code != exitChanges || !strings.Contains(out, "host "+h.Name+": ") || strings.Contains(out, "dev-1") ||
		!strings.Contains(errOut, "cloud registry ecs: 1 hosts with tag env=prod") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run("apply", "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = run("plan", "--detailed-exitcode"); code != exitOK {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}
}
