package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// PlanFormats lists the formats RenderPlan accepts, the default first.
func PlanFormats() []string { return []string{"text", "json", "markdown"} }

// RenderPlan writes a plan in format "text" (for a terminal or pasted in a review), "json"
// (the form `--out` saves and `apply --plan` reads) or "markdown" (a pull-request comment).
func RenderPlan(w io.Writer, format string, p *reconcile.Plan) error {
	switch format {
	case "text":
		return renderPlanText(w, p)
	case "json":
		return renderPlanJSON(w, p)
	case "markdown":
		return renderPlanMarkdown(w, p)
	}
	return fmt.Errorf("unknown plan format %q (want text, json or markdown)", format)
}

func renderPlanJSON(w io.Writer, p *reconcile.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

var planSymbols = map[reconcile.Action]string{
	reconcile.Create: "+",
	reconcile.Update: "~",
	reconcile.Delete: "-",
}

// changeGroup is the changes of one host about one subject: a user, or a host-wide resource
// (sshd, a cloud registry's key pairs).
type changeGroup struct {
	title   string // "user alice", "sshd"
	changes []reconcile.Change
}

// subject is what a change is about, for grouping: "user NAME" for everything a user has; a
// host-wide resource (sshd, pull-mode files named by path, cloud key pairs) is its own subject.
func subject(c reconcile.Change) string {
	switch c.Resource {
	case reconcile.ResUser, reconcile.ResKeys, reconcile.ResPassword, reconcile.ResSudo, reconcile.ResGroup:
		user, _, _ := strings.Cut(c.Name, ":")
		if user != "" && !strings.ContainsAny(user, "/\\") {
			return "user " + user
		}
		return "files" // pull mode's files on the host, named by path
	}
	return c.Resource
}

// groupChanges groups a host's changes by subject: users first, in the order they appear, then
// the host-wide resources in the order they appear.
func groupChanges(cs []reconcile.Change) []changeGroup {
	var users, other []changeGroup
	index := map[string]*[]changeGroup{}
	pos := map[string]int{}
	for _, c := range cs {
		s := subject(c)
		if l, ok := index[s]; ok {
			(*l)[pos[s]].changes = append((*l)[pos[s]].changes, c)
			continue
		}
		l := &other
		if strings.HasPrefix(s, "user ") {
			l = &users
		}
		index[s], pos[s] = l, len(*l)
		*l = append(*l, changeGroup{title: s, changes: []reconcile.Change{c}})
	}
	return append(users, other...)
}

// changeTitle is the first line of a change after its sign: the resource and its name, as in
// "+ authorized_keys alice" (the sign says create, update or delete).
func changeTitle(c reconcile.Change) string {
	return oneLine(c.Resource + " " + c.Name)
}

func hostCounts(h *reconcile.HostPlan) string {
	var n [3]int
	for _, c := range h.Changes {
		switch c.Action {
		case reconcile.Create:
			n[0]++
		case reconcile.Update:
			n[1]++
		case reconcile.Delete:
			n[2]++
		}
	}
	var parts []string
	for i, verb := range []string{"to create", "to update", "to delete"} {
		if n[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[i], verb))
		}
	}
	return strings.Join(parts, ", ")
}

// renderPlanText writes one block per host: its changes grouped by user (then sshd and other
// host-wide settings), each change with its reason and exactly what differs. Plain text with
// two-space indentation, so that it reads the same in a terminal and pasted in a review.
func renderPlanText(w io.Writer, p *reconcile.Plan) error {
	ew := &planWriter{w: w}
	var unchanged []string
	for _, h := range p.Hosts {
		label := "host " + h.Name
		if reconcile.IsCloudPlan(h) {
			label = h.Name // a cloud key-pair registry: "cloud NAME"
		}
		switch {
		case h.Status == reconcile.StatusError:
			ew.printf("%s: error: %s\n", label, oneLine(h.Error))
		case len(h.Changes) == 0 && h.Status == reconcile.StatusOK:
			if len(h.Unmanaged) == 0 {
				unchanged = append(unchanged, h.Name)
				continue
			}
			ew.printf("%s: no changes\n", label)
		case len(h.Changes) == 0:
			ew.printf("%s: %s\n", label, h.Status)
		default:
			status := ""
			if h.Status != reconcile.StatusOK {
				status = " [" + h.Status + "]"
				if h.Error != "" {
					status = " [" + h.Status + ": " + oneLine(h.Error) + "]"
				}
			}
			ew.printf("%s: %s (%s)%s\n", label, countNoun(len(h.Changes), "change", "changes"), hostCounts(h), status)
			for _, g := range groupChanges(h.Changes) {
				ew.printf("  %s\n", g.title)
				for _, c := range g.changes {
					ew.printf("    %s %s\n", planSymbols[c.Action], changeTitle(c))
					if c.Reason != "" {
						ew.printf("        %s\n", oneLine(c.Reason))
					}
					for _, d := range changeDetails(c) {
						ew.printf("        %s\n", d)
					}
					if c.Blocked != "" {
						ew.printf("        BLOCKED: %s\n", oneLine(c.Blocked))
					}
				}
			}
		}
		if len(h.Directory) > 0 {
			ew.printf("  note: directory accounts (resolved through NSS, not in /etc/passwd; keys and sudo managed, never useradd/usermod): %s\n", strings.Join(h.Directory, ", "))
		}
		if len(h.Unmanaged) > 0 {
			ew.printf("  note: unmanaged human accounts: %s\n", strings.Join(h.Unmanaged, ", "))
		}
		ew.printf("\n")
	}
	if len(unchanged) > 0 {
		ew.printf("No changes on %s: %s\n\n", countNoun(len(unchanged), "host", "hosts"), strings.Join(unchanged, ", "))
	}
	s := p.Summary
	ew.printf("Plan: %d to create, %d to update, %d to delete; %d hosts failed.\n",
		s.Create, s.Update, s.Delete, s.HostsFailed)
	return ew.err
}

type planWriter struct {
	w   io.Writer
	err error
}

func (e *planWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
