package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
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
// planned gets status "error". With o.Recover (apply), a Linux host where a run died mid-way is
// first restored (its backups) and read again; without it (plan), such a host is an error that
// says apply restores it.
func PlanHost(ctx context.Context, m *manifest.Manifest, h manifest.Host, path string, conn transport.Conn, o Options) *HostPlan {
	if h.OS == "windows" {
		return PlanWindowsHost(ctx, m, h, path, conn, o)
	}
	if h.OS != "" && h.OS != "linux" {
		return ErrorPlan(h, path, fmt.Errorf("%s hosts are not supported by this version", h.OS))
	}
	d, err := DesiredFor(m, h)
	if err != nil {
		return ErrorPlan(h, path, err)
	}
	users := ReadUsers(m, o.Login)
	root := o.Login == "root"
	live, err := hoststate.ReadLinuxWith(ctx, conn, root, users, readExtras(d, o))
	if err != nil {
		return ErrorPlan(h, path, fmt.Errorf("read host: %w", err))
	}
	if len(live.Interrupted) > 0 && o.Recover {
		if err := Recover(ctx, conn, root, o.Waits); err != nil {
			return ErrorPlan(h, path, err)
		}
		if live, err = hoststate.ReadLinux(ctx, conn, root, users); err != nil {
			return ErrorPlan(h, path, fmt.Errorf("read host: %w", err))
		}
	}
	switch {
	case live.Busy:
		return ErrorPlan(h, path, fmt.Errorf("another accessctl apply held the host's lock for the whole read; try again"))
	case len(live.Interrupted) > 0:
		return ErrorPlan(h, path, fmt.Errorf("an accessctl apply (run %s) was killed mid-way on this host; `accessctl apply` restores its backups first", strings.Join(live.Interrupted, ", ")))
	}
	hp := PlanLinux(m, d, live, path, o)
	if hp.Apply != nil {
		hp.Apply.ReadUsers = users
		hp.Apply.Generation = live.Generation
	}
	return hp
}

// Recover restores what applies killed mid-way left on a Linux host, under its apply lock.
func Recover(ctx context.Context, conn transport.Conn, root bool, w Waits) error {
	script, err := LinuxRecoverScript("recover-"+NewRunID(time.Now()), w)
	if err != nil {
		return err
	}
	out, code, err := transport.Privileged{Conn: conn, Root: root}.Run(ctx, "sh -s -- recover", script)
	m := parseApplyOutput(out)
	if err != nil || m.exit != "recovered" {
		return fmt.Errorf("restore the backups of an interrupted apply: exit status %d: %v %s", code, err, strings.TrimSpace(out))
	}
	return nil
}

// ReadAgain reads hp's host again, as the plan's read did (restoring first what an apply
// killed mid-way left), and returns its state when it still has the fingerprint the plan was
// made from: else the host is stale and the error says so.
func ReadAgain(ctx context.Context, conn transport.Conn, hp *HostPlan, w Waits) (*hoststate.State, error) {
	a := hp.Apply
	if a == nil {
		return nil, fmt.Errorf("the plan holds no apply data for %s", hp.Name)
	}
	var st *hoststate.State
	switch a.Host.OS {
	case "windows":
		live, err := hoststate.ReadWindows(ctx, conn, a.ReadUsers)
		if err != nil {
			return nil, fmt.Errorf("read host: %w", err)
		}
		st = &hoststate.State{OS: "windows", Windows: live}
	default:
		live, err := hoststate.ReadLinux(ctx, conn, a.Root, a.ReadUsers)
		if err == nil && len(live.Interrupted) > 0 {
			if err = Recover(ctx, conn, a.Root, w); err == nil {
				live, err = hoststate.ReadLinux(ctx, conn, a.Root, a.ReadUsers)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read host: %w", err)
		}
		if live.Busy {
			return nil, fmt.Errorf("another accessctl apply held the host's lock for the whole read")
		}
		st = &hoststate.State{OS: "linux", Linux: live}
	}
	if st.Fingerprint() != hp.Fingerprint {
		return nil, fmt.Errorf("stale plan: the host changed since the plan was made; nothing was applied (plan again and review it)")
	}
	return st, nil
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
