package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/importer"
	"github.com/accessctl/accessctl/internal/manifest"
)

func init() {
	register("import", "draft a manifest from the live hosts of an inventory", runImport)
}

func runImport(c *cli, args []string) int {
	fs := c.newFlags("import", "-i FILE [--limit GLOB] [--out FILE]",
		"Read the hosts of an inventory (changing nothing) and write a manifest that describes them as\n"+
			"they are: human accounts, their keys as key pairs, sudo rights, groups, host groups by\n"+
			"identical access. Passwords are never imported; what the manifest cannot express is written\n"+
			"as comments naming host and file:line. Planning the result against the same hosts shows no\n"+
			"changes. Exit 3 if a host could not be read (the others are imported).")
	var o fleetOptions
	o.bind(fs)
	out := fs.String("out", "", "write the manifest to `FILE` instead of standard output")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("import takes no arguments (got %q)", fs.Arg(0))
		return exitUsage
	}
	if o.check.inventory == "" {
		c.errorf("import needs the inventory: -i FILE")
		return exitUsage
	}
	inv, diags, err := manifest.LoadInventory(o.check.inventory)
	if err != nil {
		c.errorf("%s", strings.TrimPrefix(err.Error(), "usage: "))
		return exitUsage
	}
	if len(diags) > 0 {
		_ = c.render(c.stderr, "text", diagFindings(diags), inv.Files)
		return exitInvalid
	}
	ctx := context.Background()
	reads, code := c.readFleet(ctx, &o, inv, hoststate.ReadExtras{Access: true})
	if code != exitOK {
		return code
	}
	var hosts []importer.Host
	failed := 0
	for _, r := range reads {
		h := importer.Host{Host: r.target.Host, Err: r.err}
		if r.err == nil && r.state.Linux != nil {
			h.Linux = r.state.Linux
		} else if r.err == nil {
			h.Err = fmt.Errorf("import reads Linux hosts only in this version")
		}
		if h.Err != nil {
			failed++
			fmt.Fprintf(c.stderr, "accessctl: error: %s: %v\n", r.target.Name, h.Err)
		}
		hosts = append(hosts, h)
	}
	res, err := importer.Build(hosts, time.Now())
	if err != nil {
		c.errorf("%v", err)
		return exitHost
	}
	// The draft must load as a manifest; a failure here is a bug, not the user's.
	if _, diags := manifest.LoadSources([]manifest.Source{{Name: "import", Data: res.YAML}}); len(diags) > 0 {
		c.errorf("the drafted manifest does not validate (a bug; please report it): %s", diags[0])
		return exitHost
	}
	if *out != "" {
		if err := os.WriteFile(*out, res.YAML, 0o644); err != nil {
			c.errorf("write %s: %v", *out, err)
			return exitUsage
		}
	} else {
		c.stdout.Write(res.YAML)
	}
	if len(res.Notes) > 0 {
		fmt.Fprintf(c.stderr, "accessctl: %d thing(s) the manifest cannot express are written as comments\n", len(res.Notes))
	}
	if failed > 0 {
		return exitHost
	}
	return exitOK
}
