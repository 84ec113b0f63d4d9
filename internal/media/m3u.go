package media

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// M3UItem is one entry of an M3U playlist.
type M3UItem struct {
	// Path is the file, resolved against the list's folder, or for an
	// entry that cannot be played, the line as written.
	Path string
	// Line is the entry's line number in the list, from 1.
	Line int
	// Err says why the entry cannot be played (it is a URL), or is nil.
	Err error
}

// ReadM3UItems reads an M3U or M3U8 playlist and returns its entries:
// paths, relative ones resolved against the list's folder, and URLs, which
// elkspipe does not play, marked with an Err ("is a URL ...") that names
// the list and line.
// Comment lines (#EXTM3U, #EXTINF and others) and blank lines are skipped.
// The error is for a list that cannot be read.
func ReadM3UItems(path string) ([]M3UItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir := filepath.Dir(path)
	var items []M3UItem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\uFEFF"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "file://")
		if strings.Contains(line, "://") {
			items = append(items, M3UItem{Path: line, Line: n,
				Err: fmt.Errorf("is a URL (line %d of %s); elkspipe plays local files only", n, path)})
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		items = append(items, M3UItem{Path: line, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}
