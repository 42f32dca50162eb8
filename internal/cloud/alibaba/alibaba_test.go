package alibaba

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/cloudsim/ecssim"
)

const (
	testAK = "LTAI5tSimulatorKeyID"
	testSK = "simulator-secret-never-printed"
	ed     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEPk7uuXJLRCZW0yUfe9bHiCE5eh33b7hnWWMFKMNnlX alice@test"
	ecdsa  = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPVR8IJrAyBOEPUKc0vCjkUOLE1Kiw27zRE8IVByllEP+lGCxKZ6oHw3tpjN+/GljQlT4teTRm+PB0sUJnmTEKc= e256@test"
)

// open starts the ECS SIMULATOR and opens a registry on it through the official SDK, with
// credentials from the standard environment variables.
func open(t *testing.T, instances ...ecssim.Instance) (*ecssim.Server, *Registry) {
	t.Helper()
	sim := ecssim.New("cn-hangzhou", instances...)
	sim.AccessKeyID = testAK
	t.Cleanup(sim.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", testAK)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", testSK)
	r, err := New(cloud.Config{Name: "hz", Region: "cn-hangzhou", Endpoint: sim.URL,
		Retry: cloud.Backoff{Attempts: 4, First: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return sim, r
}

func TestImportListBindUnbindDelete(t *testing.T) {
	sim, r := open(t, ecssim.Instance{ID: "i-lin", OS: "linux"}, ecssim.Instance{ID: "i-win", OS: "windows"})
	ctx := context.Background()
	sim.AddKeyPair("console-made", ecdsa, nil)
	if err := r.Import(ctx, "ops", ed); err != nil {
		t.Fatal(err)
	}
	st, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ops, console := st.KeyPair("ops"), st.KeyPair("console-made")
	if ops == nil || !ops.ImportedByAccessctl || ops.PublicKey != ed || !strings.Contains(ops.Fingerprint, ":") {
		t.Fatalf("ops: %+v", ops)
	}
	if console == nil || console.ImportedByAccessctl {
		t.Fatalf("console-made: %+v", console)
	}
	if b := st.Instance("i-win"); b == nil || b.OS != "windows" {
		t.Fatalf("i-win: %+v", b)
	}
	if err := r.Bind(ctx, "ops", "i-lin"); err != nil {
		t.Fatal(err)
	}
	if in := sim.Instance("i-lin"); in.KeyPair != "ops" || !in.PendingRestart {
		t.Fatalf("i-lin after bind: %+v", in)
	}
	// ECS refuses to delete a bound key pair.
	err = r.Delete(ctx, "ops")
	if Code(err) != "InvalidParameter.KeypairAlreadyAttachedInstance" || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("delete bound: %v", err)
	}
	if err := r.Unbind(ctx, "ops", "i-lin"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if len(sim.KeyPairs()) != 1 {
		t.Fatalf("left: %+v", sim.KeyPairs())
	}
}

func TestDocumentedErrors(t *testing.T) {
	sim, r := open(t, ecssim.Instance{ID: "i-win", OS: "windows"})
	ctx := context.Background()
	if err := r.Import(ctx, "ops", ed); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err  error
		code string
	}{
		{r.Import(ctx, "ops", ecdsa), "KeyPair.AlreadyExist"},
		{r.Import(ctx, "other", "ssh-rsa AAAAnotakey"), "InvalidPublicKeyBody.Malformed"},
		{r.Import(ctx, "9bad", ecdsa), "InvalidKeyPairName.Malformed"},
		{r.Bind(ctx, "ops", "i-win"), "DependencyViolation.WindowsInstance"},
		{r.Bind(ctx, "ops", "i-missing"), "InvalidInstanceId.NotFound"},
		{r.Bind(ctx, "missing", "i-win"), "InvalidKeyPairName.NotFound"},
		{r.Delete(ctx, "missing"), "InvalidKeyPairName.NotFound"},
	}
	for _, c := range cases {
		if Code(c.err) != c.code {
			t.Errorf("want %s, got %v", c.code, c.err)
		}
		if c.err != nil && (strings.Contains(c.err.Error(), testSK) || strings.Contains(c.err.Error(), testAK)) {
			t.Errorf("credential in error: %v", c.err)
		}
	}
	_ = sim
}

func TestThrottlingRetried(t *testing.T) {
	sim, r := open(t)
	sim.Throttle("DescribeKeyPairs", 2)
	if _, err := r.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := sim.CallCount("DescribeKeyPairs"); n != 3 {
		t.Errorf("DescribeKeyPairs calls: %d, want 3 (2 throttled, 1 ok)", n)
	}
	sim.Throttle("ImportKeyPair", 10)
	err := r.Import(context.Background(), "ops", ed)
	if err == nil || !strings.Contains(err.Error(), "Throttling") {
		t.Fatalf("want a throttling error after the bounded retries, got %v", err)
	}
}

func TestPaging(t *testing.T) {
	var ins []ecssim.Instance
	for i := 0; i < 130; i++ {
		ins = append(ins, ecssim.Instance{ID: "i-" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i), OS: "linux"})
	}
	sim, r := open(t, ins...)
	for i := 0; i < 120; i++ {
		sim.AddKeyPair("kp-"+itoa(i), ed, nil)
	}
	st, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.KeyPairs) != 120 || len(st.Bindings) != 130 {
		t.Fatalf("got %d key pairs, %d instances", len(st.KeyPairs), len(st.Bindings))
	}
	if n := sim.CallCount("DescribeKeyPairs"); n != 3 {
		t.Errorf("DescribeKeyPairs pages: %d", n)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func TestDiscover(t *testing.T) {
	_, r := open(t,
		ecssim.Instance{ID: "i-1", Name: "web-1", OS: "linux", Tags: map[string]string{"env": "prod"}, PrivateIP: "10.0.0.1", PublicIP: "47.0.0.1"},
		ecssim.Instance{ID: "i-2", OS: "windows", Tags: map[string]string{"env": "prod"}, PrivateIP: "10.0.0.2"},
		ecssim.Instance{ID: "i-3", OS: "linux", Tags: map[string]string{"env": "dev"}, PrivateIP: "10.0.0.3"})
	got, err := r.Discover(context.Background(), "env", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (cloud.Instance{ID: "i-1", Name: "web-1", OS: "linux", PrivateIP: "10.0.0.1", PublicIP: "47.0.0.1"}) || got[1].OS != "windows" {
		t.Fatalf("%+v", got)
	}
}
