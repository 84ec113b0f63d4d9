package sources

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/internal/keep"
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

// openedURL reports the opening of the URL u as rc (nil when it failed)
// to the shared rendering that ctx may belong to (keep.OpenedAs): the
// version of the copy it reads (media.CopyVersion), and how to find the
// version an opening would play now (media.Cache.Current), so that a
// new call joins a rendering of u only while the cache would play it the
// same content. An opening that failed, or a download the cache does not
// keep, reports the zero version, which no later check finds: the
// rendering takes no new calls, which render (and fetch) afresh.
func openedURL(ctx context.Context, u string, rc io.Reader) {
	var v keep.Version
	if rc != nil {
		v, _ = media.CopyVersion(rc)
	}
	keep.OpenedAs(ctx, u, v, func() (keep.Version, bool) { return cache().Current(context.Background(), u) })
}

// OpenURLFile returns an open file of the whole body of the http or https
// URL u, from the download cache (see SetCacheDir), waiting for the
// download when it is under way: for readers that need the whole file at
// once, such as the elks sink's passthrough formats, which send a file's
// bytes as they are. Errors are as File's, without the URL.
func OpenURLFile(ctx context.Context, u string) (*os.File, error) {
	if isPlaylistName(urlPath(u)) {
		return nil, errPlaylistFile
	}
	rc, err := openURL(ctx, u)
	if err != nil {
		return nil, err
	}
	switch r := rc.(type) {
	case *os.File:
		return r, nil
	case *media.Download:
		f, err := r.File(ctx)
		if err != nil {
			r.Close()
			return nil, err
		}
		return f, nil
	}
	rc.Close()
	return nil, fmt.Errorf("the download cache returned a %T", rc)
}

// ReadList reads the M3U, M3U8 or PLS playlist at list, a file or an
// http(s) URL (fetched through the download cache), and returns its
// items: relative entries resolved against the list's folder or URL, each
// with its error when it cannot be played (a URL of another scheme).
func ReadList(ctx context.Context, list string) ([]media.M3UItem, error) {
	return readList(ctx, list)
}

// IsURL reports whether path is an http or https URL, which File, the
// playlist items and OpenURLFile fetch rather than open as files.
func IsURL(path string) bool { return isHTTP(path) }
