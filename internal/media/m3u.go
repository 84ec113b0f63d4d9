package media

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// M3UItem is one entry of an M3U or PLS playlist.
type M3UItem struct {
	// Path is the file or http(s) URL, resolved against the list's folder
	// or URL, or for an entry that cannot be played, the entry as written.
	Path string
	// Line is the entry's line number in the list, from 1.
	Line int
	// Err says why the entry cannot be played (a URL of another scheme
	// than http or https), or is nil.
	Err error
}

// ReadM3UItems reads an M3U, M3U8 or PLS playlist file and returns its
// entries (see ParseList), relative ones resolved against the list's folder.
// The error is for a list that cannot be read.
func ReadM3UItems(path string) ([]M3UItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseList(f, path, isPLS(path))
}

// isPLS reports whether the list's name ends in .pls.
func isPLS(name string) bool {
	if u, err := url.Parse(name); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		name = u.Path
	}
	return strings.EqualFold(filepath.Ext(name), ".pls")
}

// ParseList reads a playlist from r: M3U/M3U8 (one entry per line, blank
// lines and #-comments skipped) or, when pls, PLS (the FileN= entries of a
// [playlist] section). list is the list's file path or http(s) URL: a
// relative entry is resolved against its folder or URL, file:// is
// stripped, http and https URLs are kept, and URLs of other schemes are
// marked with an Err that names the list and line.
func ParseList(r io.Reader, list string, pls bool) ([]M3UItem, error) {
	base, err := url.Parse(list)
	remote := err == nil && (base.Scheme == "http" || base.Scheme == "https")
	dir := filepath.Dir(list)
	var items []M3UItem
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\uFEFF"))
		if pls {
			k, v, ok := strings.Cut(line, "=")
			if !ok || len(k) < 5 || !strings.EqualFold(k[:4], "file") {
				continue
			}
			line = strings.TrimSpace(v)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !remote {
			line = strings.TrimPrefix(line, "file://")
		}
		if scheme, _, ok := strings.Cut(line, "://"); ok {
			s := strings.ToLower(scheme)
			if s != "http" && s != "https" {
				items = append(items, M3UItem{Path: line, Line: n,
					Err: fmt.Errorf("is a %s URL (line %d of %s); elkspipe plays files and http(s) URLs only", s, n, list)})
				continue
			}
			items = append(items, M3UItem{Path: line, Line: n})
			continue
		}
		switch {
		case remote:
			ref, err := url.Parse(line)
			if err != nil {
				items = append(items, M3UItem{Path: line, Line: n,
					Err: fmt.Errorf("is not a valid URL path (line %d of %s)", n, list)})
				continue
			}
			line = base.ResolveReference(ref).String()
		case !filepath.IsAbs(line):
			line = filepath.Join(dir, line)
		}
		items = append(items, M3UItem{Path: line, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", list, err)
	}
	return items, nil
}
