package reconcile

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/manifest"
)

const (
	cloudEd    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEPk7uuXJLRCZW0yUfe9bHiCE5eh33b7hnWWMFKMNnlX alice@test"
	cloudEcdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPVR8IJrAyBOEPUKc0vCjkUOLE1Kiw27zRE8IVByllEP+lGCxKZ6oHw3tpjN+/GljQlT4teTRm+PB0sUJnmTEKc= e256@test"
)

func cloudManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Clouds: []manifest.Cloud{{Name: "hz", Provider: manifest.ProviderAlibaba, Region: "cn-hangzhou"}},
		Keypairs: []manifest.Keypair{
			{Name: "ops", PublicKey: cloudEcdsa, Clouds: []string{"hz"}},
			{Name: "alice", PublicKey: cloudEd, Clouds: []string{"hz"}},
			{Name: "local-only", PublicKey: cloudEd},
		},
		Hosts: []manifest.Host{
			{Name: "web-1", Cloud: &manifest.HostCloud{Registry: "hz", Instance: "i-1", Keypair: "ops"}},
			{Name: "web-2", Cloud: &manifest.HostCloud{Registry: "hz", Instance: "i-2", Keypair: "ops"}},
			{Name: "win-1", Cloud: &manifest.HostCloud{Registry: "hz", Instance: "i-win", Keypair: "ops"}},
		},
	}
}

func summary(hp *HostPlan) string {
	var b strings.Builder
	for _, c := range hp.Changes {
		b.WriteString(string(c.Action) + " " + c.Resource + " " + c.Name)
		for _, o := range c.Ops {
			b.WriteString(" [" + o.Kind + "]")
		}
		if c.Blocked != "" {
			b.WriteString(" BLOCKED")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestPlanCloud(t *testing.T) {
	st := &cloud.State{
		KeyPairs: []cloud.KeyPair{
			{Name: "ops", PublicKey: cloudEcdsa + " other-comment", ImportedByAccessctl: true},
			{Name: "old", PublicKey: cloudEd, ImportedByAccessctl: true},
			{Name: "console", PublicKey: cloudEd},
		},
		Bindings: []cloud.Binding{
			{Instance: "i-1", Keypair: "ops", OS: "linux"},
			{Instance: "i-2", Keypair: "console", OS: "linux"},
			{Instance: "i-3", Keypair: "ops", OS: "linux"},
			{Instance: "i-win", OS: "windows"},
		},
	}
	hp := PlanCloud(cloudManifest(), CloudRead{Cloud: cloudManifest().Clouds[0], Path: "clouds[0]", State: st})
	want := `create cloud_keypair alice [cloud.import]
update cloud_binding i-2 [cloud.bind]
create cloud_binding i-win [cloud.bind] BLOCKED
delete cloud_binding i-3 [cloud.unbind]
delete cloud_keypair old [cloud.delete]
`
	if got := summary(hp); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if hp.Name != "cloud hz" || !IsCloudPlan(hp) || hp.Fingerprint == "" {
		t.Errorf("plan header: %+v", hp)
	}
	for _, c := range hp.Changes {
		if c.Resource == ResCloudBinding && c.Action != Delete && !strings.Contains(c.Reason, "restarts") {
			t.Errorf("ECS binding reason does not say it takes effect at restart: %s", c.Reason)
		}
	}
	imp := hp.Changes[0]
	if !strings.Contains(imp.Reason, "Ed25519") || imp.Ops[0].Cloud.PublicKey != cloudEd {
		t.Errorf("import: %+v", imp)
	}
	if strings.Contains(hp.Changes[2].Blocked, "Windows") == false {
		t.Errorf("windows: %q", hp.Changes[2].Blocked)
	}
	// Policy input: the bound key pair accessctl imported.
	in := CloudLiveInput([]CloudRead{{Cloud: cloudManifest().Clouds[0], Path: "clouds[0]", State: st}})
	if b, _ := json.Marshal(in); !strings.Contains(string(b), `{"importedByAccessctl":true,"instances":["i-1","i-3"],"name":"ops"}`) {
		t.Errorf("live input: %v", in)
	}
}

func TestPlanCloudKeyChanged(t *testing.T) {
	m := cloudManifest()
	m.Hosts = nil
	for _, c := range []struct {
		have    cloud.KeyPair
		bound   bool
		blocked bool
		ops     int
	}{
		{cloud.KeyPair{Name: "ops", PublicKey: cloudEd, ImportedByAccessctl: true}, false, false, 2},
		{cloud.KeyPair{Name: "ops", PublicKey: cloudEd, ImportedByAccessctl: true}, true, true, 0},
		{cloud.KeyPair{Name: "ops", PublicKey: cloudEd}, false, true, 0},
		{cloud.KeyPair{Name: "ops", Fingerprint: "00:11"}, false, true, 0},
	} {
		st := &cloud.State{KeyPairs: []cloud.KeyPair{c.have, {Name: "alice", PublicKey: cloudEd}}}
		if c.bound {
			st.Bindings = []cloud.Binding{{Instance: "i-9", Keypair: "ops"}}
			m.Keypairs[0].Clouds = []string{"hz"}
		}
		hp := PlanCloud(m, CloudRead{Cloud: m.Clouds[0], State: st})
		var ch *Change
		for i := range hp.Changes {
			if hp.Changes[i].Resource == ResCloudKeypair && hp.Changes[i].Name == "ops" {
				ch = &hp.Changes[i]
			}
		}
		if ch == nil || ch.Action != Update || (ch.Blocked != "") != c.blocked || len(ch.Ops) != 2 {
			t.Errorf("%+v: %s", c.have, summary(hp))
		}
	}
}

func TestPlanCloudByFingerprint(t *testing.T) {
	m := cloudManifest()
	m.Hosts = nil
	pk, _ := parseKey(cloudEcdsa)
	_ = pk
	st := &cloud.State{KeyPairs: []cloud.KeyPair{{Name: "alice", PublicKey: cloudEd}, {Name: "ops", Fingerprint: describeKey(cloudEcdsa)["fingerprint"].(string)}}}
	if hp := PlanCloud(m, CloudRead{Cloud: m.Clouds[0], State: st}); len(hp.Changes) != 0 {
		t.Errorf("same key by fingerprint: %s", summary(hp))
	}
}

func TestPlanCloudReadError(t *testing.T) {
	m := cloudManifest()
	hp := PlanCloud(m, CloudRead{Cloud: m.Clouds[0], Err: errors.New("DescribeKeyPairs: Forbidden.RAM (HTTP 403): denied")})
	if hp.Status != StatusError || !strings.Contains(hp.Error, "Forbidden.RAM") || len(hp.Changes) != 0 {
		t.Errorf("%+v", hp)
	}
}

type fakeRegistry struct {
	calls []string
	fail  string
}

func (f *fakeRegistry) List(context.Context) (*cloud.State, error) { return nil, nil }
func (f *fakeRegistry) do(s string) error {
	f.calls = append(f.calls, s)
	if s == f.fail {
		return errors.New("InjectedFailure (HTTP 500): boom")
	}
	return nil
}
func (f *fakeRegistry) Import(_ context.Context, n, _ string) error { return f.do("import " + n) }
func (f *fakeRegistry) Bind(_ context.Context, k, i string) error   { return f.do("bind " + k + " " + i) }
func (f *fakeRegistry) Unbind(_ context.Context, k, i string) error {
	return f.do("unbind " + k + " " + i)
}
func (f *fakeRegistry) Delete(_ context.Context, n string) error { return f.do("delete " + n) }

func TestApplyCloudResults(t *testing.T) {
	m := cloudManifest()
	m.Hosts = m.Hosts[:2]
	st := &cloud.State{Bindings: []cloud.Binding{{Instance: "i-1", OS: "linux"}, {Instance: "i-2", OS: "linux"}}}
	hp := PlanCloud(m, CloudRead{Cloud: m.Clouds[0], State: st})
	reg := &fakeRegistry{fail: "bind ops i-1"}
	res := ApplyCloud(context.Background(), hp, reg, false)
	if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "InjectedFailure") {
		t.Fatalf("%+v", res)
	}
	if got := strings.Join(reg.calls, "; "); got != "import alice; import ops; bind ops i-1; bind ops i-2" {
		t.Errorf("calls: %s", got)
	}
	var results []string
	for _, c := range hp.Changes {
		results = append(results, c.Result)
	}
	if !strings.HasPrefix(results[2], "failed: ") || results[3] != "applied" || results[0] != "applied" {
		t.Errorf("per-op results: %q", results)
	}
}

func TestSameKeyFingerprintForms(t *testing.T) {
	pk, _ := parseKey(cloudEcdsa)
	md, sh := md5.Sum(pk.Marshal()), sha1.Sum(pk.Marshal())
	for _, fp := range []string{colonHex(md[:]), "MD5:" + colonHex(md[:]), colonHex(sh[:]), describeKey(cloudEcdsa)["fingerprint"].(string)} {
		if same, known := sameKey(cloudEcdsa, cloud.KeyPair{Name: "k", Fingerprint: fp}); !same || !known {
			t.Errorf("%s: same=%v known=%v", fp, same, known)
		}
	}
	other, _ := parseKey(cloudEd)
	om := md5.Sum(other.Marshal())
	if same, known := sameKey(cloudEcdsa, cloud.KeyPair{Name: "k", Fingerprint: colonHex(om[:])}); same || !known {
		t.Errorf("another key's MD5: same=%v known=%v", same, known)
	}
	if _, known := sameKey(cloudEcdsa, cloud.KeyPair{Name: "k", Fingerprint: "weird"}); known {
		t.Error("an unknown fingerprint form must not count as known")
	}
}
