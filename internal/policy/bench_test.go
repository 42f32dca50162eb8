package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accessctl/accessctl/internal/manifest"
)

// bigManifest is a large fleet: 10,000 users with two key pairs each (and, when passwords is
// true, a plaintext password each), 20,000 key pairs, 2,000 hosts in 200 groups of 50 users.
func bigManifest(b *testing.B, passwords bool) (*manifest.Manifest, func(string) (string, bool)) {
	const users, hosts, groups = 10_000, 2_000, 200
	m := &manifest.Manifest{APIVersion: "accessctl/v1"}
	secrets := map[string]string{}
	for i := range users {
		name := fmt.Sprintf("user%05d", i)
		k1, k2 := fmt.Sprintf("%s-laptop", name), fmt.Sprintf("%s-ci", name)
		m.Keypairs = append(m.Keypairs,
			manifest.Keypair{Name: k1, PublicKey: seededKey(b, uint64(2*i), name+"@laptop")},
			manifest.Keypair{Name: k2, PublicKey: seededKey(b, uint64(2*i+1), name+"@ci")})
		env := fmt.Sprintf("PW_%05d", i)
		secrets[env] = fmt.Sprintf("Quiet-%d-Harbor#%x", i*7919, i*104729)
		u := manifest.User{
			Name:     name,
			FullName: fmt.Sprintf("User Number %d", i),
			RDP:      i%50 < 3,
			Keypairs: []manifest.Binding{{Keypair: k1}, {Keypair: k2, From: []string{"10.0.0.0/8"}, Expires: "2027-01-31"}},
		}
		if passwords {
			u.Password = &manifest.Password{Env: env}
		}
		m.Users = append(m.Users, u)
	}
	for g := range groups {
		hg := manifest.HostGroup{Name: fmt.Sprintf("group%03d", g), Sshd: &manifest.Sshd{
			PasswordAuthentication: ptr(false), PubkeyAuthentication: ptr(true), PermitRootLogin: ptr("no"),
		}}
		for u := range users / groups {
			hg.Users = append(hg.Users, m.Users[g*(users/groups)+u].Name)
		}
		m.HostGroups = append(m.HostGroups, hg)
	}
	for h := range hosts {
		os := "linux"
		if h%10 == 0 {
			os = "windows"
		}
		m.Hosts = append(m.Hosts, manifest.Host{
			Name: fmt.Sprintf("host%04d", h), Address: fmt.Sprintf("10.1.%d.%d", h/250, h%250),
			OS: os, User: "ops", Groups: []string{fmt.Sprintf("group%03d", h%groups)},
		})
	}
	positionsFor(m)
	return m, env(secrets)
}

// BenchmarkCheck10k times what check does after loading: BuildInput and Eval, every user
// with a plaintext password to score.
func BenchmarkCheck10k(b *testing.B) { benchCheck(b, true) }

// BenchmarkCheck10kNoPasswords is the same fleet with keys only, to separate zxcvbn's share.
func BenchmarkCheck10kNoPasswords(b *testing.B) { benchCheck(b, false) }

func benchCheck(b *testing.B, passwords bool) {
	m, lookup := bigManifest(b, passwords)
	e := engine(b)
	ctx := context.Background()
	opts := InputOptions{LookupEnv: lookup, Today: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	var n int
	for b.Loop() {
		in, err := BuildInput(m, nil, opts)
		if err != nil {
			b.Fatal(err)
		}
		fs, err := e.Eval(ctx, in, m)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fs)
	}
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkBuildInput10k and BenchmarkEval10k split BenchmarkCheck10k in its two steps.
func BenchmarkBuildInput10k(b *testing.B) {
	m, lookup := bigManifest(b, true)
	opts := InputOptions{LookupEnv: lookup}
	for b.Loop() {
		if _, err := BuildInput(m, nil, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEval10k(b *testing.B) {
	m, lookup := bigManifest(b, true)
	e := engine(b)
	in, err := BuildInput(m, nil, InputOptions{LookupEnv: lookup})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Eval(context.Background(), in, m); err != nil {
			b.Fatal(err)
		}
	}
}
