package report

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// JUnit XML in the shape CI test reporters read (Jenkins, GitLab, Azure DevOps,
// dorny/test-reporter): <testsuites> with one <testsuite name="accessctl check">.

type junitSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Suites   []junitSet `xml:"testsuite"`
}

type junitSet struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// junitText is element content escaped by xmlText: encoding/xml would write every newline and
// quote as a character reference, which is valid but unreadable in a CI log.
type junitText struct {
	Inner string `xml:",innerxml"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Inner   string `xml:",innerxml"`
}

// renderJUnit writes one testcase per rule: every rule of the catalogue (a rule without
// findings passes) and every other rule id found.
//
// Deny findings fail their rule's testcase: one <failure type="deny"> whose message is the
// finding's message (or "N findings" when there are several) and whose text lists them all,
// one "file:line:col: message" line each. Warnings do not fail a build, so they leave the
// testcase passed and are listed, in the same form, in its <system-out>; the report stays green
// for warnings only, as `accessctl check` exits 0 for them. A rule can have both (root-login).
func renderJUnit(w io.Writer, findings []Finding, opts Options) error {
	byRule := map[string][]Finding{}
	for _, f := range findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	suite := junitSet{Name: "accessctl check", Time: "0"}
	for _, r := range ruleTable(findings, opts.Rules) {
		tc := junitCase{Name: r.ID, Classname: "accessctl.rules", Time: "0"}
		var denied, warned []Finding
		for _, f := range byRule[r.ID] {
			if f.Severity == SeverityDeny {
				denied = append(denied, f)
			} else {
				warned = append(warned, f)
			}
		}
		if len(denied) > 0 {
			msg := denied[0].Message
			if len(denied) > 1 {
				msg = strconv.Itoa(len(denied)) + " findings"
			}
			tc.Failure = &junitFailure{Message: msg, Type: SeverityDeny, Inner: xmlText(junitLines(denied))}
			suite.Failures++
		}
		if len(warned) > 0 {
			tc.SystemOut = &junitText{xmlText(junitLines(warned))}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{
		Name:     "accessctl",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Suites:   []junitSet{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitLines lists findings one per line. Newlines inside a message would split a finding, so
// they become spaces (the text format's rule).
func junitLines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		if loc := location(f); loc != "" {
			b.WriteString(loc + ": ")
		}
		b.WriteString(f.Severity + ": " + oneLine(f.Message))
		if f.Host != "" {
			b.WriteString(" (host " + oneLine(f.Host) + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// xmlText escapes s as XML character data: the markup characters, and characters XML cannot
// hold at all (invalid UTF-8, most control characters) become U+FFFD, as encoding/xml does.
func xmlText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;") // a raw CR would be read back as LF
		case r == '\t' || r == '\n' || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF):
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
	return b.String()
}
