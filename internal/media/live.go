package media

import (
	"errors"
	"net/http"
	"strings"
)

// ErrLiveStream is the error of a URL given as a file that answers like a
// live stream: it is played by the stream element, not downloaded.
var ErrLiveStream = errors.New("is a live stream (an endless response with Icecast/Shoutcast headers), not a file: play it with: stream URL")

// LooksLive reports whether a 200 response with header h and length n
// (-1: unknown) is a live stream: no length, and headers that only
// Icecast and Shoutcast servers send (icy-*, ice-*, or a Server naming
// them).
func LooksLive(h http.Header, n int64) bool {
	if n >= 0 {
		return false
	}
	for k := range h {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "icy-") || strings.HasPrefix(k, "ice-") {
			return true
		}
	}
	s := strings.ToLower(h.Get("Server"))
	return strings.Contains(s, "icecast") || strings.Contains(s, "shoutcast")
}
