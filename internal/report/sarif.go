package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SARIF 2.1.0, the subset GitHub code scanning reads
// (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// fingerprintKey names accessctl's partial fingerprint; bump the version if its input changes,
	// since code scanning matches alerts across runs by it.
	fingerprintKey = "accessctlFinding/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	ShortDescription     sarifText     `json:"shortDescription"`
	HelpURI              string        `json:"helpUri,omitempty"`
	DefaultConfiguration sarifRuleConf `json:"defaultConfiguration"`
}

type sarifRuleConf struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

// renderSARIF writes a SARIF 2.1.0 log with one run. Every rule of the catalogue is listed so
// code scanning can close alerts of rules that no longer fire.
//
// A finding without a file (about a live host only) is placed on line 1 of the first manifest
// file, because code scanning rejects results without a location. The partial fingerprint hashes
// rule, file, host and message, plus an occurrence counter for identical ones, and no line
// number: an alert keeps its identity when lines above it move.
func renderSARIF(w io.Writer, findings []Finding, opts Options) error {
	rules := ruleTable(findings, opts.Rules)
	index := make(map[string]int, len(rules))
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "accessctl",
			InformationURI: InformationURI,
			Version:        opts.ToolVersion,
			Rules:          make([]sarifRule, 0, len(rules)),
		}},
		// yaml.v3 counts columns in characters.
		ColumnKind: "unicodeCodePoints",
		Results:    make([]sarifResult, 0, len(findings)),
	}
	for i, r := range rules {
		index[r.ID] = i
		desc := r.Summary
		if desc == "" {
			desc = r.ID
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   r.ID,
			Name:                 ruleName(r.ID),
			ShortDescription:     sarifText{desc},
			HelpURI:              r.HelpURI(),
			DefaultConfiguration: sarifRuleConf{sarifLevel(r.Severity)},
		})
	}
	seen := map[string]int{}
	for _, f := range findings {
		res := sarifResult{
			RuleID:    f.Rule,
			RuleIndex: index[f.Rule],
			Level:     sarifLevel(f.Severity),
			Message:   sarifText{sarifMessage(f)},
		}
		file, line, col := f.File, f.Line, f.Column
		if file == "" && len(opts.Files) > 0 {
			file, line, col = opts.Files[0], 1, 1
		}
		if file != "" {
			res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: artifactURI(file)},
				Region:           sarifRegion{StartLine: max(line, 1), StartColumn: max(col, 1)},
			}}}
		}
		key := fingerprint(f)
		seen[key]++
		res.PartialFingerprints = map[string]string{fingerprintKey: key + ":" + strconv.Itoa(seen[key])}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func sarifLevel(severity string) string {
	switch severity {
	case SeverityDeny:
		return "error"
	case SeverityWarn:
		return "warning"
	}
	return "note"
}

func sarifMessage(f Finding) string {
	if f.Host != "" {
		return f.Message + " (host " + f.Host + ")"
	}
	return f.Message
}

// ruleName turns "weak-password" into "WeakPassword", the PascalCase SARIF suggests for names.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		r, n := utf8.DecodeRuneInString(part)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(part[n:])
	}
	return b.String()
}

// artifactURI makes a manifest path a URI reference: relative paths stay relative (code
// scanning resolves them against the repository root), with forward slashes and percent-escapes.
func artifactURI(file string) string {
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) || path.IsAbs(p) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // C:/x -> /C:/x
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	p = strings.TrimPrefix(path.Clean(p), "./")
	return (&url.URL{Path: p}).String()
}

func fingerprint(f Finding) string {
	h := sha256.New()
	for _, s := range []string{f.Rule, filepath.ToSlash(f.File), f.Host, f.Message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
