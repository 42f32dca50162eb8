package huawei

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/cloudsim/kpssim"
)

const (
	testAK  = "SIMULATORAKEXAMPLE01"
	testSK  = "simulator-sk-never-printed"
	project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ed      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEPk7uuXJLRCZW0yUfe9bHiCE5eh33b7hnWWMFKMNnlX alice@test"
	ecdsa   = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPVR8IJrAyBOEPUKc0vCjkUOLE1Kiw27zRE8IVByllEP+lGCxKZ6oHw3tpjN+/GljQlT4teTRm+PB0sUJnmTEKc= e256@test"
)

// open starts the KPS SIMULATOR and opens a registry on it through the official SDK, with
// credentials from the standard environment variables and the project from the manifest.
func open(t *testing.T, servers ...kpssim.Server) (*kpssim.Sim, *Registry) {
	t.Helper()
	sim := kpssim.New(project, servers...)
	sim.AccessKey = testAK
	t.Cleanup(sim.Close)
	t.Setenv("HUAWEICLOUD_SDK_AK", testAK)
	t.Setenv("HUAWEICLOUD_SDK_SK", testSK)
	r, err := New(cloud.Config{Name: "hw", Region: "ap-southeast-3", Endpoint: sim.URL, Project: project,
		Retry: cloud.Backoff{Attempts: 4, First: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	r.SetPoll(cloud.Backoff{Attempts: 10, First: time.Millisecond, Max: 5 * time.Millisecond})
	return sim, r
}

func TestImportListAssociateDisassociateDelete(t *testing.T) {
	sim, r := open(t, kpssim.Server{ID: "srv-lin", OS: "Linux"}, kpssim.Server{ID: "srv-win", OS: "Windows"})
	ctx := context.Background()
	sim.AddKeyPair("console-made", ecdsa, "made in the console")
	if err := r.Import(ctx, "ops", ed); err != nil {
		t.Fatal(err)
	}
	st, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k := st.KeyPair("ops"); k == nil || !k.ImportedByAccessctl || k.PublicKey != ed {
		t.Fatalf("ops: %+v", k)
	}
	if k := st.KeyPair("console-made"); k == nil || k.ImportedByAccessctl {
		t.Fatalf("console-made: %+v", k)
	}
	if b := st.Instance("srv-win"); b == nil || b.OS != "windows" {
		t.Fatalf("srv-win: %+v", b)
	}
	if err := r.Bind(ctx, "ops", "srv-lin"); err != nil {
		t.Fatal(err)
	}
	if sv := sim.ServerState("srv-lin"); sv.KeyName != "ops" {
		t.Fatalf("srv-lin: %+v", sv)
	}
	if n := sim.CallCount("GET /v3/{project}/tasks/"); n < 3 {
		t.Errorf("task polled %d times", n)
	}
	if err := r.Bind(ctx, "ops", "srv-win"); Code(err) != "KPS.0002" {
		t.Errorf("windows server: %v", err)
	}
	if err := r.Unbind(ctx, "ops", "srv-lin"); err != nil {
		t.Fatal(err)
	}
	if sv := sim.ServerState("srv-lin"); sv.KeyName != "" {
		t.Fatalf("srv-lin after unbind: %+v", sv)
	}
	if err := r.Delete(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "ops"); Code(err) != "KPS.4016" {
		t.Errorf("delete missing: %v", err)
	}
}

func TestImportRefusals(t *testing.T) {
	_, r := open(t)
	ctx := context.Background()
	if err := r.Import(ctx, "ops", ed); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2560", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Skipf("ssh-keygen: %v %s", err, out)
	}
	for _, c := range []struct{ name, key string }{{"ops", ecdsa}, {"rsa-2560", readKey(t, key+".pub")}, {"bad", "ssh-rsa AAAAnotakey"}} {
		err := r.Import(ctx, c.name, c.key)
		if Code(err) != "KPS.0002" || strings.Contains(err.Error(), testSK) {
			t.Errorf("import %s: %v", c.name, err)
		}
	}
}

func TestTaskFailureAndThrottling(t *testing.T) {
	sim, r := open(t, kpssim.Server{ID: "srv-1", OS: "Linux"})
	ctx := context.Background()
	sim.Throttle(2)
	if err := r.Import(ctx, "ops", ed); err != nil {
		t.Fatalf("throttled import not retried: %v", err)
	}
	sim.FailTasks("srv-1")
	err := r.Bind(ctx, "ops", "srv-1")
	if err == nil || !strings.Contains(err.Error(), "FAILED_RESET") {
		t.Fatalf("want the failed task reported, got %v", err)
	}
	if sv := sim.ServerState("srv-1"); sv.KeyName != "" {
		t.Fatalf("failed task changed the server: %+v", sv)
	}
}

func TestPaging(t *testing.T) {
	var servers []kpssim.Server
	for i := 0; i < 130; i++ {
		servers = append(servers, kpssim.Server{ID: "srv-" + string(rune('a'+i/26)) + string(rune('a'+i%26)), OS: "Linux"})
	}
	sim, r := open(t, servers...)
	for i := 0; i < 120; i++ {
		sim.AddKeyPair("kp-"+string(rune('a'+i/26))+string(rune('a'+i%26)), ed, "")
	}
	st, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.KeyPairs) != 120 || len(st.Bindings) != 130 {
		t.Fatalf("got %d key pairs, %d servers", len(st.KeyPairs), len(st.Bindings))
	}
}

func readKey(t *testing.T, p string) string {
	t.Helper()
	out, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestWithoutServerAPI: an endpoint that serves KPS alone. Bindings are then accessctl's own
// record in the key pair's description, and the state says instances are unknown.
func TestWithoutServerAPI(t *testing.T) {
	sim, r := open(t, kpssim.Server{ID: "srv-1", OS: "Linux"}, kpssim.Server{ID: "srv-2", OS: "Linux"})
	sim.NoServerAPI = true
	ctx := context.Background()
	for _, n := range []string{"ops", "ops2"} {
		if err := r.Import(ctx, n, ed); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Bind(ctx, "ops", "srv-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Bind(ctx, "ops", "srv-2"); err != nil {
		t.Fatal(err)
	}
	st, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.InstancesUnknown || strings.Join(st.BoundTo("ops"), ",") != "srv-1,srv-2" {
		t.Fatalf("state: %+v", st)
	}
	// Binding another key pair to srv-1 replaces ops there; unbinding removes it.
	if err := r.Bind(ctx, "ops2", "srv-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Unbind(ctx, "ops", "srv-2"); err != nil {
		t.Fatal(err)
	}
	st, err = r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.BoundTo("ops")) != 0 || strings.Join(st.BoundTo("ops2"), ",") != "srv-1" {
		t.Fatalf("after replace and unbind: %+v", st.Bindings)
	}
	if d := sim.KeyPairs()[1].Description; d != "managed-by=accessctl servers=srv-1" {
		t.Errorf("record: %q", d)
	}
}

func TestDiscover(t *testing.T) {
	_, r := open(t,
		kpssim.Server{ID: "s-1", Name: "web-1", OS: "Linux", Tags: []string{"env=prod"}, PrivateIP: "192.168.0.1", PublicIP: "119.0.0.1"},
		kpssim.Server{ID: "s-2", OS: "Linux", Tags: []string{"env=dev"}, PrivateIP: "192.168.0.2"})
	got, err := r.Discover(context.Background(), "env", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (cloud.Instance{ID: "s-1", Name: "web-1", OS: "linux", PrivateIP: "192.168.0.1", PublicIP: "119.0.0.1"}) {
		t.Fatalf("%+v", got)
	}
}
