package main

import (
	"flag"
	"fmt"
)

// addCPUProfileFlag declares -cpuprofile on fs, and returns the function
// that starts the profile once fs is parsed; the function it returns in
// turn ends the profile (a no-op without the flag). A server's profile
// shows where its time goes per call (docs/performance.md, "Many calls").
func addCPUProfileFlag(fs *flag.FlagSet) func() (stop func(), err error) {
	path := fs.String("cpuprofile", "", "write a Go CPU profile of the whole run to `FILE` (go tool pprof FILE); a server writes it when it stops (SIGINT or SIGTERM)")
	return func() (func(), error) {
		if *path == "" {
			return func() {}, nil
		}
		stop, err := startCPUProfile(*path)
		if err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		return stop, nil
	}
}
