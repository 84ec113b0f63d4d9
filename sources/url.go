package sources

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

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
