package manifest

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// Cloud key-pair registries (SPEC §2c): decoding of clouds[], keypairs[].clouds and hosts[].cloud,
// and the checks that need the registry's own rules (names, key types).

var (
	regionRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	projectRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	instanceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)
	// ecsNameRE: ECS key pair names (2-128 characters, a letter first; letters, digits, ':', '_',
	// '-'). accessctl's own key pair names are narrower still (no ':'), so only the first
	// character and the minimum length can fail here.
	ecsNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9:_-]{1,127}$`)
	// kpsNameRE: KPS key pair names (letters, digits, '_', '-', at most 64 per the KPS docs).
	kpsNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func (d *decoder) cloud(n *yaml.Node, path string) Cloud {
	var c Cloud
	d.record(path, n)
	for _, f := range d.mapping(n, path, "name", "provider", "region", "endpoint", "project", "discover") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "name":
			c.Name = d.name(f.val, p, objectNameRE, "cloud registry", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "provider":
			if v, ok := d.str(f.val, p); ok {
				if v != ProviderAlibaba && v != ProviderHuawei {
					d.errorf(f.val, p, "provider must be alibaba (ECS key pairs) or huawei (KPS), not %q", safeText(v))
				} else {
					c.Provider = v
				}
			}
		case "region":
			if v, ok := d.str(f.val, p); ok {
				if !regionRE.MatchString(v) {
					d.errorf(f.val, p, "region %q must be a region id such as cn-hangzhou or ap-southeast-1", safeText(v))
				} else {
					c.Region = v
				}
			}
		case "endpoint":
			if v, ok := d.str(f.val, p); ok {
				if msg := checkEndpoint(v); msg != "" {
					d.errorf(f.val, p, "endpoint %s", msg)
				} else {
					c.Endpoint = v
				}
			}
		case "project":
			if v, ok := d.str(f.val, p); ok {
				if !projectRE.MatchString(v) {
					d.errorf(f.val, p, "project must be a project id (letters, digits, '_' or '-')")
				} else {
					c.Project = v
				}
			}
		case "discover":
			c.Discover = d.discover(f.val, p)
		}
	}
	d.required(n, path, "name", c.Name != "" || d.hasKey(n, "name"))
	d.required(n, path, "provider", c.Provider != "" || d.hasKey(n, "provider"))
	d.required(n, path, "region", c.Region != "" || d.hasKey(n, "region"))
	return c
}

// checkEndpoint admits https:// URLs, and http:// only to a loopback address: credentials sign
// every request, and the requests and answers must not cross a network in clear text.
func checkEndpoint(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "must be a URL such as https://ecs.cn-hangzhou.aliyuncs.com"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return ""
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return ""
		}
		return "may use http:// only to a loopback address (127.0.0.1, ::1, localhost); use https://"
	}
	return "must start with https:// (or http:// to a loopback address)"
}

// tagRE: KEY=VALUE, printable ASCII without quotes or shell metacharacters.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._/@+-]{0,127}=[A-Za-z0-9:._/@+-]{0,128}$`)

func (d *decoder) discover(n *yaml.Node, path string) *CloudDiscover {
	c := CloudDiscover{Groups: []string{}, Address: "private"}
	for _, f := range d.mapping(n, path, "tag", "groups", "user", "address", "port") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "tag":
			if v, ok := d.str(f.val, p); ok {
				if !tagRE.MatchString(v) {
					d.errorf(f.val, p, "tag must be KEY=VALUE (letters, digits and :._/@+-), not %q", safeText(v))
				} else {
					c.Tag = v
				}
			}
		case "groups":
			for i, it := range d.sequence(f.val, p) {
				d.record(index(p, i), it)
				if g := d.name(it, index(p, i), objectNameRE, "host group", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`); g != "" {
					c.Groups = append(c.Groups, g)
				}
			}
		case "user":
			c.User = d.name(f.val, p, loginNameRE, "login user", `^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)
		case "port":
			c.Port, _ = d.integer(f.val, p, 1, 65535)
		case "address":
			if v, ok := d.str(f.val, p); ok {
				if v != "private" && v != "public" {
					d.errorf(f.val, p, "address must be private or public, not %q", safeText(v))
				} else {
					c.Address = v
				}
			}
		}
	}
	r := d.resolve(n, path)
	if r == nil || r.Kind != yaml.MappingNode {
		return nil
	}
	d.required(r, path, "tag", d.hasKey(r, "tag"))
	if c.Tag == "" {
		return nil
	}
	return &c
}

func (d *decoder) hostCloud(n *yaml.Node, path string) *HostCloud {
	var c HostCloud
	for _, f := range d.mapping(n, path, "registry", "instance", "keypair") {
		p := join(path, f.key.Value)
		d.record(p, f.val)
		switch f.key.Value {
		case "registry":
			c.Registry = d.name(f.val, p, objectNameRE, "cloud registry", `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
		case "instance":
			c.Instance = d.name(f.val, p, instanceRE, "instance", `^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)
		case "keypair":
			c.Keypair = d.name(f.val, p, keypairNameRE, "key pair", `^[A-Za-z0-9_-]{1,64}$`)
		}
	}
	r := d.resolve(n, path)
	if r == nil || r.Kind != yaml.MappingNode {
		return nil
	}
	for _, k := range []string{"registry", "instance", "keypair"} {
		d.required(r, path, k, d.hasKey(r, k))
	}
	if c.Registry == "" || c.Instance == "" || c.Keypair == "" {
		return nil
	}
	return &c
}

// validateClouds checks what spans clouds, key pairs and hosts: unique registry names, the
// registries a key pair lists, the registry's own name and key rules, and host bindings.
func validateClouds(m *Manifest, keypairs map[string]int, errorf func(path, format string, a ...any), at func(string) Pos) {
	clouds := map[string]int{}
	for i, c := range m.Clouds {
		if c.Name == "" {
			continue
		}
		p := fmt.Sprintf("clouds[%d]", i)
		if j, dup := clouds[c.Name]; dup {
			errorf(p+".name", "cloud registry %q is defined twice: here and at %s", c.Name, at(fmt.Sprintf("clouds[%d].name", j)))
			continue
		}
		clouds[c.Name] = i
		if c.Project != "" && c.Provider == ProviderAlibaba {
			errorf(p+".project", "cloud registry %q: project is for provider huawei only", c.Name)
		}
	}
	groups := map[string]bool{}
	for _, g := range m.HostGroups {
		groups[g.Name] = true
	}
	for i, c := range m.Clouds {
		if c.Discover == nil {
			continue
		}
		for j, g := range c.Discover.Groups {
			if !groups[g] {
				errorf(fmt.Sprintf("clouds[%d].discover.groups[%d]", i, j), "cloud registry %q puts its instances in host group %q, which is not defined under hostGroups", c.Name, g)
			}
		}
	}
	for i, k := range m.Keypairs {
		seen := map[string]bool{}
		for j, name := range k.Clouds {
			p := fmt.Sprintf("keypairs[%d].clouds[%d]", i, j)
			ci, ok := clouds[name]
			if !ok {
				errorf(p, "key pair %q lists cloud registry %q, which is not defined under clouds", k.Name, name)
				continue
			}
			if seen[name] {
				errorf(p, "key pair %q lists cloud registry %q twice", k.Name, name)
				continue
			}
			seen[name] = true
			c := m.Clouds[ci]
			if msg := RegistryRefusesName(c.Provider, k.Name); msg != "" && k.Name != "" {
				errorf(p, "key pair %q cannot be held by cloud registry %q: %s", k.Name, name, msg)
			}
			if msg := RegistryRefusesKey(c.Provider, k.PublicKey); msg != "" {
				errorf(p, "key pair %q cannot be imported into cloud registry %q: %s", k.Name, name, msg)
			}
		}
	}
	instances := map[[2]string]int{}
	for i, h := range m.Hosts {
		if h.Cloud == nil {
			continue
		}
		p := fmt.Sprintf("hosts[%d].cloud", i)
		if _, ok := clouds[h.Cloud.Registry]; !ok {
			errorf(p+".registry", "host %q names cloud registry %q, which is not defined under clouds", h.Name, h.Cloud.Registry)
			continue
		}
		ki, ok := keypairs[h.Cloud.Keypair]
		switch {
		case !ok:
			errorf(p+".keypair", "host %q binds key pair %q, which is not defined under keypairs", h.Name, h.Cloud.Keypair)
		case !containsStr(m.Keypairs[ki].Clouds, h.Cloud.Registry):
			errorf(p+".keypair", "host %q binds key pair %q in cloud registry %q, but the key pair does not list that registry under clouds (at %s)",
				h.Name, h.Cloud.Keypair, h.Cloud.Registry, at(fmt.Sprintf("keypairs[%d]", ki)))
		}
		key := [2]string{h.Cloud.Registry, h.Cloud.Instance}
		if j, dup := instances[key]; dup {
			errorf(p+".instance", "instance %q of cloud registry %q is bound by host %q and by host %q (at %s); an instance holds at most one key pair",
				h.Cloud.Instance, h.Cloud.Registry, m.Hosts[j].Name, h.Name, at(fmt.Sprintf("hosts[%d].cloud.instance", j)))
			continue
		}
		instances[key] = i
	}
}

// RegistryRefusesName says why a registry of provider would refuse a key pair name, or "".
func RegistryRefusesName(provider, name string) string {
	switch provider {
	case ProviderAlibaba:
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || !ecsNameRE.MatchString(name) {
			return "ECS key pair names are 2 to 128 characters, start with a letter, and hold only letters, digits, ':', '_' and '-'"
		}
	case ProviderHuawei:
		if !kpsNameRE.MatchString(name) {
			return "KPS key pair names are at most 64 letters, digits, '_' or '-'"
		}
	}
	return ""
}

// RegistryRefusesKey says why a registry of provider would refuse to import a public key, or "".
// KPS imports RSA only at 2048, 3072 or 4096 bits, ed25519, ECDSA P-256/384/521 and DSS. ECS
// documents RSA, DSA and ECDSA; it does not document Ed25519, which is therefore not refused
// here (the plan says so instead: EcsUndocumentedKey).
func RegistryRefusesKey(provider, line string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "" // reported on the key itself
	}
	switch provider {
	case ProviderHuawei:
		switch pk.Type() {
		case ssh.KeyAlgoRSA:
			bits := rsaBits(pk)
			if bits != 2048 && bits != 3072 && bits != 4096 {
				return fmt.Sprintf("KPS imports RSA keys of exactly 2048, 3072 or 4096 bits, not %d", bits)
			}
		case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoDSA:
		default:
			return fmt.Sprintf("KPS imports RSA, ssh-ed25519, ECDSA (P-256/384/521) and ssh-dss keys, not %s", pk.Type())
		}
	case ProviderAlibaba:
		switch pk.Type() {
		case ssh.KeyAlgoRSA, ssh.KeyAlgoDSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoED25519:
		default:
			return fmt.Sprintf("ECS ImportKeyPair documents RSA, DSA and ECDSA keys, not %s", pk.Type())
		}
	}
	return ""
}

// EcsUndocumentedKey says, for a key type ECS does not document for ImportKeyPair but may
// accept (Ed25519), what the plan should tell the reviewer; "" for documented types.
func EcsUndocumentedKey(line string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err == nil && pk.Type() == ssh.KeyAlgoED25519 {
		return "ECS does not document Ed25519 for ImportKeyPair; whether it is accepted is the registry's answer at apply"
	}
	return ""
}

func rsaBits(pk ssh.PublicKey) int {
	cpk, ok := pk.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	switch k := cpk.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	}
	return 0
}

// ValidHostName reports whether name may name a host (hosts[].name's rule), for hosts that come
// from a registry's inventory (clouds[].discover).
func ValidHostName(name string) bool { return objectNameRE.MatchString(name) }
