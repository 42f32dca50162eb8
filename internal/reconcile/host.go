package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/manifest"
	"github.com/accessctl/accessctl/internal/transport"
)

// DaysSinceEpoch is t's date in the unit of shadow's expiry field.
func DaysSinceEpoch(t time.Time) int {
	return int(t.UTC().Unix() / 86400)
}

// ReadUsers are the accounts whose shadow entry and keys a host read needs: every user the
// manifest names, and the login.
func ReadUsers(m *manifest.Manifest, login string) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range m.Users {
		if !seen[u.Name] {
			seen[u.Name] = true
			out = append(out, u.Name)
		}
	}
	if login != "" && !seen[login] && hoststate.ValidUserName(login) {
		out = append(out, login)
	}
	return out
}

// PlanHost reads host h over conn and plans it. It never fails: a host that cannot be read or
// planned gets status "error".
func PlanHost(ctx context.Context, m *manifest.Manifest, h manifest.Host, path string, conn transport.Conn, o Options) *HostPlan {
	if h.OS == "windows" {
		wp := PlanWindowsHost(ctx, m, h, path, conn, o)
		wp.Plan.win = wp
		if wp.Live != nil {
			wp.Plan.Live = &hoststate.State{OS: "windows", Windows: wp.Live}
		}
		return wp.Plan
	}
	if h.OS != "" && h.OS != "linux" {
		return ErrorPlan(h, path, fmt.Errorf("%s hosts are not supported by this version", h.OS))
	}
	d, err := DesiredFor(m, h)
	if err != nil {
		return ErrorPlan(h, path, err)
	}
	live, err := hoststate.ReadLinuxWith(ctx, conn, o.Login == "root", ReadUsers(m, o.Login), readExtras(d, o))
	if err != nil {
		return ErrorPlan(h, path, fmt.Errorf("read host: %w", err))
	}
	return PlanLinux(m, d, live, path, o)
}
