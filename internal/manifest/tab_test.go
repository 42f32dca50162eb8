package manifest

import (
	"strings"
	"testing"
)

// A tab in the indentation is reported at the tab itself, line and column, whatever message
// yaml.v3 chooses and whichever line it names (issue 11: line 4 was reported as line 3).
func TestTabIndentPosition(t *testing.T) {
	cases := []struct {
		name, text, pos string
	}{
		{"tab alone on line 4", "apiVersion: accessctl/v1\nusers:\n  - name: alice\n\tshell: /bin/bash\n", "a.yaml:4:1:"},
		{"tab after spaces on line 4", "apiVersion: accessctl/v1\nusers:\n  - name: alice\n  \tshell: /bin/bash\n", "a.yaml:4:3:"},
		{"tab on line 5", "apiVersion: accessctl/v1\nusers:\n  - name: alice\n    shell: /bin/bash\n\tuid: 5\n", "a.yaml:5:1:"},
		{"tab before a sequence item", "apiVersion: accessctl/v1\nusers:\n\t- name: alice\n", "a.yaml:3:1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := load(t, "a.yaml", tc.text)
			if len(diags) != 1 {
				t.Fatalf("want 1 diagnostic, got:\n%s", diagLines(diags))
			}
			if got := diags[0].String(); !strings.HasPrefix(got, tc.pos) || !strings.Contains(got, "tab") {
				t.Errorf("got %s\nwant it at %s, naming the tab", got, tc.pos)
			}
		})
	}
}
