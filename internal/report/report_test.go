package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample has findings in no particular order, over two files, with a user policy's rule, a
// rule with both severities, a finding about a live host and one with no known line.
var sample = []Finding{
	{Rule: "password-auth-enabled", Severity: "warn", Message: "host group legacy allows password authentication",
		File: "access.yaml", Line: 40, Column: 7, Path: "hostGroups[1].sshd.passwordAuthentication"},
	{Rule: "weak-password", Severity: "deny", Message: "password of alice is shorter than 12 characters",
		File: "access.yaml", Line: 14, Column: 7, Path: "users[0].password"},
	{Rule: "root-login", Severity: "deny", Message: `host group web sets permitRootLogin: "yes"`,
		File: "conf.d/groups.yaml", Line: 5, Column: 24, Path: "hostGroups[0].sshd.permitRootLogin"},
	{Rule: "root-login", Severity: "warn", Message: "host group db leaves permitRootLogin unmanaged",
		File: "conf.d/groups.yaml", Line: 9, Column: 5, Path: "hostGroups[2]"},
	{Rule: "team-owner", Severity: "deny", Message: "user bob has no owner",
		File: "access.yaml", Line: 20, Column: 5, Path: "users[1]"},
	{Rule: "unmanaged-user", Severity: "warn", Message: "account mallory is not in the manifest",
		File: "", Path: "", Host: "web-1"},
	{Rule: "weak-password", Severity: "deny", Message: "password of bob contains the user name",
		File: "access.yaml", Line: 22, Column: 7, Path: "users[1].password"},
	{Rule: "invalid-manifest", Severity: "deny", Message: "cannot read file",
		File: "extra.yaml", Path: ""},
}

var sampleOpts = Options{ToolVersion: "1.2.3", Files: []string{"access.yaml", "conf.d/groups.yaml"}}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

func render(t *testing.T, format string, fs []Finding, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, format, fs, opts); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	ext := map[string]string{"text": "txt", "json": "json", "sarif": "sarif", "junit": "junit.xml", "github": "github.txt"}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			golden(t, "findings."+ext[format], render(t, format, sample, sampleOpts))
			golden(t, "empty."+ext[format], render(t, format, nil, sampleOpts))
		})
	}
	t.Run("text-color", func(t *testing.T) {
		opts := sampleOpts
		opts.Color = true
		golden(t, "findings.color.txt", render(t, "text", sample, opts))
	})
}

func TestRenderDoesNotReorderInput(t *testing.T) {
	in := slices.Clone(sample)
	for _, format := range Formats() {
		render(t, format, in, sampleOpts)
	}
	if !slices.Equal(in, sample) {
		t.Error("Render modified the caller's slice")
	}
}

func TestUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := Render(&buf, "yaml", sample, sampleOpts)
	if err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Fatalf("want an error naming the format, got %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote output for an unknown format: %q", buf.String())
	}
}

func TestJSONShape(t *testing.T) {
	// Field order and the empty array are part of SPEC §5.
	out := render(t, "json", nil, Options{})
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, out); err != nil {
		t.Fatal(err)
	}
	if got, want := compact.String(), `{"findings":[],"summary":{"deny":0,"warn":0}}`; got != want {
		t.Errorf("empty report:\n got %s\nwant %s", got, want)
	}
	out = render(t, "json", sample[1:2], Options{})
	compact.Reset()
	if err := json.Compact(compact, out); err != nil {
		t.Fatal(err)
	}
	want := `{"findings":[{"rule":"weak-password","severity":"deny","message":"password of alice is shorter than 12 characters",` +
		`"file":"access.yaml","line":14,"column":7,"path":"users[0].password"}],"summary":{"deny":1,"warn":0}}`
	if compact.String() != want {
		t.Errorf("one finding:\n got %s\nwant %s", compact, want)
	}
}

func TestRuleCatalogue(t *testing.T) {
	spec := []string{"root-user", "root-login", "connect-as-root", "weak-password", "password-unverifiable",
		"password-auth-enabled", "key-algorithm", "duplicate-key", "private-key", "bound-keypair-delete",
		"rdp-session-limit", "exception-expired", "unmanaged-user", "lockout", "stale-key", RuleInvalidManifest}
	ids := map[string]bool{}
	for _, r := range Rules {
		if ids[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		ids[r.ID] = true
		if r.Severity != SeverityDeny && r.Severity != SeverityWarn {
			t.Errorf("rule %s: severity %q", r.ID, r.Severity)
		}
		if r.Summary == "" || r.HelpURI() == "" {
			t.Errorf("rule %s: no summary or help", r.ID)
		}
	}
	for _, id := range spec {
		if !ids[id] {
			t.Errorf("rule %s of SPEC §4 missing from Rules", id)
		}
	}
	if len(Rules) != len(spec) {
		t.Errorf("Rules has %d entries, SPEC §4 plus invalid-manifest has %d", len(Rules), len(spec))
	}
}

// nasty holds everything that needs escaping somewhere.
var nasty = Finding{
	Rule:     "my:rule,x",
	Severity: "deny",
	Message:  "line one\nline \"two\" <&> 100% a,b: c\r\n'end'",
	File:     "dir/sub,x/a b:c.yaml",
	Line:     3,
	Column:   0,
	Path:     "users[0]",
}

func TestEscapingGitHub(t *testing.T) {
	out := string(render(t, "github", []Finding{nasty}, Options{}))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one command and the summary, got %q", out)
	}
	want := `::error file=dir/sub%2Cx/a b%3Ac.yaml,line=3,title=my%3Arule%2Cx::` +
		`line one%0Aline "two" <&> 100%25 a,b: c%0D%0A'end'`
	if lines[0] != want {
		t.Errorf("\n got %s\nwant %s", lines[0], want)
	}
	warn := nasty
	warn.Severity = "warn"
	warn.File = ""
	out = string(render(t, "github", []Finding{warn}, Options{}))
	if !strings.HasPrefix(out, "::warning title=my%3Arule%2Cx::line one%0A") {
		t.Errorf("warning without file: %q", out)
	}
}

func TestEscapingJUnit(t *testing.T) {
	out := render(t, "junit", []Finding{nasty}, Options{Rules: []RuleInfo{}})
	if bytes.Contains(out, []byte("<&>")) {
		t.Errorf("unescaped markup in XML:\n%s", out)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, out)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "accessctl check" || len(doc.Suites[0].Cases) != 1 {
		t.Fatalf("unexpected structure:\n%s", out)
	}
	tc := doc.Suites[0].Cases[0]
	if tc.Name != nasty.Rule {
		t.Errorf("testcase name %q", tc.Name)
	}
	// The attribute keeps the message exactly (newlines as character references).
	if tc.Failure.Message != nasty.Message {
		t.Errorf("failure message round trip:\n got %q\nwant %q", tc.Failure.Message, nasty.Message)
	}
	wantText := `dir/sub,x/a b:c.yaml:3: deny: line one line "two" <&> 100% a,b: c  'end'` + "\n"
	if tc.Failure.Text != wantText {
		t.Errorf("failure text:\n got %q\nwant %q", tc.Failure.Text, wantText)
	}
	// Characters XML cannot hold at all must not make the document unreadable.
	for in, want := range map[string]string{
		"a\x01b\xffc":  "a\uFFFDb\uFFFDc",
		"<&>\r\n\t\"'": "&lt;&amp;&gt;&#xD;\n\t\"'",
	} {
		if got := xmlText(in); got != want {
			t.Errorf("xmlText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapingSARIF(t *testing.T) {
	out := render(t, "sarif", []Finding{nasty}, Options{ToolVersion: "dev", Rules: Rules})
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string `json:"id"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if log.Version != "2.1.0" || log.Schema == "" || len(log.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log:\n%s", out)
	}
	run := log.Runs[0]
	if len(run.Results) != 1 {
		t.Fatalf("want 1 result, got %d", len(run.Results))
	}
	res := run.Results[0]
	if res.Message.Text != nasty.Message {
		t.Errorf("message round trip:\n got %q\nwant %q", res.Message.Text, nasty.Message)
	}
	if got := run.Tool.Driver.Rules[res.RuleIndex].ID; got != nasty.Rule || res.RuleID != nasty.Rule {
		t.Errorf("ruleIndex %d points at %q, want %q", res.RuleIndex, got, nasty.Rule)
	}
	if len(run.Tool.Driver.Rules) != len(Rules)+1 {
		t.Errorf("want the catalogue plus the unknown rule, got %d rules", len(run.Tool.Driver.Rules))
	}
	if res.Level != "error" || run.Tool.Driver.Rules[res.RuleIndex].DefaultConfiguration.Level != "error" {
		t.Errorf("level %q", res.Level)
	}
	loc := res.Locations[0].PhysicalLocation
	if want := "dir/sub,x/a%20b:c.yaml"; loc.ArtifactLocation.URI != want {
		t.Errorf("uri %q, want %q", loc.ArtifactLocation.URI, want)
	}
	if loc.Region.StartLine != 3 || loc.Region.StartColumn != 1 {
		t.Errorf("region %+v, want line 3 column 1", loc.Region)
	}
	if len(res.PartialFingerprints) == 0 {
		t.Error("no partial fingerprint")
	}
}

func TestSARIFFingerprints(t *testing.T) {
	a := Finding{Rule: "r", Severity: "warn", Message: "same", File: "access.yaml", Line: 3, Column: 1}
	moved := a
	moved.Line = 30
	twin := a
	twin.Line = 40
	fp := func(fs ...Finding) []string {
		var log struct {
			Runs []struct {
				Results []struct {
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(render(t, "sarif", fs, Options{}), &log); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range log.Runs[0].Results {
			out = append(out, r.PartialFingerprints[fingerprintKey])
		}
		return out
	}
	if x, y := fp(a)[0], fp(moved)[0]; x != y {
		t.Errorf("fingerprint changed when the finding moved: %s vs %s", x, y)
	}
	if both := fp(a, twin); both[0] == both[1] {
		t.Errorf("identical findings share a fingerprint: %v", both)
	}
}

func TestArtifactURI(t *testing.T) {
	for in, want := range map[string]string{
		"access.yaml":          "access.yaml",
		"./conf.d/x.yaml":      "conf.d/x.yaml",
		"a b/c#d.yaml":         "a%20b/c%23d.yaml",
		"/etc/accessctl/a.yml": "file:///etc/accessctl/a.yml",
		"a:b.yaml":             "./a:b.yaml",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextOneLinePerFinding(t *testing.T) {
	out := string(render(t, "text", []Finding{nasty}, Options{}))
	want := `dir/sub,x/a b:c.yaml:3: deny my:rule,x: line one line "two" <&> 100% a,b: c  'end'` + "\n\n1 denied, 0 warnings\n"
	if out != want {
		t.Errorf("\n got %q\nwant %q", out, want)
	}
}

func TestColorEnabled(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if ColorEnabled(&bytes.Buffer{}, env()) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ColorEnabled(f, env()) {
		t.Error("a regular file is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !ColorEnabled(tty, env()) {
			t.Error("/dev/tty: want colour")
		}
		if ColorEnabled(tty, env("NO_COLOR", "1")) {
			t.Error("NO_COLOR set: want no colour")
		}
		if ColorEnabled(tty, env("TERM", "dumb")) {
			t.Error("TERM=dumb: want no colour")
		}
	}
}
