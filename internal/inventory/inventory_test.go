package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/accessctl/accessctl/internal/transport"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/lab"
	"github.com/accessctl/accessctl/internal/manifest"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

func names(n int, prefix string) []manifest.Host {
	hosts := make([]manifest.Host, n)
	for i := range hosts {
		hosts[i] = manifest.Host{Name: fmt.Sprintf("%s-%d", prefix, i)}
	}
	return hosts
}

func TestShardStable(t *testing.T) {
	old := names(1000, "web")
	grown := append(append([]manifest.Host(nil), old...), names(700, "db")...)
	for _, n := range []int{1, 2, 3, 7, 16} {
		owner := map[string]int{}
		for k := 1; k <= n; k++ {
			idx, err := inventory.Select(grown, "", inventory.Shard{K: k, N: n})
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range idx {
				if prev, ok := owner[grown[i].Name]; ok {
					t.Fatalf("N=%d: %s in shards %d and %d", n, grown[i].Name, prev, k)
				}
				owner[grown[i].Name] = k
			}
			// Adding unrelated hosts moves none of the old ones.
			oldIdx, _ := inventory.Select(old, "", inventory.Shard{K: k, N: n})
			for _, i := range oldIdx {
				if owner[old[i].Name] != k {
					t.Fatalf("N=%d: %s moved from shard %d", n, old[i].Name, k)
				}
			}
			if n > 1 && (len(idx) < len(grown)/n/2 || len(idx) > len(grown)/n*2) {
				t.Errorf("N=%d K=%d: %d of %d hosts, badly balanced", n, k, len(idx), len(grown))
			}
		}
		if len(owner) != len(grown) {
			t.Fatalf("N=%d: %d of %d hosts in some shard", n, len(owner), len(grown))
		}
	}
}

func TestParseShard(t *testing.T) {
	if s, err := inventory.ParseShard("2/5"); err != nil || s != (inventory.Shard{K: 2, N: 5}) {
		t.Errorf("2/5: %v %v", s, err)
	}
	for _, bad := range []string{"", "0/3", "4/3", "1", "a/b", "1/0", "-1/2"} {
		if _, err := inventory.ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLimit(t *testing.T) {
	hosts := []manifest.Host{{Name: "web-1"}, {Name: "web-2"}, {Name: "db-1"}, {Name: "web-10"}}
	for limit, want := range map[string][]int{
		"":             {0, 1, 2, 3},
		"web-?":        {0, 1},
		"web-*":        {0, 1, 3},
		"db-1, web-10": {2, 3},
		"[dw]*-1":      {0, 2},
	} {
		got, err := inventory.Select(hosts, limit, inventory.Shard{})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("limit %q = %v %v, want %v", limit, got, err, want)
		}
	}
	if _, err := inventory.Select(hosts, "mail-*", inventory.Shard{}); err == nil || !strings.Contains(err.Error(), "matches no host") {
		t.Errorf("no match: %v", err)
	}
	if _, err := inventory.Select(hosts, "web-[", inventory.Shard{}); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestSSHConfigPrecedence(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	for _, f := range []string{"web_key", "bastion_key", "id_ed25519"} {
		os.WriteFile(filepath.Join(home, ".ssh", f), []byte("x"), 0o600)
	}
	cfgFile := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfgFile, []byte(`
Host web-*
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_key
    IdentityFile ~/.ssh/missing_key
    ProxyJump ops@bastion,edge:2022
    UserKnownHostsFile ~/.ssh/kh_web "%d/.ssh/kh_%h"

Host db-1
    HostName 10.9.9.9
    HostKeyAlias db-primary
    IdentitiesOnly yes

Host bastion
    HostName 192.0.2.1
    Port 2200
    User jump
    IdentityFile %d/.ssh/bastion_key

Host legacy
    ProxyCommand nc %h %p

Host *
    User fallback
`), 0o644)
	m := &manifest.Manifest{
		Hosts: []manifest.Host{
			{Name: "web-1", Address: "10.0.0.5", Port: 22, OS: "linux", Transport: "ssh"},
			{Name: "web-2", Address: "10.0.0.6", Port: 22, User: "root", OS: "linux", Transport: "ssh"},
			{Name: "db-1", Port: 22, OS: "linux", Transport: "ssh"},
			{Name: "legacy", Port: 22, OS: "linux", Transport: "ssh"},
			{Name: "win-1", Address: "10.0.1.1", Port: 5986, OS: "windows", Transport: "winrm"},
		},
		// Only web-2 wrote its port; the others' 22 is the manifest default.
		Positions: map[string]manifest.Pos{"hosts[1].port": {File: "a.yaml", Line: 9}},
	}
	opts := inventory.Options{SSHConfigFile: cfgFile, HomeDir: home, IdentityFiles: []string{"/keys/flag"}, ConnectTimeout: 3 * time.Second}
	targets, err := inventory.Targets(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]inventory.Target{}
	for _, tg := range targets {
		by[tg.Name] = tg
	}

	w1 := by["web-1"]
	if w1.Err != nil || w1.Address != "10.0.0.5" || w1.Port != 2222 || w1.User != "deploy" {
		t.Errorf("web-1: %+v", w1)
	}
	if want := []string{"/keys/flag", filepath.Join(home, ".ssh/web_key")}; !reflect.DeepEqual(w1.SSH.IdentityFiles, want) {
		t.Errorf("web-1 identity files %v, want %v", w1.SSH.IdentityFiles, want)
	}
	if want := []string{filepath.Join(home, ".ssh/kh_web"), home + "/.ssh/kh_web-1"}; !reflect.DeepEqual(w1.SSH.KnownHostsFiles, want) {
		t.Errorf("web-1 known hosts %v, want %v", w1.SSH.KnownHostsFiles, want)
	}
	if len(w1.SSH.ProxyJump) != 2 {
		t.Fatalf("web-1 jumps: %+v", w1.SSH.ProxyJump)
	}
	b, e := w1.SSH.ProxyJump[0], w1.SSH.ProxyJump[1]
	if b.Name != "bastion" || b.Addr != "192.0.2.1" || b.Port != 2200 || b.User != "ops" ||
		!reflect.DeepEqual(b.IdentityFiles, []string{"/keys/flag", filepath.Join(home, ".ssh/bastion_key")}) {
		t.Errorf("bastion hop: %+v", b)
	}
	if e.Addr != "edge" || e.Port != 2022 || e.User != "fallback" {
		t.Errorf("edge hop: %+v", e)
	}
	if w1.SSH.ConnectTimeout != 3*time.Second || b.ConnectTimeout != 3*time.Second {
		t.Error("connect timeout not passed on")
	}

	if w2 := by["web-2"]; w2.Port != 22 || w2.User != "root" || w2.Address != "10.0.0.6" {
		t.Errorf("web-2 (manifest wins): %+v", w2)
	}
	d := by["db-1"]
	if d.Address != "10.9.9.9" || d.Port != 22 || d.User != "fallback" || d.SSH.HostKeyAlias != "db-primary" || !d.SSH.IdentitiesOnly {
		t.Errorf("db-1: %+v %+v", d, d.SSH)
	}
	if want := []string{filepath.Join(home, ".ssh/known_hosts"), "/etc/ssh/ssh_known_hosts"}; !reflect.DeepEqual(d.SSH.KnownHostsFiles, want) {
		t.Errorf("db-1 default known hosts %v", d.SSH.KnownHostsFiles)
	}
	if l := by["legacy"]; l.Err == nil || !strings.Contains(l.Err.Error(), "ProxyCommand") {
		t.Errorf("legacy: %v", l.Err)
	}
	if w := by["win-1"]; w.Transport != "winrm" || w.Port != 5986 || w.SSH != nil {
		t.Errorf("win-1: %+v", w)
	}

	// --known-hosts replaces ssh_config's files; no ssh_config and no --identity: default keys.
	opts = inventory.Options{SSHConfigFile: inventory.NoSSHConfig, HomeDir: home, KnownHostsFiles: []string{"/kh"}, DefaultUser: "admin"}
	targets, err = inventory.Targets(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	w1 = targets[0]
	if w1.Port != 22 || w1.User != "admin" || !reflect.DeepEqual(w1.SSH.KnownHostsFiles, []string{"/kh"}) ||
		!reflect.DeepEqual(w1.SSH.IdentityFiles, []string{filepath.Join(home, ".ssh/id_ed25519")}) || len(w1.SSH.ProxyJump) != 0 {
		t.Errorf("without ssh_config: %+v %+v", w1, w1.SSH)
	}
	if _, err := inventory.Targets(m, inventory.Options{SSHConfigFile: filepath.Join(home, "nope")}); err == nil {
		t.Error("a missing explicit ssh config is not an error")
	}
}

func TestRunFleet(t *testing.T) {
	var targets []inventory.Target
	for i := range 20 {
		targets = append(targets, inventory.Target{Name: fmt.Sprintf("h%02d", i)})
	}
	targets[5].Err = errors.New("h05: bad config")
	var running, peak atomic.Int32
	var calls []string
	var mu sync.Mutex
	var progress [][3]int
	start := time.Now()
	res := inventory.Run(context.Background(), targets, 4, 200*time.Millisecond, func(ctx context.Context, tg inventory.Target) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		calls = append(calls, tg.Name)
		mu.Unlock()
		switch tg.Name {
		case "h01":
			return errors.New("refused")
		case "h02":
			panic("boom")
		case "h03":
			<-ctx.Done() // a hung host
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	}, func(done, total, failed int) {
		progress = append(progress, [3]int{done, total, failed})
	})
	if peak.Load() > 4 {
		t.Errorf("%d hosts at once, want <= 4", peak.Load())
	}
	if len(res) != 20 || len(calls) != 19 {
		t.Errorf("%d results, %d calls", len(res), len(calls))
	}
	for name, err := range res {
		switch name {
		case "h01", "h02", "h03", "h05":
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if !strings.Contains(res["h03"].Error(), "timed out after 200ms") || !strings.Contains(res["h02"].Error(), "boom") {
		t.Errorf("h03: %v; h02: %v", res["h03"], res["h02"])
	}
	if len(progress) != 20 || progress[19] != [3]int{20, 20, 4} {
		t.Errorf("progress %v", progress)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	err := inventory.Errors(res)
	if err == nil || !strings.Contains(err.Error(), "4 errors occurred") || strings.Index(err.Error(), "refused") > strings.Index(err.Error(), "bad config") {
		t.Errorf("Errors: %v", err)
	}
	if inventory.Errors(map[string]error{"a": nil}) != nil {
		t.Error("Errors of successes is not nil")
	}

	// A cancelled run fails the hosts not started yet.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = inventory.Run(ctx, targets[:3], 1, 0, func(ctx context.Context, _ inventory.Target) error { return nil }, nil)
	if len(res) != 3 {
		t.Errorf("cancelled run: %v", res)
	}
}

// TestFleetOnLab reaches real hosts through an ssh_config (one of them through a jump host),
// with one host down: it fails alone.
func TestFleetOnLab(t *testing.T) {
	l := lab.New(t, lab.Specs("node", 4, lab.Debian)...)
	var cfg strings.Builder
	for _, h := range l.Hosts {
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  User %s\n  IdentityFile %s\n", h.Name, h.Addr, l.AdminUser, l.IdentityFile)
	}
	fmt.Fprintf(&cfg, "Host node-4\n  ProxyJump node-1\n")
	cfgFile := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o644)
	m := &manifest.Manifest{Hosts: []manifest.Host{
		{Name: "node-1", OS: "linux"}, {Name: "node-2", OS: "linux"}, {Name: "node-3", OS: "linux"}, {Name: "node-4", OS: "linux"},
	}}
	targets, err := inventory.Targets(m, inventory.Options{
		SSHConfigFile: cfgFile, KnownHostsFiles: []string{l.KnownHostsFile}, HomeDir: t.TempDir(), ConnectTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Host("node-2").Stop(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var mu sync.Mutex
	res := inventory.Run(context.Background(), targets, 8, 10*time.Second, func(ctx context.Context, tg inventory.Target) error {
		c, err := sshtr.Dial(ctx, *tg.SSH)
		if err != nil {
			return err
		}
		defer c.Close()
		var out strings.Builder
		if code, err := c.Run(ctx, transport.Privileged{Root: tg.User == "root"}.Command("sed -n 's/^ListenAddress //p' /etc/ssh/sshd_config"), nil, &out, nil); err != nil || code != 0 {
			return fmt.Errorf("exit %d: %v", code, err)
		}
		mu.Lock()
		got[tg.Name] = strings.TrimSpace(out.String())
		mu.Unlock()
		return nil
	}, nil)
	for _, h := range l.Hosts {
		if h.Name == "node-2" {
			if res[h.Name] == nil {
				t.Error("node-2 is down but succeeded")
			}
			continue
		}
		if res[h.Name] != nil || got[h.Name] != h.Addr {
			t.Errorf("%s: %v, read %q", h.Name, res[h.Name], got[h.Name])
		}
	}
}
