package importer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

const (
	keyA  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPo3ojIyEK/XczOJIuJfzpc4Lby/BmwDWE5QsLTz+T8X alice@laptop"
	keyE  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPJT+9lpK7CFZS6BnQ2lBVIBH9Z8SAyHgpcJh5TTDeJj"
	keyCI = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEsXVGxGAp7tHMFndwDkiZVYvQzCgsytWtDlDVdpiGoU ci $(rm -rf /)"
)

func host(name string, alice string, sudo []string, extraUser bool) Host {
	l := &hoststate.Linux{
		Accounts: []hoststate.Account{
			{Name: "root", UID: 0, Home: "/root", Shell: "/bin/bash"},
			{Name: "alice", UID: 2001, GID: 2001, GECOS: "Alice Liu,,,", Home: "/home/alice", Shell: "/bin/bash"},
			{Name: "Weird.Name", UID: 2005, Home: "/home/w", Shell: "/bin/bash"},
		},
		Groups: []hoststate.Group{{Name: "sudo", GID: 27, Members: []string{"alice"}}, {Name: "docker", GID: 99, Members: []string{"alice"}}},
		SshdT:  map[string]string{"passwordauthentication": "no", "permitrootlogin": "no"},
		Extra: &hoststate.Extra{UIDMin: 1000, UIDMax: 60000,
			KeyFiles: map[string][]hoststate.KeyFile{
				"alice": {{Path: "/home/alice/.ssh/authorized_keys", Kind: hoststate.KindFile, Content: alice}},
				"root":  {{Path: "/root/.ssh/authorized_keys", Kind: hoststate.KindFile, Content: keyE + "\n"}},
			},
			Sudo: map[string]hoststate.SudoRights{"alice": {Rules: sudo}},
		},
	}
	if extraUser {
		l.Accounts = append(l.Accounts, hoststate.Account{Name: "bob", UID: 2002, Home: "/home/bob", Shell: "/bin/sh"})
		l.Groups[1].Members = nil
	}
	return Host{Host: manifest.Host{Name: name, Address: "10.0.0.1", User: "admin"}, Linux: l}
}

func TestBuild(t *testing.T) {
	hosts := []Host{
		host("web-1", "# by hand\nfrom=\"10.0.0.0/8\" "+keyA+"\nexpiry-time=\"20270131\",no-pty "+keyCI+"\n", []string{"(ALL : ALL) ALL"}, false),
		host("web-2", "from=\"10.0.0.0/8\" "+keyA+"\nexpiry-time=\"20270131\",no-pty "+keyCI+"\n"+keyE+"\nnot a key\n", []string{"(ALL : ALL) ALL"}, true),
		{Host: manifest.Host{Name: "gone"}, Err: errors.New("connection refused")},
	}
	res, err := Build(hosts, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	text := string(res.YAML)
	m, diags := manifest.LoadSources([]manifest.Source{{Name: "draft", Data: res.YAML}})
	if len(diags) > 0 {
		t.Fatalf("draft does not load: %v\n%s", diags, text)
	}
	for _, want := range []string{
		"gone: connection refused", "web-2: /home/alice/.ssh/authorized_keys:4: a line that is not a key",
		"root has 1 key(s)", `account "Weird.Name" does not fit`, "option no-pty",
		"key pair root-key", "is on some of alice's hosts only", "member of docker on some hosts only",
		"# sshd: {passwordAuthentication: false, permitRootLogin: \"no\"}",
	} {
		if !strings.Contains(text, want) && !strings.Contains(text, strings.Replace(want, "root-key", "alice-key", 1)) {
			t.Errorf("draft lacks %q\n%s", want, text)
		}
	}
	if strings.Contains(text, "rm -rf") {
		t.Errorf("an unsafe key comment reached the draft:\n%s", text)
	}
	var alice *manifest.User
	for i := range m.Users {
		if m.Users[i].Name == "alice" {
			alice = &m.Users[i]
		}
	}
	if alice == nil || alice.Sudo != manifest.SudoPassword || alice.FullName != "Alice Liu" || alice.UID == nil || *alice.UID != 2001 ||
		len(alice.Keypairs) != 2 || alice.Keypairs[0].Keypair != "alice-laptop" || alice.Keypairs[0].From[0] != "10.0.0.0/8" || alice.Keypairs[1].Expires != "2027-01-31" ||
		strings.Join(alice.Groups, ",") != "sudo" {
		t.Errorf("alice: %+v\n%s", alice, text)
	}
	// bob is on web-2 only: web-2 gets a group of its own, web-1 does not have bob.
	var groups = map[string][]string{}
	for _, h := range m.Hosts {
		groups[h.Name] = h.Groups
	}
	if len(groups["web-1"]) != 1 || len(groups["web-2"]) != 1 || groups["web-1"][0] == groups["web-2"][0] {
		t.Errorf("host groups: %v\n%s", groups, text)
	}
}

func TestGroupBase(t *testing.T) {
	for in, want := range map[string]string{"web-1,web-2": "web", "db-1": "db", "1,2": "hosts", "a.example.com,b.example.com": "hosts"} {
		if got := groupBase(strings.Split(in, ",")); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
