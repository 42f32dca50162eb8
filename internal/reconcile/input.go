package reconcile

import (
	"github.com/accessctl/accessctl/internal/hoststate"
)

// LiveInput is `input.live` for the policies (docs/policy-input.md): per host, the human
// accounts, the accounts accessctl manages or the manifest names, and their keys with the key
// pair names accessctl recorded.
func LiveInput(p *Plan) map[string]any {
	hosts := []any{}
	for _, h := range p.Hosts {
		if IsCloudPlan(h) {
			continue // registries are input.live.clouds (cloud.go)
		}
		doc := map[string]any{"name": h.Name, "os": "linux", "status": h.Status, "login": h.Guard.Login, "users": []any{}}
		if h.Live != nil {
			doc["os"] = h.Live.OS
		}
		if h.Status == StatusOK && h.Live != nil && h.Live.Windows != nil {
			doc["users"] = windowsLiveUsers(h.Live.Windows)
			hosts = append(hosts, doc)
			continue
		}
		if h.Status != StatusOK || h.Live == nil || h.Live.Linux == nil {
			doc["status"] = StatusError
			hosts = append(hosts, doc)
			continue
		}
		l := h.Live.Linux
		users := []any{}
		for _, a := range l.Accounts {
			_, named := l.AuthorizedKeys[a.Name]
			managed := l.Record.CreatedUser(a.Name)
			if !a.Human() && !managed && !named {
				continue
			}
			recorded := map[string]string{}
			for _, k := range l.Record.Keys[a.Name] {
				recorded[k.Fingerprint] = k.Keypair
			}
			keys := []any{}
			if f := l.AuthorizedKeys[a.Name]; f.Kind == hoststate.KindFile {
				parsed, _ := hoststate.ParseAuthorizedKeys(f.Content)
				for _, k := range parsed {
					keys = append(keys, map[string]any{"fingerprint": k.Fingerprint, "keypair": recorded[k.Fingerprint]})
				}
			}
			users = append(users, map[string]any{
				"name": a.Name, "uid": a.UID, "human": a.Human(), "managed": managed, "keys": keys,
				// login marks accessctl's own login account, so rules can leave it alone.
				"login": a.Name == h.Guard.Login,
			})
		}
		doc["users"] = users
		hosts = append(hosts, doc)
	}
	return map[string]any{"hosts": hosts}
}

// PlanInput is `input.plan` for the policies: the changes and the lockout guard of every host.
func PlanInput(p *Plan) map[string]any {
	hosts := []any{}
	for _, h := range p.Hosts {
		changes := []any{}
		for _, c := range h.Changes {
			changes = append(changes, map[string]any{"action": string(c.Action), "resource": c.Resource, "name": c.Name, "reason": c.Reason})
		}
		g := h.Guard
		hosts = append(hosts, map[string]any{
			"name": h.Name, "path": h.Path, "status": h.Status, "changes": changes,
			"unmanaged": stringsAny(h.Unmanaged),
			"findings":  findingsAny(h.Findings),
			"guard": map[string]any{
				"login": g.Login, "loginUserRemoved": g.LoginUserRemoved, "loginKeysRemoved": g.LoginKeysRemoved,
				"loginSudoRemoved": g.LoginSudoRemoved, "pubkeyAuthDisabled": g.PubkeyAuthDisabled,
			},
		})
	}
	return map[string]any{"hosts": hosts}
}

func findingsAny(fs []Finding) []any {
	out := make([]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, map[string]any{"rule": f.Rule, "user": f.User, "msg": f.Msg, "where": f.Where})
	}
	return out
}

func stringsAny(s []string) []any {
	out := make([]any, 0, len(s))
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

// windowsLiveUsers is input.live's user list for a Windows host: accounts that are human, created
// by accessctl, or have keys, with the fingerprints of their installed keys.
func windowsLiveUsers(w *hoststate.Windows) []any {
	users := []any{}
	for _, u := range w.Users {
		managed := w.Record.CreatedUser(u.Name)
		f, hasKeys := w.UserKeys[u.Name]
		if !u.Human() && !managed && !hasKeys {
			continue
		}
		recorded := map[string]string{}
		for _, k := range w.Record.Keys[u.Name] {
			recorded[k.Fingerprint] = k.Keypair
		}
		keys := []any{}
		parsed, _ := hoststate.ParseAuthorizedKeys(f.Content)
		for _, k := range parsed {
			keys = append(keys, map[string]any{"fingerprint": k.Fingerprint, "keypair": recorded[k.Fingerprint]})
		}
		users = append(users, map[string]any{
			"name": u.Name, "human": u.Human(), "managed": managed, "keys": keys,
			"login": w.Login.SID != "" && u.SID == w.Login.SID,
		})
	}
	return users
}
