package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

// addProfileFlags declares -cpuprofile and -memprofile on fs, and returns
// the function that starts the profiles once fs is parsed; the function
// it returns in turn ends them and writes them (a no-op without the
// flags). A server's profiles show where its time goes and what it
// allocates per call (docs/performance.md, "Many calls").
func addProfileFlags(fs *flag.FlagSet) func() (stop func(), err error) {
	cpu := fs.String("cpuprofile", "", "write a Go CPU profile of the whole run to `FILE` (go tool pprof FILE); a server writes it when it stops (SIGINT or SIGTERM)")
	mem := fs.String("memprofile", "", "write a Go allocation profile of the whole run to `FILE` when the command ends (go tool pprof -sample_index=alloc_objects FILE)")
	return func() (func(), error) {
		stopCPU := func() {}
		if *cpu != "" {
			var err error
			if stopCPU, err = startCPUProfile(*cpu); err != nil {
				return nil, fmt.Errorf("-cpuprofile: %w", err)
			}
		}
		if *mem == "" {
			return stopCPU, nil
		}
		f, err := os.Create(*mem)
		if err != nil {
			stopCPU()
			return nil, fmt.Errorf("-memprofile: %w", err)
		}
		return func() {
			stopCPU()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "elkspipe: -memprofile:", err)
			}
			f.Close()
		}, nil
	}
}
