package report

import (
	"encoding/json"
	"io"
)

// jsonFinding fixes the field order of SPEC §5, whatever the order of Finding's fields.
type jsonFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Path     string `json:"path"`
	Host     string `json:"host,omitempty"`
}

type jsonReport struct {
	Findings []jsonFinding `json:"findings"`
	Summary  Summary       `json:"summary"`
}

// renderJSON writes SPEC §5: {"findings":[...],"summary":{"deny":N,"warn":M}}, findings an
// empty array when there are none.
func renderJSON(w io.Writer, findings []Finding, _ Options) error {
	out := jsonReport{Findings: make([]jsonFinding, 0, len(findings)), Summary: Count(findings)}
	for _, f := range findings {
		// Field by field, not a conversion: Finding may gain fields or change order.
		out.Findings = append(out.Findings, jsonFinding{
			Rule: f.Rule, Severity: f.Severity, Message: f.Message,
			File: f.File, Line: f.Line, Column: f.Column, Path: f.Path, Host: f.Host,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
