package reconcile

import (
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
)

func TestKeysEquivalent(t *testing.T) {
	const pubA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPo3ojIyEK/XczOJIuJfzpc4Lby/BmwDWE5QsLTz+T8X alice@laptop"
	const pubB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPJT+9lpK7CFZS6BnQ2lBVIBH9Z8SAyHgpcJh5TTDeJj bob"
	a, err := keyLine(manifest.Binding{Keypair: "a", From: []string{"10.0.0.0/8", "127.0.0.1"}}, pubA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyLine(manifest.Binding{Keypair: "b", Expires: "2027-01-31"}, pubB)
	if err != nil {
		t.Fatal(err)
	}
	want := []desiredKey{a, b}
	file := func(s string) hoststate.File { return hoststate.File{Kind: hoststate.KindFile, Content: s} }
	for text, eq := range map[string]bool{
		// Order, comment lines, the header and the from= order do not matter.
		"# mine\nexpiry-time=\"20270131\" " + pubB + "\n\nfrom=\"127.0.0.1,10.0.0.0/8\" " + pubA + "\n": true,
		authorizedKeysText(want): true,
		// A missing restriction, a key twice, another option (even a restricting one), another
		// key comment, a line that is not a key.
		pubA + "\n" + `expiry-time="20270131" ` + pubB + "\n":                                                   false,
		`from="10.0.0.0/8,127.0.0.1" ` + pubA + "\n" + `from="10.0.0.0/8,127.0.0.1" ` + pubA + "\n":             false,
		`from="10.0.0.0/8,127.0.0.1",no-pty ` + pubA + "\n" + `expiry-time="20270131" ` + pubB + "\n":           false,
		`from="10.0.0.0/8,127.0.0.1" ` + pubA + "x\n" + `expiry-time="20270131" ` + pubB + "\n":                 false,
		`from="10.0.0.0/8,127.0.0.1" ` + pubA + "\n" + `expiry-time="20270131" ` + pubB + "\nssh-xmss AAAA x\n": false,
	} {
		if got := keysEquivalent(want, file(text)); got != eq {
			t.Errorf("%q: %v, want %v", text, got, eq)
		}
	}
	// Across files: the two keys in two files are the same access.
	if !keysEquivalentAll(want, []hoststate.File{file(`from="10.0.0.0/8,127.0.0.1" ` + pubA + "\n"), file(`expiry-time="20270131" ` + pubB + "\n"), {Kind: hoststate.KindAbsent}}) {
		t.Error("keys split over two files are not equivalent")
	}
	if keysEquivalent(nil, hoststate.File{Kind: hoststate.KindAbsent}) != true || keysEquivalent(nil, file("# only a comment\n")) != true {
		t.Error("no keys wanted, none there")
	}
}
