package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessctl/accessctl/internal/access"
)

// AccessFormats lists the formats RenderAccess accepts, the default first.
func AccessFormats() []string { return []string{"text", "json", "csv"} }

// RenderAccess writes an access review (SPEC §2b) as "text" (a table per host), "json" or
// "csv" (one row per host, account and path, with a header). All three are sorted and stable.
func RenderAccess(w io.Writer, format string, r *access.Report) error {
	switch format {
	case "text":
		return renderAccessText(w, r)
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "csv":
		return renderAccessCSV(w, r)
	}
	return fmt.Errorf("unknown access format %q (want text, json or csv)", format)
}

// AccessCSVHeader is the CSV report's header row.
var AccessCSVHeader = []string{
	"host", "status", "error", "user", "uid", "managed", "canLogIn", "blockedBy",
	"sudo", "sudoNopasswd", "sudoRules", "groups",
	"path", "file", "line", "fingerprint", "type", "keypair", "options", "pathManaged", "allowed", "command", "lastUsed",
}

func renderAccessCSV(w io.Writer, r *access.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AccessCSVHeader); err != nil {
		return err
	}
	for _, h := range r.Hosts {
		if len(h.Accounts) == 0 {
			row := make([]string, len(AccessCSVHeader))
			row[0], row[1], row[2] = h.Host, h.Status, flatLine(h.Error)
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for _, a := range h.Accounts {
			acct := []string{h.Host, h.Status, flatLine(h.Error), a.User, access.UIDString(a.UID), yes(a.Managed), yes(a.CanLogIn),
				strings.Join(a.BlockedBy, "; "), yes(a.Sudo.Allowed), yes(a.Sudo.NoPasswd), strings.Join(a.Sudo.Rules, "; "),
				strings.Join(a.Groups, " ")}
			paths := a.Paths
			if len(paths) == 0 {
				paths = []access.Path{{}}
			}
			for _, p := range paths {
				row := append(append([]string(nil), acct...), pathCells(p)...)
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func pathCells(p access.Path) []string {
	last := ""
	if p.LastUsed != nil {
		last = p.LastUsed.UTC().Format(time.RFC3339)
	}
	switch p.Kind {
	case access.KindKey:
		return []string{p.Kind, p.File, strconv.Itoa(p.Line), p.Fingerprint, p.Type, p.Keypair, strings.Join(p.Options, ","), yes(p.Managed), "", "", last}
	case access.KindPassword, access.KindRDP:
		return []string{p.Kind, "", "", "", "", "", "", "", yes(p.Allowed), "", last}
	case access.KindKeyCommand:
		return []string{p.Kind, "", "", "", "", "", "", "", "", p.Command, ""}
	}
	return make([]string, 11)
}

func yes(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func flatLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func renderAccessText(w io.Writer, r *access.Report) error {
	var b strings.Builder
	for i, h := range r.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		if h.Status != "ok" {
			fmt.Fprintf(&b, "host %s: error: %s\n", h.Host, flatLine(h.Error))
			continue
		}
		fmt.Fprintf(&b, "host %s", h.Host)
		if u := h.Usage; u != nil {
			if u.Since.IsZero() {
				b.WriteString(" (no login records)")
			} else {
				fmt.Fprintf(&b, " (login records since %s)", u.Since.UTC().Format(time.DateOnly))
			}
		}
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  USER\tUID\tMANAGED\tLOGIN\tSUDO\tPATH\tLAST USED")
		for _, a := range h.Accounts {
			login := yes(a.CanLogIn)
			if a.CanLogIn {
				login = "yes"
			} else {
				login = "no"
			}
			sudo := "-"
			if a.Sudo.Allowed {
				sudo = strings.Join(a.Sudo.Rules, "; ")
			}
			managed := "no"
			if a.Managed {
				managed = "yes"
			}
			first := true
			row := func(path, last string) {
				if first {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.User, access.UIDString(a.UID), managed, login, sudo, path, last)
					first = false
				} else {
					fmt.Fprintf(tw, "  \t\t\t\t\t%s\t%s\n", path, last)
				}
			}
			for _, p := range a.Paths {
				last := "-"
				if p.LastUsed != nil {
					last = p.LastUsed.UTC().Format("2006-01-02 15:04")
				} else if h.Usage != nil && (p.Kind == access.KindKey || p.Kind == access.KindPassword) {
					// Not "never": the records only reach back so far.
					last = "no record"
					if !h.Usage.Since.IsZero() {
						last = "none since " + h.Usage.Since.UTC().Format(time.DateOnly)
					}
				}
				row(describePath(p), last)
			}
			if first {
				row("-", "-")
			}
			for _, bl := range a.BlockedBy {
				fmt.Fprintf(tw, "  \t\t\t\t\tblocked: %s\t\n", bl)
			}
			if len(a.Groups) > 0 {
				fmt.Fprintf(tw, "  \t\t\t\t\tgroups: %s\t\n", strings.Join(a.Groups, " "))
			}
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describePath(p access.Path) string {
	switch p.Kind {
	case access.KindKey:
		s := fmt.Sprintf("key %s %s", p.Type, p.Fingerprint)
		if p.Keypair != "" {
			s += " (" + p.Keypair
			if p.Managed {
				s += ", managed"
			}
			s += ")"
		} else {
			s += " (not in the manifest)"
		}
		if len(p.Options) > 0 {
			s += " [" + strings.Join(p.Options, ",") + "]"
		}
		return s + " " + p.File + ":" + strconv.Itoa(p.Line)
	case access.KindPassword:
		if p.Allowed {
			return "password (allowed)"
		}
		return "password (set, not allowed by sshd)"
	case access.KindKeyCommand:
		return "AuthorizedKeysCommand " + p.Command
	case access.KindRDP:
		if p.Allowed {
			return "Remote Desktop"
		}
		return "Remote Desktop (account disabled)"
	}
	return p.Kind
}
