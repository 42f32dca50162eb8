package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/report"
)

func init() {
	register("report", "work with JSON plan and apply reports (report merge: join sharded runs)", runReport)
}

func runReport(c *cli, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
		return runReportMerge(c, []string{"--help"})
	}
	if len(args) == 0 || args[0] != "merge" {
		if len(args) == 0 {
			c.errorf("report needs a subcommand: accessctl report merge [--out FILE] FILE...")
		} else {
			c.errorf("unknown report command %q (want merge)", args[0])
		}
		c.hintf("see 'accessctl report merge --help'")
		return exitUsage
	}
	return runReportMerge(c, args[1:])
}

func runReportMerge(c *cli, args []string) int {
	fs := c.newFlags("report merge", "[--out FILE] FILE...",
		"Joins the JSON reports of sharded runs (plan --shard K/N --format json, or --out; apply --format json)\n"+
			"into one report of the same format: hosts concatenated and sorted by name, summaries summed.\n"+
			"Exit 1: a file is not a report, its formatVersion differs, or a host appears twice (shards\n"+
			"overlap, or one file was given twice); nothing is written. Exit 4: no FILE, or one unreadable.\n"+
			"The jq equivalent (without the checks): jq -s '{formatVersion: .[0].formatVersion,\n"+
			"hosts: (map(.hosts) | add | sort_by(.name)), summary: (map(.summary) | reduce .[] as $s ({};\n"+
			"reduce ($s | keys[]) as $k (.; .[$k] += $s[$k])))}' plan-*.json")
	out := fs.String("out", "", "write the merged report to `FILE` instead of standard output")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		c.errorf("report merge needs at least one FILE")
		return exitUsage
	}
	merged := &reconcile.Plan{FormatVersion: reconcile.FormatVersion, Hosts: []*reconcile.HostPlan{}}
	from := map[string]string{}
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			c.errorf("%v", err)
			return exitUsage
		}
		// A report, or a plan file (--out: the same report plus ops, apply data and source).
		pf := reconcile.PlanFile{Plan: &reconcile.Plan{}}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&pf)
		p := pf.Plan.Public()
		if pf.Plan.Hosts == nil {
			p.Hosts = nil
		}
		if err != nil {
			c.errorf("%s: not a JSON plan report: %v", path, err)
			return exitInvalid
		}
		if p.FormatVersion != reconcile.FormatVersion {
			c.errorf("%s: formatVersion %q; this accessctl merges %q", path, p.FormatVersion, reconcile.FormatVersion)
			return exitInvalid
		}
		if p.Hosts == nil {
			c.errorf("%s: not a JSON plan report: no hosts list", path)
			return exitInvalid
		}
		for _, h := range p.Hosts {
			if h == nil || h.Name == "" {
				c.errorf("%s: a host without a name", path)
				return exitInvalid
			}
			if prev, dup := from[h.Name]; dup {
				c.errorf("host %s is in both %s and %s; shards must not overlap", h.Name, prev, path)
				return exitInvalid
			}
			from[h.Name] = path
			if h.Changes == nil {
				h.Changes = []reconcile.Change{}
			}
			merged.Hosts = append(merged.Hosts, h)
		}
		merged.Summary.Create += p.Summary.Create
		merged.Summary.Update += p.Summary.Update
		merged.Summary.Delete += p.Summary.Delete
		merged.Summary.HostsFailed += p.Summary.HostsFailed
	}
	sort.SliceStable(merged.Hosts, func(i, j int) bool { return merged.Hosts[i].Name < merged.Hosts[j].Name })
	var b strings.Builder
	if err := report.RenderPlan(&b, "json", merged); err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	if *out != "" {
		if err := writeFileAtomic(*out, []byte(b.String()), 0o644); err != nil {
			c.errorf("write --out: %v", err)
			return exitUsage
		}
		return exitOK
	}
	fmt.Fprint(c.stdout, b.String())
	return exitOK
}
