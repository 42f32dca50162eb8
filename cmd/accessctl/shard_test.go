package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// TestShardedPlansCoverFleetOnce: `plan --shard K/N --format json` over a fleet of unreachable
// hosts (TEST-NET-1, a tiny connect timeout): the N reports name every host exactly once, adding
// unrelated hosts moves none, and `report merge` joins them into one report.
func TestShardedPlansCoverFleetOnce(t *testing.T) {
	dir := t.TempDir()
	writeFleet := func(name string, n int, extra string) string {
		var b strings.Builder
		b.WriteString("apiVersion: accessctl/v1\nusers:\n  - name: alice\nhostGroups:\n  - name: web\n    users: [alice]\n    sshd: {permitRootLogin: \"no\"}\nhosts:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  - {name: web-%03d, address: 192.0.2.%d, user: admin, groups: [web]}\n", i, i%250+1)
		}
		b.WriteString(extra)
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const hosts, shards = 40, 3
	plan := func(manifest string, k int) (*reconcile.Plan, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		out := filepath.Join(dir, fmt.Sprintf("plan-%s-%d.json", filepath.Base(manifest), k))
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := commands["plan"].run(c, []string{"-f", manifest, "--known-hosts", known, "--ssh-config", "none",
			"--connect-timeout", "200ms", "--shard", fmt.Sprintf("%d/%d", k, shards), "--format", "json", "--out", out})
		if code != exitHost {
			t.Fatalf("shard %d: exit %d (want 3: hosts unreachable)\n%s", k, code, stderr.String())
		}
		var p reconcile.Plan
		if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
			t.Fatalf("shard %d: %v\n%s", k, err, stdout.String())
		}
		return &p, out
	}
	small := writeFleet("small", hosts, "")
	owner := map[string]int{}
	var files []string
	for k := 1; k <= shards; k++ {
		p, out := plan(small, k)
		files = append(files, out)
		if len(p.Hosts) == 0 || p.Summary.HostsFailed != len(p.Hosts) {
			t.Errorf("shard %d: %d hosts, %d failed", k, len(p.Hosts), p.Summary.HostsFailed)
		}
		for _, h := range p.Hosts {
			if prev, dup := owner[h.Name]; dup {
				t.Errorf("%s in shards %d and %d", h.Name, prev, k)
			}
			owner[h.Name] = k
		}
	}
	if len(owner) != hosts {
		t.Errorf("%d of %d hosts planned", len(owner), hosts)
	}

	// Unrelated hosts added to the fleet: every old host stays in its shard.
	grown := writeFleet("grown", hosts, "  - {name: db-a, address: 192.0.2.251, user: admin, groups: [web]}\n  - {name: db-b, address: 192.0.2.252, user: admin, groups: [web]}\n  - {name: db-c, address: 192.0.2.253, user: admin, groups: [web]}\n")
	seen := 0
	for k := 1; k <= shards; k++ {
		p, _ := plan(grown, k)
		for _, h := range p.Hosts {
			if strings.HasPrefix(h.Name, "db-") {
				seen++
				continue
			}
			if owner[h.Name] != k {
				t.Errorf("%s moved from shard %d to %d", h.Name, owner[h.Name], k)
			}
		}
	}
	if seen != 3 {
		t.Errorf("new hosts planned %d times, want 3", seen)
	}

	// report merge joins the shards into one report of every host.
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := commands["report"].run(c, append([]string{"merge"}, files...)); code != exitOK {
		t.Fatalf("merge: exit %d %s", code, stderr.String())
	}
	var merged reconcile.Plan
	if err := json.Unmarshal(stdout.Bytes(), &merged); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range merged.Hosts {
		names = append(names, h.Name)
	}
	if len(names) != hosts || !sort.StringsAreSorted(names) || merged.Summary.HostsFailed != hosts {
		t.Errorf("merged: %d hosts (sorted %v), %d failed", len(names), sort.StringsAreSorted(names), merged.Summary.HostsFailed)
	}
}
