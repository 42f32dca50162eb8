package winsim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// The SIMULATOR reports the effective-access facts as READ does: sshd_config whole, the two
// fDenyTSConnections values, and a secedit export that hoststate's parser reads.
func TestReadEffectiveFacts(t *testing.T) {
	h := NewHost("WIN-EFF", "ansible", "pw")
	read := func() *hoststate.Windows {
		t.Helper()
		doc, err := h.Read(h.User("ansible").SID, hoststate.WinReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := hoststate.ParseWindows(hoststate.Frame(hoststate.WinReadMarker, doc))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := read()
	if w.SshdConfig.Kind != hoststate.KindFile || !strings.Contains(w.SshdConfig.Content, "Match Group administrators") {
		t.Errorf("sshd_config: %+v", w.SshdConfig)
	}
	if on, at := w.RDP.Enabled(); !on {
		t.Errorf("RDP off by default: %s", at)
	}
	r, err := hoststate.ParseUserRights(w.RDP.UserRights)
	if err != nil || strings.Join(hoststate.Right(r, hoststate.SeRemoteInteractiveLogonRight), ",") != "*S-1-5-32-544,*S-1-5-32-555" {
		t.Fatalf("rights %v %v", r, err)
	}

	h.SetDWORD(hoststate.WinTSPolicyKey, hoststate.FDenyTSConnections, 1)
	h.SetRight(hoststate.SeDenyRemoteInteractiveLogonRight, `WIN-EFF\bob`)
	h.SetRight(hoststate.SeRemoteInteractiveLogonRight)
	h.RemoveFile(hoststate.WinSshdConfigPath)
	w = read()
	if on, at := w.RDP.Enabled(); on || !strings.Contains(at, "Group Policy") {
		t.Errorf("policy value: %v %s", on, at)
	}
	r, _ = hoststate.ParseUserRights(w.RDP.UserRights)
	if hoststate.Right(r, hoststate.SeRemoteInteractiveLogonRight) != nil || hoststate.Right(r, hoststate.SeDenyRemoteInteractiveLogonRight)[0] != `WIN-EFF\bob` {
		t.Errorf("rights after change: %v", r)
	}
	if w.SshdConfig.Kind != hoststate.KindAbsent {
		t.Errorf("sshd_config: %+v", w.SshdConfig)
	}
	h.FailRightsExport("Zugriff verweigert")
	if w = read(); w.RDP.RightsError == "" || w.RDP.UserRights != "" {
		b, _ := json.Marshal(w.RDP)
		t.Errorf("export failure: %s", b)
	}
}
