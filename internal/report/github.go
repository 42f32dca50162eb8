package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// renderGitHub writes GitHub Actions workflow commands, which the runner turns into annotations
// on the pull request's changed lines:
//
//	::error file=access.yaml,line=14,col=7,title=weak-password::password of alice is too short
//
// deny is ::error, warn (and anything else) ::warning. Properties that are unknown are left out.
// The last line is the plain summary, which the log shows as is.
// Escaping follows the runner (actions/toolkit command.ts): % CR LF in the message; the same
// plus ':' and ',' in property values.
func renderGitHub(w io.Writer, findings []Finding, _ Options) error {
	bw := bufio.NewWriter(w)
	for _, f := range findings {
		cmd := "warning"
		if f.Severity == SeverityDeny {
			cmd = "error"
		}
		var props []string
		if f.File != "" {
			props = append(props, "file="+escapeProperty(f.File))
			if f.Line > 0 {
				props = append(props, "line="+strconv.Itoa(f.Line))
				if f.Column > 0 {
					props = append(props, "col="+strconv.Itoa(f.Column))
				}
			}
		}
		props = append(props, "title="+escapeProperty(f.Rule))
		msg := f.Message
		if f.Host != "" {
			msg += " (host " + f.Host + ")"
		}
		bw.WriteString("::" + cmd + " " + strings.Join(props, ",") + "::" + escapeData(msg) + "\n")
	}
	bw.WriteString(summaryLine(Count(findings)) + "\n")
	return bw.Flush()
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
