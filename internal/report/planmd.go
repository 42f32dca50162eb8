package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// renderPlanMarkdown writes the plan as a pull-request comment (GitHub-flavoured Markdown): a
// summary line, then per host a section with the changes grouped by user, each change's details
// in a diff block so that additions and removals are coloured. Hosts without changes are listed
// on one line; a big plan stays readable because each host is a collapsible <details> block.
func renderPlanMarkdown(w io.Writer, p *reconcile.Plan) error {
	ew := &planWriter{w: w}
	s := p.Summary
	ew.printf("### accessctl plan\n\n")
	ew.printf("**%d to create, %d to update, %d to delete; %d hosts failed.**\n\n", s.Create, s.Update, s.Delete, s.HostsFailed)
	var unchanged []string
	collapse := len(p.Hosts) > 5
	for _, h := range p.Hosts {
		switch {
		case h.Status == reconcile.StatusError:
			ew.printf("#### :x: `%s`: error\n\n%s\n\n", mdCode(h.Name), mdFence(h.Error))
			continue
		case len(h.Changes) == 0 && len(h.Unmanaged) == 0 && h.Status == reconcile.StatusOK:
			unchanged = append(unchanged, "`"+mdCode(h.Name)+"`")
			continue
		}
		title := fmt.Sprintf("`%s`: %s", mdCode(h.Name), countNoun(len(h.Changes), "change", "changes"))
		if len(h.Changes) > 0 {
			title += " (" + hostCounts(h) + ")"
		}
		if h.Status != reconcile.StatusOK {
			title += " — " + mdText(h.Status)
		}
		if collapse {
			ew.printf("<details><summary>%s</summary>\n\n", title)
		} else {
			ew.printf("#### %s\n\n", title)
		}
		if h.Status != reconcile.StatusOK && h.Error != "" {
			ew.printf("%s\n\n", mdFence(h.Error))
		}
		for _, g := range groupChanges(h.Changes) {
			ew.printf("**%s**\n\n```diff\n", mdText(g.title))
			for _, c := range g.changes {
				ew.printf("%s %s\n", planSymbols[c.Action], fenceSafe(changeTitle(c)))
				if c.Reason != "" {
					ew.printf("    # %s\n", fenceSafe(oneLine(c.Reason)))
				}
				for _, d := range changeDetails(c) {
					ew.printf("%s\n", diffLine(d))
				}
				if c.Blocked != "" {
					ew.printf("!   BLOCKED: %s\n", fenceSafe(oneLine(c.Blocked)))
				}
			}
			ew.printf("```\n\n")
		}
		if len(h.Unmanaged) > 0 {
			ew.printf("Unmanaged human accounts: %s\n\n", mdText(strings.Join(h.Unmanaged, ", ")))
		}
		if collapse {
			ew.printf("</details>\n\n")
		}
	}
	if len(unchanged) > 0 {
		ew.printf("No changes on %s: %s\n", countNoun(len(unchanged), "host", "hosts"), strings.Join(unchanged, ", "))
	}
	return ew.err
}

// diffLine places a detail line in a diff block: "+ x" and "- x" keep their sign in the first
// column (so GitHub colours them), with the text indented under the change's title.
func diffLine(d string) string {
	if len(d) >= 2 && (d[0] == '+' || d[0] == '-') {
		return d[:1] + "     " + fenceSafe(d[2:])
	}
	if strings.HasPrefix(d, "~ ") {
		return "!     " + fenceSafe(d[2:])
	}
	return "      " + fenceSafe(strings.TrimSpace(d))
}

// fenceSafe keeps text from closing a fenced block.
func fenceSafe(s string) string { return strings.ReplaceAll(s, "```", "'''") }

// mdCode makes s safe inside a single-backtick code span.
func mdCode(s string) string { return strings.ReplaceAll(oneLine(s), "`", "'") }

// mdText escapes the characters Markdown would interpret in running text.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_[]{}<>()#+!|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdFence puts text in a fenced block.
func mdFence(s string) string { return "```\n" + fenceSafe(s) + "\n```" }
