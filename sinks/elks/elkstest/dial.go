package elkstest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// readLimit is the largest message the simulator reads: far above the
// protocol's limit, so that oversize messages are reported rather than
// ending the connection.
const readLimit = 16 << 20

// dialTimeout bounds the connection and the WebSocket handshake.
const dialTimeout = 10 * time.Second

// dial connects to the application, as 46elks does for every call.
func dial(ctx context.Context, u string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u, nil)
	u = redact(u)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			hint := ""
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				hint = " (wrong or missing ?token=)"
			case http.StatusNotFound:
				hint = " (wrong path?)"
			}
			return nil, fmt.Errorf("cannot connect to %s: the server answered %s%s", u, resp.Status, hint)
		}
		return nil, fmt.Errorf("cannot connect to %s: %v", u, dialCause(err))
	}
	conn.SetReadLimit(readLimit)
	return conn, nil
}

// dialCause trims the layers coder/websocket and net/http wrap around
// the reason a connection failed ("connection refused").
func dialCause(err error) string {
	s := err.Error()
	for _, cause := range []string{"connection refused", "no such host", "i/o timeout", "context deadline exceeded", "context canceled", "network is unreachable", "connection reset by peer"} {
		if strings.Contains(s, cause) {
			return cause
		}
	}
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
