// Command accessctl keeps who-can-log-in-where in git. main only wires the process to run.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
