// Package report is the last stage of `accessctl check`: it renders policy findings as text,
// JSON, SARIF, JUnit XML or GitHub workflow commands.
//
// Renderers only: they decide nothing. Which findings exist, their severity and whether the run
// fails are decided before Render is called; the exit code is the caller's business.
//
// Invariants:
//   - Render never modifies the caller's slice. Every format lists findings in the same order:
//     by file (in Options.Files order, then by name, findings without a file last), line,
//     column, severity (deny first), rule, message and host — so output is stable for diffs and
//     golden files whatever order the policy engine produced.
//   - Messages are written as given, escaped for the format; they must already be free of
//     secrets (the policy stage guarantees that).
//   - JSON is exactly SPEC §5. The other formats follow their consumers: SARIF 2.1.0 as GitHub
//     code scanning accepts it, JUnit XML as CI test reporters read it, workflow commands as
//     GitHub Actions parses them.
package report
