package media

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/elkspipe/elkspipe/internal/keep"
)

// A URL's version.
//
// A shared rendering (sinks/elks) that plays a URL must know which
// content of the URL it played, and whether an opening of the URL now
// would play the same, so that a new call joins it only then. The
// content of a URL is its copy in the cache: a file that the cache never
// rewrites in place but replaces by renaming a new download over it. Its
// version is the copy's identity (device and inode, which the rename
// keeps) and its modification time, which the download sets back to the
// time it created the file once the body is complete, so that an opening
// made while the body was still arriving (a Download) and one made after
// (the file) find the same version. The size is left out (zero): it is
// not known while the body arrives.

// copyVersion is the version of the copy whose final path is body and
// whose file information is st.
func copyVersion(body string, st os.FileInfo) (keep.Version, bool) {
	abs, err := filepath.Abs(body)
	if err != nil {
		return keep.Version{}, false
	}
	v, ok := keep.RegularVersion(abs, st)
	v.Size = 0
	return v, ok
}

// CopyVersion returns the version of the URL's content that r, returned
// by Cache.Open, reads: the same for every opening of one download of the
// URL, whether made while it arrived (a *Download) or after (the cached
// file), and another once the copy is fetched anew. ok is false for
// anything else, and for a download the cache does not keep (no-store).
func CopyVersion(r io.Reader) (keep.Version, bool) {
	switch r := r.(type) {
	case *Download:
		return r.p.version, r.p.versioned
	case *os.File:
		st, err := r.Stat()
		if err != nil {
			return keep.Version{}, false
		}
		return copyVersion(r.Name(), st)
	}
	return keep.Version{}, false
}

// Current returns the version of raw's content that an opening of it
// would play now (see CopyVersion): without a request when its copy is
// fresh; when the copy is stale, or a download of it is under way, by
// opening it as Open does (a revalidation, which a 304 answers without a
// download), which the next opening then finds done. ok is false when
// there is no copy to play (nothing cached, or cached no-store): an
// opening would download the URL anew.
func (c *Cache) Current(ctx context.Context, raw string) (keep.Version, bool) {
	if _, err := CheckURL(raw); err != nil {
		return keep.Version{}, false
	}
	c.init()
	k := key(raw)
	c.mu.Lock()
	_, flying := c.flights[k]
	c.mu.Unlock()
	if !flying {
		m, have := c.load(k, raw)
		if !have {
			return keep.Version{}, false
		}
		if !m.NoCache && c.Now().Before(m.FreshUntil) {
			body := filepath.Join(c.Dir, k)
			st, err := os.Stat(body)
			if err != nil {
				return keep.Version{}, false
			}
			return copyVersion(body, st)
		}
	}
	rc, err := c.Open(ctx, raw)
	if err != nil {
		return keep.Version{}, false
	}
	defer rc.Close()
	return CopyVersion(rc)
}
