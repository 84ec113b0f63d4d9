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

// errURL says that the URL u, which is not http or https, cannot be
// played.
func errURL(u string) error {
	scheme, _, _ := strings.Cut(u, "://")
	return fmt.Errorf("%s URLs are not supported: elkspipe fetches http and https URLs only", strings.ToLower(scheme))
}

// urlPath returns the path of the URL u ("" if it does not parse).
func urlPath(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Path
}

// isPlaylistName reports whether the file name (or URL path) p ends in
// .m3u, .m3u8 or .pls.
func isPlaylistName(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".m3u" || ext == ".m3u8" || ext == ".pls"
}
