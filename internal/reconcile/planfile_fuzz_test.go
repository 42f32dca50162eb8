package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadPlanFile: a saved plan (apply --plan FILE) may have been edited or forged. Whatever it
// holds, reading it never panics, an error names the file, and a plan it accepts either builds
// its apply scripts or fails with an error: a forged op never reaches a shell unchecked.
// Run longer: go test -run '^$' -fuzz '^FuzzReadPlanFile$' -fuzztime 5m ./internal/reconcile
func FuzzReadPlanFile(f *testing.F) {
	f.Add([]byte(`{"formatVersion":"1","hosts":[{"name":"web-1","status":"ok","error":"","changes":[{"action":"create","resource":"user","name":"alice","reason":"...","ops":[{"kind":"linux.useradd","user":"alice","args":["-s","/bin/bash"]}]}],"fingerprint":"sha256:00","apply":{"host":{"name":"web-1","address":"127.0.0.1","port":22,"os":"linux","transport":"ssh","groups":[]},"readUsers":["alice"]}}],"summary":{"create":1,"update":0,"delete":0,"hostsFailed":0},"source":{"planFileVersion":"2","manifestDigest":"sha256:00","items":{},"policyDigest":"","createdAt":""}}`))
	f.Add([]byte(`{"formatVersion":"1","hosts":[null,{"name":"a","status":"ok"},{"name":"a","status":"error"}],"source":{"planFileVersion":"2"}}`))
	f.Add([]byte(`{"formatVersion":"1","hosts":[{"name":"a","status":"ok","changes":[null,{}]}],"source":{"planFileVersion":"2"}}`))
	f.Add([]byte(`{"formatVersion":"1","hosts":[{"name":"a","status":"ok","changes":[{"ops":[{"kind":"linux.usermod","user":"a","args":["-s;rm -rf /","x"]}]}],"apply":{"host":{"name":"a"}}}],"source":{"planFileVersion":"2"}}`))
	f.Add([]byte(`{"formatVersion":"2"}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		pf, err := ReadPlanFile(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, h := range pf.Hosts {
			if h.Apply == nil || len(h.Changes) == 0 {
				continue
			}
			if h.Apply.Host.OS == "windows" {
				_, _ = WindowsChangeSet(h, testNow, nil)
				continue
			}
			_, _ = LinuxApplyScript(h, "run-1", testNow, Waits{})
		}
		_ = pf.Public()
	})
}
