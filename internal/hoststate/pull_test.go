package hoststate

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
)

func pullSection(kind, arg, attrs, body string) string {
	return "@@begin " + kind + " " + arg + attrs + "\n" + base64.StdEncoding.EncodeToString([]byte(body)) + "\n@@end\n"
}

// TestParsePull: the pull-mode sections of the read script, and a recording without them.
func TestParsePull(t *testing.T) {
	out, err := os.ReadFile("testdata/read_debian.out")
	if err != nil {
		t.Fatal(err)
	}
	old, err := ParseLinux(out)
	if err != nil {
		t.Fatal(err)
	}
	if old.Pull.Read {
		t.Error("a recording without pull sections reads as having them")
	}
	head := "{\"formatVersion\":\"1\",\n\"header\":{},\n\"signature\":null,\n\"users\":[\n"
	sum := strings.Repeat("ab", 32)
	extra := pullSection("pull_snapshot", "-", " kind=file sha256="+sum, head) +
		pullSection("pull_pub", "-", " kind=absent", "") +
		pullSection("pull_paths", "-", "", "0:755:regular file:/usr/local/sbin/accessctl-keys\n0:2775:directory:/usr/local/sbin\n0:755:directory:/usr/local\n0:755:directory:/usr\n0:755:directory:/\nsha256:"+sum+"\n")
	withPull := strings.Replace(string(out), "@@done", extra+"@@done", 1)
	l, err := ParseLinux([]byte(withPull))
	if err != nil {
		t.Fatal(err)
	}
	p := l.Pull
	if !p.Read || p.Snapshot.Kind != KindFile || p.Snapshot.Content != head || p.SnapshotSHA256 != sum || p.VerifyKey.Kind != KindAbsent || p.KeysSHA256 != sum {
		t.Errorf("pull facts: %+v", p)
	}
	if f := p.Paths[PullKeysBinary]; !f.SafeForSshd() || f.Type != "regular file" {
		t.Errorf("binary: %+v", f)
	}
	if f := p.Paths["/usr/local/sbin"]; f.SafeForSshd() || f.Mode != 0o2775 {
		t.Errorf("group-writable dir judged safe: %+v", f)
	}
	if _, ok := p.Paths[PullDir]; ok {
		t.Error("absent path reported")
	}
	if l.Fingerprint == old.Fingerprint {
		t.Error("pull facts are not part of the fingerprint")
	}
	bad := strings.Replace(withPull, "sha256="+sum, "sha256=xyz", 1)
	if _, err := ParseLinux([]byte(bad)); err == nil {
		t.Error("bad digest accepted")
	}
}
