// Command checkgen writes the manifest of BenchmarkCheckFleet (cmd/accessctl/bench_test.go) to a
// file, so the built binary's peak memory can be measured on exactly that input:
//
//	go run ./bench/checkgen -users 10000 -hosts 2000 -out /tmp/fleet.yaml
//	BENCH_PW=Correct-Horse-Battery-9-Staple /usr/bin/time -v accessctl check -f /tmp/fleet.yaml --format json >/dev/null
//
// The shape is the benchmark's: two ed25519 key pairs per user (the second bound with from= and
// expires), one user in seven with sudo, one in ten with a password from $BENCH_PW and one in ten
// with a hash, host groups of 50 users, hosts spread over the groups. Both use internal/fleetgen.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/accessctl/accessctl/internal/fleetgen"
)

func main() {
	users := flag.Int("users", 10000, "users (two key pairs each)")
	hosts := flag.Int("hosts", 2000, "hosts")
	out := flag.String("out", "fleet.yaml", "output file")
	flag.Parse()
	s, err := fleetgen.Manifest(*users, *hosts)
	if err == nil {
		err = os.WriteFile(*out, []byte(s), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkgen:", err)
		os.Exit(1)
	}
}
