package hoststate

import (
	"regexp"
	"strings"
)

var (
	// ps7Only is syntax Windows PowerShell 5.1 does not have.
	ps7Only = []*regexp.Regexp{
		regexp.MustCompile(`\?\?`),                                // null-coalescing (PS 7)
		regexp.MustCompile(`\?\.`),                                // null-conditional member access (PS 7)
		regexp.MustCompile(`(?m)\s(&&|\|\|)\s`),                   // pipeline chain operators (PS 7)
		regexp.MustCompile(`-Parallel\b`),                         // ForEach-Object -Parallel (PS 7)
		regexp.MustCompile(`(?i)ConvertFrom-Json\s+-AsHashtable`), // PS 6+
		regexp.MustCompile(`(?i)\bclean\s*\{`),                    // clean block (PS 7.3)
	}
	localisedGroup = regexp.MustCompile(`(?i)-(Name|Group)\s+['"]?(Administrators|Remote Desktop Users|Administratoren)`)
)

// LintPowerShell checks, without PowerShell, what every script accessctl sends to Windows
// promises: Windows PowerShell 5.1 syntax only, groups by SID only, no password on a command
// line, strict mode. It returns the problems found (none: nil).
func LintPowerShell(s string) []string {
	var out []string
	for _, re := range ps7Only {
		if loc := re.FindStringIndex(s); loc != nil {
			out = append(out, "PowerShell 7 only syntax "+s[loc[0]:loc[1]])
		}
	}
	if localisedGroup.MatchString(s) {
		out = append(out, "a group addressed by its localised name")
	}
	if strings.Contains(s, "ConvertTo-SecureString") || strings.Contains(s, "-AsPlainText") {
		out = append(out, "SecureStrings must be built from stdin data with AppendChar")
	}
	if !strings.Contains(s, "Set-StrictMode -Version 2") {
		out = append(out, "no strict mode")
	}
	return out
}
