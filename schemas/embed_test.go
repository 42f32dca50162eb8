package schemas

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestCompile(t *testing.T) {
	if _, err := Compile(); err != nil {
		t.Fatal(err)
	}
}

const full = `{
  "apiVersion": "accessctl/v1",
  "keypairs": [
    {"name": "alice-laptop", "publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh alice@laptop"},
    {"name": "alice_ci", "publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHi ci"}
  ],
  "users": [
    {"name": "alice", "fullName": "Alice Liu", "uid": 2001, "shell": "/bin/bash",
     "groups": ["developers"], "sudo": true, "rdp": true, "state": "present",
     "keypairs": ["alice-laptop", {"keypair": "alice_ci", "from": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "!*.guest.example.com"], "expires": "2027-01-31"}],
     "password": {"env": "ALICE_PASSWORD"}},
    {"name": "bob", "sudo": "nopasswd", "state": "absent", "removeHome": true, "password": {"hash": "$6$salt$abc"}},
    {"name": "_svc", "sudo": false, "state": "locked", "password": {"file": "secrets/svc.pw"}}
  ],
  "hostGroups": [
    {"name": "web", "users": ["alice", "bob"], "keys": "pull",
     "sshd": {"passwordAuthentication": false, "pubkeyAuthentication": true,
              "kbdInteractiveAuthentication": false, "permitRootLogin": "no"}},
    {"name": "legacy"}
  ],
  "hosts": [
    {"name": "web-1", "address": "10.0.0.5", "port": 22, "os": "linux", "transport": "ssh", "user": "ecs-user", "groups": ["web"]},
    {"name": "win-1", "address": "win-1.example.com", "os": "windows", "transport": "winrm", "port": 5986},
    {"name": "win-2", "address": "2001:db8::5", "os": "windows", "transport": "ssh"}
  ],
  "policy": {
    "settings": {"minPasswordLength": 14, "allowedKeyTypes": ["ssh-ed25519"], "myOwnSetting": {"x": 1}},
    "exceptions": [
      {"rule": "password-auth-enabled", "hostGroup": "legacy", "reason": "vendor appliance (OPS-123)", "expires": "2027-03-31"},
      {"rule": "connect-as-root", "host": "web-1", "reason": "bootstrap", "expires": "2026-12-31"}
    ]
  }
}`

// edit decodes full, lets change modify it and returns the result.
func edit(t *testing.T, change func(m map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(full), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	return m
}

func at(m map[string]any, section string, i int) map[string]any {
	return m[section].([]any)[i].(map[string]any)
}

func TestManifests(t *testing.T) {
	sch, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		doc    map[string]any
		valid  bool
		errHas string // a fragment of the error, for invalid documents
	}{
		{"full example", edit(t, func(map[string]any) {}), true, ""},
		{"minimal", map[string]any{"apiVersion": "accessctl/v1"}, true, ""},
		{"native Go values as a YAML decoder gives them", map[string]any{
			"apiVersion": "accessctl/v1",
			"users":      []any{map[string]any{"name": "root", "uid": 0, "keypairs": []any{"k"}}},
			"hosts":      []any{map[string]any{"name": "h", "address": "h.example", "port": 2222}},
		}, true, ""},
		{"missing apiVersion", map[string]any{"users": []any{}}, false, "apiVersion"},
		{"wrong apiVersion", map[string]any{"apiVersion": "accessctl/v2"}, false, "accessctl/v1"},
		{"unknown top-level field", edit(t, func(m map[string]any) { m["user"] = []any{} }), false, "user"},
		{"unknown user field", edit(t, func(m map[string]any) { at(m, "users", 0)["sudoers"] = true }), false, "sudoers"},
		{"unknown sshd field", edit(t, func(m map[string]any) {
			at(m, "hostGroups", 0)["sshd"].(map[string]any)["permitEmptyPasswords"] = true
		}), false, "permitEmptyPasswords"},
		{"user name upper case", edit(t, func(m map[string]any) { at(m, "users", 0)["name"] = "Alice" }), false, "pattern"},
		{"user name shell injection", edit(t, func(m map[string]any) { at(m, "users", 0)["name"] = "a;rm -rf /" }), false, "pattern"},
		{"keypair name too long", edit(t, func(m map[string]any) {
			at(m, "keypairs", 0)["name"] = strings.Repeat("k", 65)
		}), false, "pattern"},
		{"keypair without publicKey", edit(t, func(m map[string]any) { delete(at(m, "keypairs", 0), "publicKey") }), false, "publicKey"},
		{"uid negative", edit(t, func(m map[string]any) { at(m, "users", 0)["uid"] = -1 }), false, "minimum"},
		{"uid too large", edit(t, func(m map[string]any) { at(m, "users", 0)["uid"] = 4294967295 }), false, "maximum"},
		{"uid not integer", edit(t, func(m map[string]any) { at(m, "users", 0)["uid"] = 1.5 }), false, "integer"},
		{"shell relative", edit(t, func(m map[string]any) { at(m, "users", 0)["shell"] = "bash" }), false, "pattern"},
		{"shell metacharacters", edit(t, func(m map[string]any) { at(m, "users", 0)["shell"] = "/bin/sh -c 'x'" }), false, "pattern"},
		{"sudo string true", edit(t, func(m map[string]any) { at(m, "users", 0)["sudo"] = "yes" }), false, "sudo"},
		{"rdp string", edit(t, func(m map[string]any) { at(m, "users", 0)["rdp"] = "true" }), false, "boolean"},
		{"state unknown", edit(t, func(m map[string]any) { at(m, "users", 0)["state"] = "disabled" }), false, "state"},
		{"fullName with colon", edit(t, func(m map[string]any) { at(m, "users", 0)["fullName"] = "a:b" }), false, "pattern"},
		{"password with two sources", edit(t, func(m map[string]any) {
			at(m, "users", 0)["password"] = map[string]any{"env": "A", "hash": "$6$x"}
		}), false, "oneOf"},
		{"password empty", edit(t, func(m map[string]any) { at(m, "users", 0)["password"] = map[string]any{} }), false, "oneOf"},
		{"password plaintext field", edit(t, func(m map[string]any) {
			at(m, "users", 0)["password"] = map[string]any{"value": "hunter2"}
		}), false, "value"},
		{"password env bad name", edit(t, func(m map[string]any) {
			at(m, "users", 0)["password"] = map[string]any{"env": "1X"}
		}), false, "env"},
		{"binding without keypair", edit(t, func(m map[string]any) {
			at(m, "users", 0)["keypairs"] = []any{map[string]any{"from": []any{"10.0.0.0/8"}}}
		}), false, "keypair"},
		{"binding from with a quote", edit(t, func(m map[string]any) {
			at(m, "users", 0)["keypairs"] = []any{map[string]any{"keypair": "k", "from": []any{`10.0.0.1",command="sh`}}}
		}), false, "from"},
		{"binding expires not a date", edit(t, func(m map[string]any) {
			at(m, "users", 0)["keypairs"] = []any{map[string]any{"keypair": "k", "expires": "31.01.2027"}}
		}), false, "expires"},
		{"binding expires impossible date", edit(t, func(m map[string]any) {
			at(m, "users", 0)["keypairs"] = []any{map[string]any{"keypair": "k", "expires": "2027-02-30"}}
		}), false, "date"},
		{"permitRootLogin boolean", edit(t, func(m map[string]any) {
			at(m, "hostGroups", 0)["sshd"].(map[string]any)["permitRootLogin"] = false
		}), false, "permitRootLogin"},
		{"keys unknown", edit(t, func(m map[string]any) { at(m, "hostGroups", 0)["keys"] = "both" }), false, "keys"},
		{"host group name leading dot", edit(t, func(m map[string]any) { at(m, "hostGroups", 0)["name"] = ".web" }), false, "pattern"},
		{"host without address (the name is used)", edit(t, func(m map[string]any) { delete(at(m, "hosts", 0), "address") }), true, ""},
		{"host without name", edit(t, func(m map[string]any) { delete(at(m, "hosts", 0), "name") }), false, "name"},
		{"host address with zone", edit(t, func(m map[string]any) { at(m, "hosts", 0)["address"] = "fe80::1%eth0" }), false, "address"},
		{"host address not IPv6", edit(t, func(m map[string]any) { at(m, "hosts", 0)["address"] = "1:2:3" }), false, "address"},
		{"login user with shell characters", edit(t, func(m map[string]any) { at(m, "hosts", 0)["user"] = "x$(id)" }), false, "pattern"},
		{"permitRootLogin old alias", edit(t, func(m map[string]any) {
			at(m, "hostGroups", 0)["sshd"].(map[string]any)["permitRootLogin"] = "without-password"
		}), true, ""},
		{"fullName with dollar", edit(t, func(m map[string]any) { at(m, "users", 0)["fullName"] = "$(id)" }), false, "pattern"},
		{"fullName with newline", edit(t, func(m map[string]any) { at(m, "users", 0)["fullName"] = "a\nb" }), false, "pattern"},
		{"exception rule id upper case", edit(t, func(m map[string]any) {
			at(m["policy"].(map[string]any), "exceptions", 0)["rule"] = "Root-User"
		}), false, "pattern"},
		{"host address with space", edit(t, func(m map[string]any) { at(m, "hosts", 0)["address"] = "10.0.0.5 -oProxyCommand=x" }), false, "address"},
		{"host address option", edit(t, func(m map[string]any) { at(m, "hosts", 0)["address"] = "-oProxyCommand=x" }), false, "address"},
		{"host port zero", edit(t, func(m map[string]any) { at(m, "hosts", 0)["port"] = 0 }), false, "minimum"},
		{"host port too large", edit(t, func(m map[string]any) { at(m, "hosts", 0)["port"] = 65536 }), false, "maximum"},
		{"host os unknown", edit(t, func(m map[string]any) { at(m, "hosts", 0)["os"] = "bsd" }), false, "os"},
		{"linux host over winrm", edit(t, func(m map[string]any) { at(m, "hosts", 0)["transport"] = "winrm" }), false, "ssh"},
		{"host without os over winrm", edit(t, func(m map[string]any) {
			delete(at(m, "hosts", 0), "os")
			at(m, "hosts", 0)["transport"] = "winrm"
		}), false, "ssh"},
		{"settings wrong type", edit(t, func(m map[string]any) {
			m["policy"].(map[string]any)["settings"].(map[string]any)["minPasswordLength"] = "12"
		}), false, "integer"},
		{"exception without scope", edit(t, func(m map[string]any) {
			delete(at(m["policy"].(map[string]any), "exceptions", 0), "hostGroup")
		}), false, "oneOf"},
		{"exception with two scopes", edit(t, func(m map[string]any) {
			at(m["policy"].(map[string]any), "exceptions", 0)["user"] = "alice"
		}), false, "oneOf"},
		{"exception without expiry", edit(t, func(m map[string]any) {
			delete(at(m["policy"].(map[string]any), "exceptions", 0), "expires")
		}), false, "expires"},
		{"exception without reason", edit(t, func(m map[string]any) {
			delete(at(m["policy"].(map[string]any), "exceptions", 0), "reason")
		}), false, "reason"},
		{"policy unknown field", edit(t, func(m map[string]any) { m["policy"].(map[string]any)["rules"] = []any{} }), false, "rules"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := sch.Validate(tc.doc)
			if tc.valid {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want invalid, got valid")
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error does not mention %q:\n%v", tc.errHas, err)
			}
		})
	}
}

// TestDocumented checks that every property an editor can complete has a title and a
// description, because editors show them on hover.
func TestDocumented(t *testing.T) {
	var doc any
	if err := json.Unmarshal(Manifest, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for name, p := range props {
					pm, ok := p.(map[string]any)
					if !ok {
						continue
					}
					if pm["title"] == nil || pm["description"] == nil {
						t.Errorf("%s.properties.%s: missing title or description", where, name)
					}
				}
			}
			for k, c := range v {
				walk(where+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(where+"["+strconv.Itoa(i)+"]", c)
			}
		}
	}
	walk("$", doc)
}

// specExample is the manifest of SPEC §1, as users write it.
const specExample = `apiVersion: accessctl/v1
keypairs:
  - name: alice-laptop
    publicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh alice@laptop
  - name: alice-ci
    publicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHi ci
users:
  - name: alice
    fullName: Alice Liu
    uid: 2001
    shell: /bin/bash
    groups: [developers]
    sudo: true
    rdp: true
    state: present
    keypairs:
      - alice-laptop
      - keypair: alice-ci
        from: [10.0.0.0/8]
        expires: 2027-01-31
    password:
      env: ALICE_PASSWORD
  - name: bob
    sudo: nopasswd
hostGroups:
  - name: web
    users: [alice, bob]
    sshd:
      passwordAuthentication: false
      pubkeyAuthentication: true
      kbdInteractiveAuthentication: false
      permitRootLogin: "no"
hosts:
  - name: web-1
    address: 10.0.0.5
    port: 22
    os: linux
    transport: ssh
    user: ecs-user
    groups: [web]
policy:
  settings:
    minPasswordLength: 12
  exceptions:
    - rule: password-auth-enabled
      hostGroup: legacy
      reason: vendor appliance needs passwords (OPS-123)
      expires: 2027-03-31
`

// TestSpecExampleYAML validates the SPEC's example as yaml.v3 decodes it, so unquoted dates
// and YAML booleans meet the schema in the form the CLI hands it over.
func TestSpecExampleYAML(t *testing.T) {
	sch, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal([]byte(specExample), &doc); err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err == nil {
		t.Fatal("yaml.v3 decodes unquoted dates to time.Time; the schema should not take them")
	}
	if err := sch.Validate(jsonDates(doc)); err != nil {
		t.Fatal(err)
	}
}

// jsonDates does what a caller validating YAML must do: turn time.Time into YYYY-MM-DD.
func jsonDates(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonDates(e)
		}
	case []any:
		for i, e := range v {
			v[i] = jsonDates(e)
		}
	case time.Time:
		return v.Format(time.DateOnly)
	}
	return v
}
