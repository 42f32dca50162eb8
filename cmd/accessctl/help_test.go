package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every command declares its flags through newFlags/parseFlags (so help, usage errors and
// completion know them) and has a description and 2-4 examples. A new command fails here until
// it does.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, name := range commandNames() {
		if describeCommand(name) == nil {
			t.Errorf("%s: no flag set reaches parseFlags", name)
			continue
		}
		if commands[name].summary == "" {
			t.Errorf("%s: no summary", name)
		}
		full := strings.TrimSpace(name + " " + strings.Join(subcommands(name), " "))
		if n := len(examples(full)); n < 2 || n > 4 {
			t.Errorf("%s: %d examples, want 2 to 4 (help.go examples)", full, n)
		}
		var out, errOut bytes.Buffer
		code := run([]string{"help", name}, strings.NewReader(""), &out, &errOut)
		if code != exitOK || strings.Count(out.String(), "Usage: accessctl "+full) != 1 || errOut.Len() != 0 {
			t.Errorf("help %s: exit %d\n%s\n%s", name, code, out.String(), errOut.String())
		}
	}
}

func TestFlagErrText(t *testing.T) {
	for in, want := range map[string]string{
		"flag provided but not defined: -bogus":                         "unknown flag --bogus",
		"flag provided but not defined: -x":                             "unknown flag -x",
		"flag needs an argument: -format":                               "flag needs an argument: --format",
		`invalid value "x" for flag -parallel: parse error`:             `invalid value "x" for flag --parallel: parse error`,
		`invalid boolean value "maybe" for -yes: parse error`:           `invalid boolean value "maybe" for --yes: parse error`,
		"flag needs an argument: -f":                                    "flag needs an argument: -f",
		`invalid value "a-b" for flag -limit: bad pattern "-x" near -y`: `invalid value "a-b" for flag --limit: bad pattern "-x" near -y`,
	} {
		if got := flagErrText(in); got != want {
			t.Errorf("flagErrText(%q) = %q, want %q", in, got, want)
		}
	}
}
