package sources

import (
	"context"
	"io"
	"strings"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/internal/media"
)

// urlCache is the download cache of every source that takes a URL.
var urlCache atomic.Pointer[media.Cache]

// urlSettings are the settings the next cache is made with.
var urlSettings atomic.Pointer[media.Cache]

func init() {
	urlSettings.Store(&media.Cache{Dir: media.DefaultCacheDir(), MaxSize: media.DefaultMaxSize})
}

// SetCacheDir sets the folder in which the http and https URLs given to
// file and playlist are kept (default: elkspipe in os.UserCacheDir). Call
// it before playing URLs: the copies in the previous folder are not used.
func SetCacheDir(dir string) {
	s := *urlSettings.Load()
	urlSettings.Store(&media.Cache{Dir: dir, MaxSize: s.MaxSize})
	urlCache.Store(nil)
}

// SetMaxDownload sets the largest file fetched from a URL, in bytes
// (default 100 MB); a larger one fails with an error that says so.
func SetMaxDownload(n int64) {
	s := *urlSettings.Load()
	urlSettings.Store(&media.Cache{Dir: s.Dir, MaxSize: n})
	urlCache.Store(nil)
}

// cache returns the download cache, made at first use.
func cache() *media.Cache {
	for {
		if c := urlCache.Load(); c != nil {
			return c
		}
		s := urlSettings.Load()
		c := &media.Cache{Dir: s.Dir, MaxSize: s.MaxSize}
		if urlCache.CompareAndSwap(nil, c) {
			return c
		}
	}
}

// isHTTP reports whether p is an http or https URL, which sources fetch
// rather than open as a file.
func isHTTP(p string) bool {
	l := strings.ToLower(p)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// openURL returns the body of the http or https URL u: an open file of
// the download cache, or a media.Download that reads it as it arrives.
func openURL(ctx context.Context, u string) (io.ReadCloser, error) {
	return cache().Open(ctx, u)
}
