package main

import (
	"context"
	"fmt"
	"net"
	"path"
	"strings"
	"sync"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/cloud/alibaba"
	"github.com/accessctl/accessctl/internal/cloud/huawei"
	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/reconcile"
)

// cloudRun holds the cloud key-pair registries of one plan or apply run (SPEC §2c): each
// registry is opened and read once, in the background while the hosts are read, and the same
// client applies its changes.
type cloudRun struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	reads []reconcile.CloudRead
	regs  map[string]cloud.Registry
	// fromFile: the plans come from a saved plan file; each registry is read again and refused
	// when it changed since.
	fromFile bool
	// openErrs are the registries that could not be opened (apply --plan).
	openErrs map[string]error
}

// openRegistry opens a registry with the provider's standard credential chain.
func openRegistry(c manifest.Cloud) (cloud.Registry, error) {
	cfg := cloud.Config{Name: c.Name, Region: c.Region, Endpoint: c.Endpoint, Project: c.Project}
	switch c.Provider {
	case manifest.ProviderAlibaba:
		return alibaba.New(cfg)
	case manifest.ProviderHuawei:
		return huawei.New(cfg)
	}
	return nil, fmt.Errorf("unknown provider %q", c.Provider)
}

// startClouds reads, in the background, every registry that --limit and --shard select: a
// registry is named "cloud NAME" for both, so `--limit 'web-*'` leaves registries out and N
// shards share them as they share hosts. wait() must be called before the results are used.
func (c *cli) startClouds(ctx context.Context, m *manifest.Manifest, o *fleetOptions) *cloudRun {
	cr := &cloudRun{regs: map[string]cloud.Registry{}}
	shard, _ := inventory.ParseShard(o.shard) // already validated by planFleet
	if o.shard == "" {
		shard = inventory.Shard{}
	}
	for i, cl := range m.Clouds {
		name := reconcile.CloudPlanName(cl.Name)
		if !limitMatches(o.limit, name) || !shard.Contains(name) {
			continue
		}
		cr.reads = append(cr.reads, reconcile.CloudRead{Cloud: cl, Path: fmt.Sprintf("clouds[%d]", i)})
	}
	for i := range cr.reads {
		r := &cr.reads[i]
		cr.wg.Add(1)
		go func() {
			defer cr.wg.Done()
			// Opening may itself reach the network (a credential chain, IAM for a project id).
			reg, err := openRegistry(r.Cloud)
			if err != nil {
				r.Err = err
				return
			}
			cr.mu.Lock()
			cr.regs[r.Cloud.Name] = reg
			cr.mu.Unlock()
			r.State, r.Err = reg.List(ctx)
		}()
	}
	return cr
}

func limitMatches(limit, name string) bool {
	if strings.TrimSpace(limit) == "" {
		return true
	}
	for _, g := range strings.Split(limit, ",") {
		if ok, _ := path.Match(strings.TrimSpace(g), name); ok {
			return true
		}
	}
	return false
}

// limitOnlyClouds: --limit selects registries ("cloud NAME") and no host, so the hosts' "matches
// no host" error does not apply.
func limitOnlyClouds(m *manifest.Manifest, limit string) bool {
	if strings.TrimSpace(limit) == "" {
		return false
	}
	for _, g := range strings.Split(limit, ",") {
		if _, err := path.Match(strings.TrimSpace(g), ""); err != nil {
			return false
		}
	}
	for _, h := range m.Hosts {
		if limitMatches(limit, h.Name) {
			return false
		}
	}
	for _, cl := range m.Clouds {
		if limitMatches(limit, reconcile.CloudPlanName(cl.Name)) {
			return true
		}
	}
	return false
}

// plans waits for the reads and plans each registry.
func (cr *cloudRun) plans(m *manifest.Manifest) []*reconcile.HostPlan {
	cr.wg.Wait()
	var out []*reconcile.HostPlan
	for _, r := range cr.reads {
		out = append(out, reconcile.PlanCloud(m, r))
	}
	return out
}

// live adds the registries to input.live (input.live.clouds) for bound-keypair-delete.
func (cr *cloudRun) live(l map[string]any) map[string]any {
	l["clouds"] = reconcile.CloudLiveInput(cr.reads)
	return l
}

// isCloud reports whether a plan entry is a registry's (it has no connection target).
func isCloud(h *reconcile.HostPlan) bool { return reconcile.IsCloudPlan(h) }

// reopenClouds opens the registries a saved plan changes, from the location its ops carry
// (apply --plan needs no manifest). Registries whose live state changed since the plan are
// refused when applied (reconcile.ApplyCloud compares the plan's fingerprint).
func (c *cli) reopenClouds(p *reconcile.Plan) *cloudRun {
	cr := &cloudRun{regs: map[string]cloud.Registry{}, fromFile: true, openErrs: map[string]error{}}
	for _, h := range p.Hosts {
		if !isCloud(h) || len(h.Changes) == 0 {
			continue
		}
		cl, ok := reconcile.CloudOfPlan(h)
		if !ok {
			continue
		}
		reg, err := openRegistry(cl)
		if err != nil {
			cr.openErrs[cl.Name] = err
			continue
		}
		cr.regs[cl.Name] = reg
	}
	return cr
}

// applyClouds applies, in the background, every registry plan with changes; the returned
// function waits for them and returns their results by plan name. A registry's failure never
// touches the hosts, nor a host's the registries.
func (c *cli) applyClouds(ctx context.Context, cr *cloudRun, p *reconcile.Plan) func() map[string]reconcile.Result {
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]reconcile.Result{}
	for _, h := range p.Hosts {
		if !isCloud(h) || h.Status != reconcile.StatusOK || len(h.Changes) == 0 {
			continue
		}
		var reg cloud.Registry
		fromFile := false
		openErr := fmt.Errorf("registry not opened")
		if cr != nil {
			name := strings.TrimPrefix(h.Name, "cloud ")
			reg, fromFile = cr.regs[name], cr.fromFile
			if err := cr.openErrs[name]; err != nil {
				openErr = err
			}
		}
		wg.Add(1)
		go func(h *reconcile.HostPlan) {
			defer wg.Done()
			r := reconcile.Result{Host: h.Name, Outcome: reconcile.Failed, Err: openErr}
			if reg != nil {
				r = reconcile.ApplyCloud(ctx, h, reg, fromFile)
			}
			mu.Lock()
			results[h.Name] = r
			mu.Unlock()
		}(h)
	}
	return func() map[string]reconcile.Result {
		wg.Wait()
		return results
	}
}

// discoverHosts adds to m.Hosts the instances of every registry with clouds[].discover (before
// the hosts are selected and read). A registry that cannot be listed fails the run (exit 3):
// planning without hosts the manifest asks for would look like "no changes". Instances the
// manifest already names (by hosts[].cloud, name or address) are left to the manifest's entry.
func (c *cli) discoverHosts(ctx context.Context, m *manifest.Manifest) int {
	names, addrs, bound := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, h := range m.Hosts {
		names[h.Name], addrs[h.Address] = true, true
		if h.Cloud != nil {
			bound[h.Cloud.Registry+"/"+h.Cloud.Instance] = true
		}
	}
	for _, cl := range m.Clouds {
		d := cl.Discover
		if d == nil {
			continue
		}
		reg, err := openRegistry(cl)
		var found []cloud.Instance
		if err == nil {
			disc, ok := reg.(cloud.Discoverer)
			if !ok {
				err = fmt.Errorf("provider %s cannot list instances", cl.Provider)
			} else {
				k, v, _ := strings.Cut(d.Tag, "=")
				found, err = disc.Discover(ctx, k, v)
			}
		}
		if err != nil {
			c.errorf("discover hosts in cloud registry %s: %s", cl.Name, strings.Join(strings.Fields(err.Error()), " "))
			return exitHost
		}
		added := 0
		for _, in := range found {
			addr := in.PrivateIP
			if d.Address == "public" {
				addr = in.PublicIP
			}
			name := in.Name
			if !manifest.ValidHostName(name) || names[name] {
				name = in.ID
			}
			switch {
			case bound[cl.Name+"/"+in.ID] || addrs[addr] && addr != "":
				continue
			case addr == "" || net.ParseIP(addr) == nil:
				fmt.Fprintf(c.stderr, "accessctl: note: cloud registry %s: instance %s has no %s IP address; skipped\n", cl.Name, in.ID, d.Address)
				continue
			case !manifest.ValidHostName(name) || names[name]:
				fmt.Fprintf(c.stderr, "accessctl: note: cloud registry %s: instance %s has no name a host may have; skipped\n", cl.Name, in.ID)
				continue
			}
			h := manifest.Host{Name: name, Address: addr, OS: "linux", Transport: "ssh", Port: 22, User: d.User, Groups: append([]string{}, d.Groups...)}
			if in.OS == "windows" {
				h.OS, h.Transport, h.Port = "windows", "winrm", 5986
			}
			if d.Port != 0 {
				h.Port = d.Port
			}
			names[name], addrs[addr] = true, true
			m.Hosts = append(m.Hosts, h)
			added++
		}
		fmt.Fprintf(c.stderr, "accessctl: note: cloud registry %s: %d hosts with tag %s\n", cl.Name, added, d.Tag)
	}
	return exitOK
}
