package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkAccessLab compares, on the messy three-host lab fleet (issue 12 item 5), a no-change
// plan with access, access --usage and plan --usage. Each host's auth.log.1 holds 20,000
// accepted-login records (about 2.3 MB) besides the rotated gzip file, so --usage has real
// reading to do. Figures: BENCHMARKS.md §6.
func BenchmarkAccessLab(b *testing.B) {
	f := newMessyFleet(b)
	draft := filepath.Join(f.dir, "access.yaml")
	if code, _, errOut := f.run(b, "import", "-i", f.inventory, "--out", draft); code != exitOK {
		b.Fatalf("import: exit %d\n%s", code, errOut)
	}
	fp := fingerprintOf(b, f.pubs["alice"])
	for _, h := range f.l.Hosts {
		h.MustExec(b, fmt.Sprintf(`awk 'BEGIN { for (i = 0; i < 20000; i++) printf "Nov %%2d %%02d:%%02d:%%02d %s sshd[%%d]: Accepted publickey for alice from 10.0.%%d.%%d port %%d ssh2: ED25519 %s\n", 1 + i %% 28, i %% 24, i %% 60, i %% 60, 1000 + i, i %% 250, i %% 200, 40000 + i }' >/var/log/auth.log.1 && touch -d '2026-11-28 12:00' /var/log/auth.log.1`, h.Name, fp))
	}
	variants := []struct {
		name string
		args []string
	}{
		{"plan", []string{"plan", "-f", draft, "-i", f.inventory, "--detailed-exitcode"}},
		{"access", []string{"access", "-f", draft, "-i", f.inventory, "--format", "json"}},
		{"access-usage", []string{"access", "-f", draft, "-i", f.inventory, "--format", "json", "--usage"}},
		{"plan-usage", []string{"plan", "-f", draft, "-i", f.inventory, "--usage", "--detailed-exitcode"}},
	}
	// The variants run interleaved and each reports its fastest and median run: the machine is
	// shared, and the minimum is what the work costs when nothing else competes for the CPU.
	times := map[string][]time.Duration{}
	for b.Loop() {
		for _, v := range variants {
			start := time.Now()
			if code, out, errOut := f.run(b, v.args...); code != exitOK {
				b.Fatalf("%v: exit %d\n%s\n%s", v.args, code, out, errOut)
			}
			times[v.name] = append(times[v.name], time.Since(start))
		}
	}
	for _, v := range variants {
		ts := times[v.name]
		slices.Sort(ts)
		b.ReportMetric(float64(ts[0].Milliseconds()), v.name+"-min-ms")
		b.ReportMetric(float64(ts[len(ts)/2].Milliseconds()), v.name+"-median-ms")
	}
}
