package reconcile

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/cloud"
	"github.com/accessctl/accessctl/internal/manifest"
)

// Cloud key-pair registries (SPEC §2c). Each registry of the manifest's clouds: becomes one
// HostPlan named "cloud NAME" in the same Plan as the hosts, whose changes use the resources
// cloud_keypair and cloud_binding and carry cloud.* Ops. What the manifest says of a registry:
//   - the key pairs that list it must be there with exactly that public key (import);
//   - an instance a host names (hosts[].cloud) is bound to exactly that key pair (bind);
//   - a key pair the manifest lists for it is bound to exactly the instances hosts name: any
//     other instance the registry binds it to is unbound;
//   - a key pair accessctl imported (cloud.Marker) that no longer lists it is deleted. Key
//     pairs accessctl did not import are never deleted.

// Cloud resources, SPEC §5.
const (
	ResCloudKeypair = "cloud_keypair"
	ResCloudBinding = "cloud_binding"
)

// cloudPlanPrefix starts the name of a registry's HostPlan; host names never hold a space.
const cloudPlanPrefix = "cloud "

// CloudPlanName is the plan name of registry name.
func CloudPlanName(name string) string { return cloudPlanPrefix + name }

// IsCloudPlan reports whether a HostPlan is a registry's.
func IsCloudPlan(h *HostPlan) bool { return strings.HasPrefix(h.Name, cloudPlanPrefix) }

// CloudRead is one registry as read for a run: its manifest entry and policy path, and what it
// holds (or why it could not be read).
type CloudRead struct {
	Cloud manifest.Cloud
	Path  string
	State *cloud.State
	Err   error
}

// PlanCloud compares a registry with the manifest. It makes no call: r was read before.
func PlanCloud(m *manifest.Manifest, r CloudRead) *HostPlan {
	c := r.Cloud
	hp := &HostPlan{Name: CloudPlanName(c.Name), Path: r.Path, Status: StatusOK, Changes: []Change{}}
	if r.Err != nil || r.State == nil {
		hp.Status = StatusError
		if r.Err != nil {
			// One line: provider errors (credential chains) come in several.
			hp.Error = fmt.Sprintf("read cloud registry %s: %s", c.Name, strings.Join(strings.Fields(r.Err.Error()), " "))
		} else {
			hp.Error = fmt.Sprintf("read cloud registry %s: no answer", c.Name)
		}
		return hp
	}
	st := r.State
	hp.Fingerprint = stateDigest(st)
	op := func(keypair string) CloudOp {
		return CloudOp{Registry: c.Name, Provider: c.Provider, Keypair: keypair, Region: c.Region, Endpoint: c.Endpoint, Project: c.Project}
	}
	add := func(ch Change) {
		ch.Host = hp.Name
		hp.Changes = append(hp.Changes, ch)
	}

	// Key pairs the manifest wants in this registry.
	wanted := map[string]manifest.Keypair{}
	var names []string
	for _, k := range m.Keypairs {
		for _, cn := range k.Clouds {
			if cn == c.Name {
				wanted[k.Name] = k
				names = append(names, k.Name)
			}
		}
	}
	sort.Strings(names)
	for _, name := range names {
		k := wanted[name]
		have := st.KeyPair(name)
		if have == nil {
			o := op(name)
			o.PublicKey = k.PublicKey
			reason := fmt.Sprintf("import key pair %s (%s) into %s: its public key only; the private key never leaves its owner", name, keyText(k.PublicKey), providerName(c.Provider))
			if note := manifest.EcsUndocumentedKey(k.PublicKey); note != "" && c.Provider == manifest.ProviderAlibaba {
				reason += "; note: " + note
			}
			add(Change{Action: Create, Resource: ResCloudKeypair, Name: name, Reason: reason, After: withName(describeKey(k.PublicKey), name),
				Ops: []Op{{Kind: OpCloudImport, Cloud: &o}}})
			continue
		}
		same, known := sameKey(k.PublicKey, *have)
		if same {
			continue
		}
		d, i := op(name), op(name)
		i.PublicKey = k.PublicKey
		// Blocked or not, the change carries the ops that would make it (a plan file's changes
		// all have ops); a blocked change's ops never run.
		ch := Change{Action: Update, Resource: ResCloudKeypair, Name: name, Before: describeRegistryKey(*have), After: withName(describeKey(k.PublicKey), name),
			Ops: []Op{{Kind: OpCloudDelete, Cloud: &d}, {Kind: OpCloudImport, Cloud: &i}}}
		bound := st.BoundTo(name)
		switch {
		case !known:
			ch.Reason = fmt.Sprintf("the registry returned neither a public key nor a fingerprint accessctl can compare for key pair %s", name)
			ch.Blocked = "cannot tell whether the registry's key pair holds the manifest's key"
		case !have.ImportedByAccessctl:
			ch.Reason = fmt.Sprintf("key pair %s in %s holds a different public key and was not imported by accessctl", name, c.Name)
			ch.Blocked = "accessctl replaces only key pairs it imported; rename the manifest's key pair or remove the registry's in the console"
		case len(bound) > 0:
			ch.Reason = fmt.Sprintf("key pair %s in %s holds a different public key; a registry cannot change a key pair's key, so it must be deleted and imported again", name, c.Name)
			ch.Blocked = fmt.Sprintf("the registry binds it to %s; unbind first", strings.Join(bound, ", "))
		default:
			ch.Reason = fmt.Sprintf("key pair %s in %s holds a different public key: delete it and import the manifest's (a registry cannot change a key pair's key)", name, c.Name)
		}
		add(ch)
	}

	// Bindings the manifest's hosts want.
	want := map[string]string{} // instance -> key pair
	var instances []string
	for _, h := range m.Hosts {
		if h.Cloud != nil && h.Cloud.Registry == c.Name {
			want[h.Cloud.Instance] = h.Cloud.Keypair
			instances = append(instances, h.Cloud.Instance)
		}
	}
	sort.Strings(instances)
	for _, id := range instances {
		kp := want[id]
		in := st.Instance(id)
		if in != nil && in.Keypair == kp {
			continue
		}
		o := op(kp)
		o.Instance = id
		ch := Change{Action: Create, Resource: ResCloudBinding, Name: id, After: map[string]any{"instance": id, "keypair": kp},
			Ops: []Op{{Kind: OpCloudBind, Cloud: &o}}}
		ch.Reason = fmt.Sprintf("bind key pair %s to instance %s", kp, id)
		if in != nil && in.Keypair != "" {
			ch.Action = Update
			ch.Before = map[string]any{"instance": id, "keypair": in.Keypair}
			ch.Reason += fmt.Sprintf(" (replaces %s)", in.Keypair)
		}
		switch c.Provider {
		case manifest.ProviderAlibaba:
			ch.Reason += "; ECS applies it when the instance next restarts, and accessctl never restarts an instance"
		case manifest.ProviderHuawei:
			ch.Reason += "; a KPS associate task (a reset: no old private key or password is sent), waited for"
		}
		switch {
		case in == nil && st.InstancesUnknown:
			ch.Reason += fmt.Sprintf(" (%s does not list its servers here; accessctl knows only the bindings it made)", c.Name)
		case in == nil:
			ch.Blocked = fmt.Sprintf("instance %s is not in registry %s", id, c.Name)
		case in.OS == "windows":
			ch.Blocked = fmt.Sprintf("instance %s runs Windows; %s cannot bind key pairs to Windows instances", id, providerName(c.Provider))
		}
		add(ch)
	}

	// Instances bound to a key pair the manifest lists here, that no host binds to it.
	var unbinds []cloud.Binding
	for _, b := range st.Bindings {
		if b.Keypair == "" {
			continue
		}
		if _, listed := wanted[b.Keypair]; !listed {
			continue
		}
		if _, named := want[b.Instance]; named {
			continue // bound to what the host says, or replaced by the bind above
		}
		unbinds = append(unbinds, b)
	}
	sort.Slice(unbinds, func(i, j int) bool { return unbinds[i].Instance < unbinds[j].Instance })
	for _, b := range unbinds {
		o := op(b.Keypair)
		o.Instance = b.Instance
		reason := fmt.Sprintf("unbind key pair %s from instance %s: no host of the manifest binds it there", b.Keypair, b.Instance)
		if c.Provider == manifest.ProviderAlibaba {
			reason += "; ECS applies it when the instance next restarts, and accessctl never restarts an instance"
		} else {
			reason += "; a KPS disassociate task, waited for"
		}
		add(Change{Action: Delete, Resource: ResCloudBinding, Name: b.Instance, Before: map[string]any{"instance": b.Instance, "keypair": b.Keypair}, Reason: reason,
			Ops: []Op{{Kind: OpCloudUnbind, Cloud: &o}}})
	}

	// Key pairs accessctl imported that the manifest no longer lists here.
	var gone []cloud.KeyPair
	for _, k := range st.KeyPairs {
		if _, listed := wanted[k.Name]; !listed && k.ImportedByAccessctl {
			gone = append(gone, k)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Name < gone[j].Name })
	for _, k := range gone {
		o := op(k.Name)
		reason := fmt.Sprintf("accessctl imported key pair %s and the manifest no longer lists %s for it", k.Name, c.Name)
		if bound := st.BoundTo(k.Name); len(bound) > 0 {
			reason += fmt.Sprintf("; the registry still binds it to %s", strings.Join(bound, ", "))
		}
		add(Change{Action: Delete, Resource: ResCloudKeypair, Name: k.Name, Before: describeRegistryKey(k), Reason: reason,
			Ops: []Op{{Kind: OpCloudDelete, Cloud: &o}}})
	}
	return hp
}

func withName(d map[string]any, name string) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d["keypair"] = name
	return d
}

// CloudOfPlan is the registry a saved registry plan changes, from its ops.
func CloudOfPlan(hp *HostPlan) (manifest.Cloud, bool) {
	for _, ch := range hp.Changes {
		for _, o := range ch.Ops {
			if c := o.Cloud; c != nil {
				return manifest.Cloud{Name: c.Registry, Provider: c.Provider, Region: c.Region, Endpoint: c.Endpoint, Project: c.Project}, true
			}
		}
	}
	return manifest.Cloud{}, false
}

func providerName(p string) string {
	switch p {
	case manifest.ProviderAlibaba:
		return "ECS"
	case manifest.ProviderHuawei:
		return "KPS"
	}
	return p
}

// parseKey returns the key blob of an OpenSSH public key line.
func parseKey(line string) (ssh.PublicKey, bool) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	return pk, err == nil
}

// sameKey compares a manifest key with a registry's key pair: by the public key itself when the
// registry returned it, else by its fingerprint (MD5 or SHA256 forms); known is false when
// neither can be compared.
func sameKey(line string, k cloud.KeyPair) (same, known bool) {
	want, ok := parseKey(line)
	if !ok {
		return false, false
	}
	if k.PublicKey != "" {
		have, ok := parseKey(k.PublicKey)
		if !ok {
			return false, true
		}
		return string(have.Marshal()) == string(want.Marshal()), true
	}
	fp := strings.ToLower(strings.TrimSpace(k.Fingerprint))
	if fp == "" {
		return false, false
	}
	md, sh := md5.Sum(want.Marshal()), sha1.Sum(want.Marshal())
	switch strings.TrimPrefix(strings.TrimPrefix(fp, "md5:"), "sha1:") {
	case colonHex(md[:]), colonHex(sh[:]):
		return true, true
	}
	if strings.EqualFold(strings.TrimSpace(k.Fingerprint), ssh.FingerprintSHA256(want)) {
		return true, true
	}
	// HOSTS.md §10: ECS documents MD5 (16 octets) while its examples show 20 (SHA-1?); both
	// are compared above. Another form is not known to differ: say so rather than guess.
	n := len(strings.Split(strings.TrimPrefix(strings.TrimPrefix(fp, "md5:"), "sha1:"), ":"))
	return false, n == 16 || n == 20 || strings.HasPrefix(fp, "sha256:")
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// describeKey is a key as a reviewer judges it: its type and SHA256 fingerprint.
func describeKey(line string) map[string]any {
	pk, ok := parseKey(line)
	if !ok {
		return nil
	}
	return map[string]any{"type": pk.Type(), "fingerprint": ssh.FingerprintSHA256(pk)}
}

// describeRegistryKey is a registry's key pair: its key, else the registry's own fingerprint.
func keyText(line string) string {
	if d := describeKey(line); d != nil {
		return fmt.Sprintf("%s %s", d["type"], d["fingerprint"])
	}
	return "unparsable key"
}

func describeRegistryKey(k cloud.KeyPair) map[string]any {
	d := describeKey(k.PublicKey)
	if d == nil {
		d = map[string]any{"registryFingerprint": k.Fingerprint}
	}
	d["keypair"] = k.Name
	if k.ImportedByAccessctl {
		d["importedByAccessctl"] = true
	}
	return d
}

func stateDigest(st *cloud.State) string {
	b, _ := json.Marshal(st)
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}

// CloudLiveInput is input.live.clouds for the policies: per registry, its key pairs (whether
// accessctl imported them, the instances bound to them) and whether it could be read.
func CloudLiveInput(reads []CloudRead) []any {
	out := []any{}
	for _, r := range reads {
		doc := map[string]any{"name": r.Cloud.Name, "provider": r.Cloud.Provider, "path": r.Path, "status": StatusOK, "keypairs": []any{}}
		if r.Err != nil || r.State == nil {
			doc["status"] = StatusError
			out = append(out, doc)
			continue
		}
		kps := []any{}
		for _, k := range r.State.KeyPairs {
			inst := []any{}
			for _, id := range r.State.BoundTo(k.Name) {
				inst = append(inst, id)
			}
			kps = append(kps, map[string]any{"name": k.Name, "importedByAccessctl": k.ImportedByAccessctl, "instances": inst})
		}
		doc["keypairs"] = kps
		out = append(out, doc)
	}
	return out
}

// ApplyCloud runs the Ops of a registry's plan in order: imports, binds, unbinds, deletes, as
// PlanCloud ordered them. Blocked changes are not run. Every change records its result in
// Change.Result; a failed op does not stop the other changes (an op that needs a failed one fails in
// turn, at the registry). The outcome is Failed when any op failed or any change was blocked.
//
// With readAgain (apply --plan FILE: the plan was made by another run), the registry is read
// again first and refused when it changed since the plan (another run, the console), as a stale
// host is: what was reviewed is what runs. A plan made in the same run is applied as read.
func ApplyCloud(ctx context.Context, hp *HostPlan, reg cloud.Registry, readAgain bool) Result {
	res := Result{Host: hp.Name, Outcome: Applied}
	if readAgain {
		st, err := reg.List(ctx)
		if err != nil {
			return Result{Host: hp.Name, Outcome: Failed, Err: fmt.Errorf("read cloud registry again: %w", err)}
		}
		if hp.Fingerprint == "" || stateDigest(st) != hp.Fingerprint {
			return Result{Host: hp.Name, Outcome: Failed, Err: fmt.Errorf("stale plan: the registry changed since the plan was made; nothing was changed in it")}
		}
	}
	var failures []string
	for ci := range hp.Changes {
		ch := &hp.Changes[ci]
		if ch.Blocked != "" {
			failures = append(failures, fmt.Sprintf("%s %s: blocked: %s", ch.Resource, ch.Name, ch.Blocked))
			ch.Result = "blocked: " + ch.Blocked
			continue
		}
		ch.Result = "applied"
		for _, o := range ch.Ops {
			if o.Cloud == nil {
				continue
			}
			err := runCloudOp(ctx, reg, o)
			var note *cloud.NoteError
			if errors.As(err, &note) {
				ch.Result = "applied; note: " + note.Note
				continue
			}
			if err != nil {
				ch.Result = "failed: " + err.Error()
				failures = append(failures, fmt.Sprintf("%s %s: %v", ch.Resource, ch.Name, err))
				break
			}
		}
	}
	if len(failures) > 0 {
		res.Outcome = Failed
		res.Err = fmt.Errorf("%s", strings.Join(failures, "; "))
	}
	return res
}

func runCloudOp(ctx context.Context, reg cloud.Registry, o Op) error {
	c := o.Cloud
	switch o.Kind {
	case OpCloudImport:
		return reg.Import(ctx, c.Keypair, c.PublicKey)
	case OpCloudBind:
		return reg.Bind(ctx, c.Keypair, c.Instance)
	case OpCloudUnbind:
		return reg.Unbind(ctx, c.Keypair, c.Instance)
	case OpCloudDelete:
		return reg.Delete(ctx, c.Keypair)
	}
	return fmt.Errorf("unknown cloud op %q", o.Kind)
}
