package main

import (
	"flag"
	"fmt"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// addRenderCacheFlag declares -render-cache, the memory of the shared
// renderings that calls of a deterministic pipeline replay, on fs, and
// returns the function that applies it once fs is parsed.
func addRenderCacheFlag(fs *flag.FlagSet) func() error {
	mib := fs.Int("render-cache", int(elks.DefaultRenderCacheSize>>20),
		"`MiB` of memory for shared renderings: calls that play the same deterministic pipeline in the same format replay one (0: every call renders its own; see docs/sharing.md)")
	return func() error {
		if *mib < 0 || *mib > 1<<20 {
			return fmt.Errorf("-render-cache %d: want 0 to 1048576 MiB", *mib)
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "render-cache" })
		if set {
			elks.DefaultRenderCache.SetLimit(int64(*mib) << 20)
		}
		return nil
	}
}
