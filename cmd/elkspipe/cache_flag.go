package main

import (
	"flag"

	"github.com/elkspipe/elkspipe/sources"
)

// defaultCacheName says where the download cache is unless -cache-dir
// moves it.
const defaultCacheName = "elkspipe in the user's cache folder, e.g. ~/.cache/elkspipe"

// addCacheFlag declares -cache-dir, the folder of downloaded URLs, on fs,
// and returns the function that applies it once fs is parsed.
func addCacheFlag(fs *flag.FlagSet) func() {
	dir := fs.String("cache-dir", "", "`folder` that keeps the files of http(s) URLs (default: "+defaultCacheName+"; see docs/urls.md)")
	return func() {
		if *dir != "" {
			sources.SetCacheDir(*dir)
		}
	}
}
