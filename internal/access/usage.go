package access

import (
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
)

// UsageHost is one host's login records for the policy input; Usage is nil when the host could
// not be read.
type UsageHost struct {
	Name  string
	OK    bool
	Usage *hoststate.Usage
}

// UsageInput is `input.usage` (docs/policy-input.md): the run's time and, per host, how far
// its records reach (`since`, null when it has none or was not read) and the newest accepted
// login per user, method and key.
func UsageInput(now time.Time, hosts []UsageHost) map[string]any {
	out := []any{}
	for _, h := range hosts {
		doc := map[string]any{"name": h.Name, "status": "error", "since": nil, "logins": []any{}}
		if h.OK && h.Usage != nil {
			doc["status"] = "ok"
			if !h.Usage.Since.IsZero() {
				doc["since"] = h.Usage.Since.UTC().Format(time.RFC3339)
			}
			logins := []any{}
			for _, l := range h.Usage.Logins {
				logins = append(logins, map[string]any{"user": l.User, "method": l.Method, "fingerprint": l.Fingerprint,
					"time": l.Time.UTC().Format(time.RFC3339)})
			}
			doc["logins"] = logins
		}
		out = append(out, doc)
	}
	return map[string]any{"now": now.UTC().Format(time.RFC3339), "hosts": out}
}
