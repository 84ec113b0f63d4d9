package sources

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// errPlaylistFile is the error for a playlist given where an audio file
// belongs (to file, or as an item of another playlist).
var errPlaylistFile = errors.New("a playlist, not an audio file: play the files it lists with: playlist FILE " +
	"(M3U or M3U8, one path per line; a playlist's items cannot be playlists)")

// isURL reports whether p is written as a URL (scheme://host/...) rather
// than a file path.
func isURL(p string) bool {
	scheme, rest, ok := strings.Cut(p, "://")
	if !ok || scheme == "" || rest == "" {
		return false
	}
	for _, r := range scheme {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// errURL says that the URL u cannot be played yet, and how to download it.
func errURL(u string) error {
	name := "audio"
	if pu, err := url.Parse(u); err == nil {
		if b := path.Base(pu.Path); b != "." && b != "/" && b != "" {
			name = b
		}
	}
	return fmt.Errorf("URLs are not supported yet: download it first, e.g. curl -fLo %s '%s', and give the file", name, u)
}
