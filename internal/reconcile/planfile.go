package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/accessctl/accessctl/internal/manifest"
)

// PlanFileVersion is the version of the file `plan --out` writes and `apply --plan` reads.
// A file of another version is refused.
const PlanFileVersion = "2"

// Source identifies what a plan was made from, so apply can refuse a plan whose manifest
// changed (naming what changed) and a plan made by other policies.
type Source struct {
	PlanFileVersion string `json:"planFileVersion"`
	// ManifestDigest is "sha256:" + hex over Items.
	ManifestDigest string `json:"manifestDigest"`
	// Items maps each manifest entry ("users/alice", "keypairs/alice-key", "hostGroups/web",
	// "hosts/web-1", "policy", ...) to the digest of its content.
	Items map[string]string `json:"items"`
	// PolicyDigest identifies the policies the plan was checked against (policy.Engine.Digest).
	PolicyDigest string `json:"policyDigest"`
	// CreatedAt is when the plan was made (RFC 3339).
	CreatedAt string `json:"createdAt"`
}

// PlanFile is a plan with everything apply needs: every change's Ops, each host's apply data
// (how to reach and re-read it, its live-state fingerprint, the bookkeeping record), and its
// Source. It holds no plaintext secret (crypt hashes, and salted digests of Windows passwords,
// are in it), but it does hold the authorized_keys and sudoers content that will be written:
// it is written 0600 and must be handled like the manifest.
type PlanFile struct {
	*Plan
	Source *Source `json:"source"`
}

// NewSource digests m for a plan file.
func NewSource(m *manifest.Manifest, policyDigest, createdAt string) (*Source, error) {
	items, err := ManifestItems(m)
	if err != nil {
		return nil, err
	}
	return &Source{PlanFileVersion: PlanFileVersion, ManifestDigest: itemsDigest(items), Items: items, PolicyDigest: policyDigest, CreatedAt: createdAt}, nil
}

// ManifestItems digests each entry of m: list entries by their name (or index), other fields
// whole. Positions, file names and the directory are not part of it, so a manifest moved or
// reformatted is the same manifest.
func ManifestItems(m *manifest.Manifest) (map[string]string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	items := map[string]string{}
	sum := func(v any) string {
		b, _ := json.Marshal(v)
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:12])
	}
	for k, v := range doc {
		list, ok := v.([]any)
		if !ok {
			items[k] = sum(v)
			continue
		}
		for i, e := range list {
			name := fmt.Sprintf("%d", i)
			if obj, ok := e.(map[string]any); ok {
				if n, ok := obj["name"].(string); ok && n != "" {
					name = n
				}
			}
			items[k+"/"+name] = sum(e)
		}
	}
	return items, nil
}

func itemsDigest(items map[string]string) string {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, items[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Differs names the manifest entries that differ between the plan's source and m: added,
// removed or changed. Empty when m is the manifest the plan was made from.
func (s *Source) Differs(m *manifest.Manifest) ([]string, error) {
	now, err := ManifestItems(m)
	if err != nil {
		return nil, err
	}
	var out []string
	for k, v := range s.Items {
		switch w, ok := now[k]; {
		case !ok:
			out = append(out, k+" (removed)")
		case w != v:
			out = append(out, k+" (changed)")
		}
	}
	for k := range now {
		if _, ok := s.Items[k]; !ok {
			out = append(out, k+" (added)")
		}
	}
	sort.Strings(out)
	return out, nil
}

// WritePlanFile writes p with its source to path, mode 0600 (it is replaced atomically).
func WritePlanFile(path string, p *Plan, src *Source) error {
	b, err := json.MarshalIndent(PlanFile{Plan: p, Source: src}, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// maxPlanFile bounds a plan file read by apply.
const maxPlanFile = 512 << 20

// ReadPlanFile reads a file written by WritePlanFile. It refuses another file version, a file
// that is not a plan, and hosts that are named twice or lack what apply needs.
func ReadPlanFile(path string) (*PlanFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxPlanFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a plan file", path, maxPlanFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		FormatVersion string  `json:"formatVersion"`
		Source        *Source `json:"source"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a plan file: %v", path, err)
	}
	switch {
	case probe.Source == nil:
		return nil, fmt.Errorf("%s: not a plan file written by `accessctl plan --out` of this version (no source section; plan file version %s is needed)", path, PlanFileVersion)
	case probe.Source.PlanFileVersion != PlanFileVersion:
		return nil, fmt.Errorf("%s: plan file version %q, this accessctl reads version %q; make the plan again with this version", path, probe.Source.PlanFileVersion, PlanFileVersion)
	case probe.FormatVersion != FormatVersion:
		return nil, fmt.Errorf("%s: plan format %q, want %q", path, probe.FormatVersion, FormatVersion)
	}
	pf := &PlanFile{Plan: &Plan{}}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(pf); err != nil {
		return nil, fmt.Errorf("%s: not a plan file: %v", path, err)
	}
	seen := map[string]bool{}
	for i, h := range pf.Hosts {
		switch {
		case h == nil || h.Name == "":
			return nil, fmt.Errorf("%s: not a plan file: hosts[%d] has no name", path, i)
		case seen[h.Name]:
			return nil, fmt.Errorf("%s: not a plan file: host %q appears twice", path, h.Name)
		case h.Status == StatusOK && len(h.Changes) > 0 && h.Apply == nil && !strings.HasPrefix(h.Name, "cloud "):
			return nil, fmt.Errorf("%s: host %s has changes but no apply data", path, h.Name)
		}
		seen[h.Name] = true
		for j, c := range h.Changes {
			if len(c.Ops) == 0 && c.Blocked == "" {
				return nil, fmt.Errorf("%s: host %s, change %d (%s %s) has no operations", path, h.Name, j, c.Resource, c.Name)
			}
		}
	}
	return pf, nil
}

// Public is p as shown to people and in `plan --format json`: without Ops and apply data.
func (p *Plan) Public() *Plan {
	out := &Plan{FormatVersion: p.FormatVersion, Summary: p.Summary}
	if p.Hosts != nil {
		out.Hosts = make([]*HostPlan, 0, len(p.Hosts))
	}
	for _, h := range p.Hosts {
		c := *h
		c.Apply = nil
		c.Changes = make([]Change, len(h.Changes))
		for i, ch := range h.Changes {
			ch.Ops = nil
			c.Changes[i] = ch
		}
		out.Hosts = append(out.Hosts, &c)
	}
	return out
}
