package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// PlanFormats lists the formats RenderPlan accepts, the default first.
func PlanFormats() []string { return []string{"text", "json"} }

// RenderPlan writes a plan in format "text" (Terraform-like) or "json" (SPEC §5; the form
// `--out` saves and `apply --plan` reads).
func RenderPlan(w io.Writer, format string, p *reconcile.Plan) error {
	switch format {
	case "text":
		return renderPlanText(w, p)
	case "json":
		return renderPlanJSON(w, p)
	}
	return fmt.Errorf("unknown plan format %q (want text or json)", format)
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

func renderPlanText(w io.Writer, p *reconcile.Plan) error {
	ew := &planWriter{w: w}
	for _, h := range p.Hosts {
		switch {
		case h.Status != reconcile.StatusOK:
			ew.printf("host %s: error: %s\n", h.Name, h.Error)
		case len(h.Changes) == 0:
			ew.printf("host %s: no changes\n", h.Name)
		default:
			ew.printf("host %s: %s\n", h.Name, plural(len(h.Changes), "change", "changes"))
			for _, c := range h.Changes {
				ew.printf("  %s %s %s\n", planSymbols[c.Action], c.Resource, c.Name)
				ew.printf("      %s\n", c.Reason)
				if c.Blocked != "" {
					ew.printf("      blocked: %s\n", c.Blocked)
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
