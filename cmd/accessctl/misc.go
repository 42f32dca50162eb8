package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/accessctl/accessctl/internal/policy"
	"github.com/accessctl/accessctl/schemas"
)

func init() {
	register("schema", "print the manifest JSON Schema (draft 2020-12)", runSchema)
	register("version", "print the version", runVersion)
	register("policy", "policy tools: 'policy test [DIR]...' runs Rego unit tests", runPolicy)
}

// version is the module version stamped by `go install`, or "dev" in a work tree.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func runSchema(c *cli, args []string) int {
	fs := c.newFlags("schema", "", "Prints the manifest JSON Schema. Editors use it through a first line such as\n"+
		"  # yaml-language-server: $schema=https://accessctl.dev/schemas/manifest-v1.json")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	c.stdout.Write(schemas.Manifest)
	return exitOK
}

func runVersion(c *cli, args []string) int {
	fs := c.newFlags("version", "", "Prints accessctl's version and the manifest apiVersion it reads.")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(c.stdout, "accessctl %s (manifest accessctl/v1)\n", version())
	return exitOK
}

func runPolicy(c *cli, args []string) int {
	if len(args) == 0 || args[0] != "test" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
			return runPolicy(c, []string{"test", "--help"})
		}
		if len(args) == 0 {
			c.errorf("policy needs a subcommand: accessctl policy test [-v] [DIR]...")
		} else {
			c.errorf("unknown policy command %q (want test)", args[0])
		}
		c.hintf("see 'accessctl policy test --help'")
		return exitUsage
	}
	fs := c.newFlags("policy test", "[-v] [DIR]...", "Runs the Rego unit tests (test_* rules) of the given policy directories, or of the\n"+
		"built-in policies when none is given. Exit 0 when all pass, 1 when any fails.")
	verbose := fs.Bool("v", false, "list every test")
	if code, ok := c.parseFlags(fs, args[1:]); !ok {
		return code
	}
	passed, failed, err := policy.RunTests(context.Background(), fs.Args(), c.stdout, *verbose)
	if err != nil {
		c.errorf("policy test: %v", err)
		return exitUsage
	}
	fmt.Fprintf(c.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitInvalid
	}
	return exitOK
}
