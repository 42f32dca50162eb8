package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// ANSI colours of the text format.
const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

// ColorEnabled reports whether text written to w may be coloured: w is a terminal, NO_COLOR is
// unset or empty (https://no-color.org) and TERM is not "dumb". getenv is os.Getenv in the CLI.
func ColorEnabled(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// renderText writes one line per finding, compiler style, so editors and terminals can jump to
// it:
//
//	access.yaml:14:7: deny weak-password: password of alice is shorter than 12 characters
//
// A blank line separates the files; a last line sums up. A finding about one live host ends in
// "(host NAME)". Messages are made single-line (control characters become spaces) so that one
// finding is always one line.
func renderText(w io.Writer, findings []Finding, opts Options) error {
	bw := bufio.NewWriter(w)
	paint := func(s, colour string) string {
		if !opts.Color {
			return s
		}
		return colour + s + ansiReset
	}
	for i, f := range findings {
		if i > 0 && f.File != findings[i-1].File {
			bw.WriteString("\n")
		}
		if loc := location(f); loc != "" {
			bw.WriteString(loc + ": ")
		}
		sev := f.Severity
		switch sev {
		case SeverityDeny:
			sev = paint(sev, ansiRed)
		case SeverityWarn:
			sev = paint(sev, ansiYellow)
		}
		fmt.Fprintf(bw, "%s %s: %s", sev, paint(oneLine(f.Rule), ansiBold), oneLine(f.Message))
		if f.Host != "" {
			fmt.Fprintf(bw, " (host %s)", oneLine(f.Host))
		}
		bw.WriteString("\n")
	}
	if len(findings) > 0 {
		bw.WriteString("\n")
	}
	s := Count(findings)
	line := summaryLine(s)
	if opts.Checked != "" {
		line = oneLine(opts.Checked) + ": " + line
	}
	switch {
	case s.Deny > 0:
		line = paint(line, ansiRed)
	case s.Warn > 0:
		line = paint(line, ansiYellow)
	}
	bw.WriteString(line + "\n")
	return bw.Flush()
}

// location is "file:line:col", "file:line", "file" or "" as far as the finding knows.
func location(f Finding) string {
	var b strings.Builder
	b.WriteString(oneLine(f.File))
	if f.File != "" && f.Line > 0 {
		b.WriteString(":" + strconv.Itoa(f.Line))
		if f.Column > 0 {
			b.WriteString(":" + strconv.Itoa(f.Column))
		}
	}
	return b.String()
}

// oneLine replaces control characters (newlines, escape sequences) with spaces: a message must
// neither break the one-line-per-finding layout nor drive the terminal.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
