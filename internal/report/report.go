package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/accessctl/accessctl/internal/policy"
)

// Finding is one policy finding with the manifest location it is about. Its JSON form is not
// used: the json format writes the SPEC §5 field order itself.
type Finding = policy.Finding

// Severities of a finding (SPEC §4).
const (
	SeverityDeny = policy.SeverityDeny
	SeverityWarn = policy.SeverityWarn
)

// Options are what a renderer needs besides the findings.
type Options struct {
	// Color enables ANSI colour in the text format. Set it from ColorEnabled.
	Color bool
	// ToolVersion is accessctl's version, written into SARIF.
	ToolVersion string
	// Files are the manifest files checked, in merge order. Findings are grouped in this order,
	// and SARIF places findings without a file on the first of them.
	Files []string
	// Rules is the rule catalogue for SARIF and JUnit: every rule that ran, so that rules
	// without findings show as passed. Nil means the built-in catalogue, Rules.
	// Rule ids that appear only in findings (user policies) are rendered all the same.
	Rules []RuleInfo
	// Checked says what was checked ("4 users, 5 key pairs, 3 host groups, 6 hosts, 14 rules");
	// the text format puts it before its closing summary. Empty: the summary alone.
	Checked string
}

// Summary counts findings by severity, as in SPEC §5.
type Summary struct {
	Deny int `json:"deny"`
	Warn int `json:"warn"`
}

// Count counts the findings by severity. Severities other than deny and warn are not counted.
func Count(findings []Finding) Summary {
	var s Summary
	for _, f := range findings {
		switch f.Severity {
		case SeverityDeny:
			s.Deny++
		case SeverityWarn:
			s.Warn++
		}
	}
	return s
}

type renderer func(w io.Writer, findings []Finding, opts Options) error

// renderers is read-only after package initialisation.
var renderers = map[string]renderer{
	"text":   renderText,
	"json":   renderJSON,
	"sarif":  renderSARIF,
	"junit":  renderJUnit,
	"github": renderGitHub,
}

// Formats lists the format names Render accepts, the default first.
func Formats() []string {
	return []string{"text", "json", "sarif", "junit", "github"}
}

// Render writes findings to w in format, one of Formats.
func Render(w io.Writer, format string, findings []Finding, opts Options) error {
	r, ok := renderers[format]
	if !ok {
		return fmt.Errorf("unknown format %q (want text, json, sarif, junit or github)", format)
	}
	if opts.Rules == nil {
		opts.Rules = Rules
	}
	return r(w, sorted(findings, opts.Files), opts)
}

// sorted returns a sorted copy of findings; see the package documentation for the order.
func sorted(findings []Finding, files []string) []Finding {
	rank := make(map[string]int, len(files))
	for i, f := range files {
		if _, dup := rank[f]; !dup {
			rank[f] = i
		}
	}
	fileKey := func(f string) (int, string) {
		if f == "" {
			return 2, ""
		}
		if r, ok := rank[f]; ok {
			return 0, fmt.Sprintf("%09d", r)
		}
		return 1, f
	}
	out := slices.Clone(findings)
	slices.SortStableFunc(out, func(a, b Finding) int {
		ag, ak := fileKey(a.File)
		bg, bk := fileKey(b.File)
		return cmp.Or(
			cmp.Compare(ag, bg),
			cmp.Compare(ak, bk),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(a.Host, b.Host),
		)
	})
	return out
}

func severityRank(s string) int {
	switch s {
	case SeverityDeny:
		return 0
	case SeverityWarn:
		return 1
	}
	return 2
}

// ruleTable is the catalogue a SARIF or JUnit report lists: opts.Rules in order, then the ids
// found only in findings, sorted, with the severity of their first finding.
func ruleTable(findings []Finding, catalogue []RuleInfo) []RuleInfo {
	out := slices.Clone(catalogue)
	seen := make(map[string]bool, len(out))
	for _, r := range out {
		seen[r.ID] = true
	}
	var extra []RuleInfo
	for _, f := range findings {
		if !seen[f.Rule] {
			seen[f.Rule] = true
			extra = append(extra, RuleInfo{ID: f.Rule, Severity: f.Severity})
		}
	}
	slices.SortFunc(extra, func(a, b RuleInfo) int { return cmp.Compare(a.ID, b.ID) })
	return append(out, extra...)
}

// plural returns "1 warning", "2 warnings".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// summaryLine is the closing line of the text and github formats.
func summaryLine(s Summary) string {
	if s.Deny == 0 && s.Warn == 0 {
		return "no findings"
	}
	return fmt.Sprintf("%d denied, %s", s.Deny, plural(s.Warn, "warning", "warnings"))
}
