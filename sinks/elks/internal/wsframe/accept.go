package wsframe

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// HandshakeError is a request Accept refused: Status is the HTTP status
// it was answered with, and Reason why.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string { return e.Reason }

// Accept answers a WebSocket opening handshake (RFC 6455, section 4.2)
// with no subprotocol and no extension, and returns the server's Conn on
// the hijacked connection, reading through a buffer of readBuffer bytes
// (or the server's own, when the client sent more after its request).
// It refuses, answering with the status of a *HandshakeError and its
// reason in the body: a request that is not an upgrade to WebSocket
// (426 Upgrade Required), not a GET (405), of another version than 13
// or without a valid Sec-WebSocket-Key (400), and one from a web page of
// another host than the request's (an Origin header whose host is not
// the Host: 403), as coder/websocket's Accept does by default.
//
// It does what coder/websocket's Accept does for a server that wants
// neither subprotocols nor compression, without its Conn: that holds
// about 2 kB per connection, and a finalizer that would close the
// connection once the Conn were dropped.
func Accept(w http.ResponseWriter, r *http.Request, limit int64, readBuffer int) (*Conn, error) {
	key, herr := checkRequest(w.Header(), r)
	if herr == nil {
		herr = checkOrigin(r)
	}
	if herr != nil {
		http.Error(w, herr.Reason, herr.Status)
		return nil, herr
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusNotImplemented), http.StatusNotImplemented)
		return nil, fmt.Errorf("cannot take over the connection for the WebSocket: %w", err)
	}
	br := brw.Reader
	if br.Buffered() == 0 {
		// net/http's 4 kB reader holds nothing the client sent after
		// its request: a smaller one will do.
		br = bufio.NewReaderSize(nc, readBuffer)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(key) + "\r\n\r\n"
	if _, err := io.WriteString(nc, resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cannot answer the WebSocket handshake: %w", err)
	}
	c := New(Server, nc, nc, br, limit)
	return c, nil
}

// acceptKey is the Sec-WebSocket-Accept of a Sec-WebSocket-Key.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkRequest checks an opening handshake's request (RFC 6455, 4.2.1)
// and returns its key; a refusal's headers go in h.
func checkRequest(h http.Header, r *http.Request) (key string, _ *HandshakeError) {
	refuse := func(status int, format string, a ...any) (string, *HandshakeError) {
		return "", &HandshakeError{Status: status, Reason: fmt.Sprintf(format, a...)}
	}
	switch {
	case !r.ProtoAtLeast(1, 1):
		return refuse(http.StatusUpgradeRequired, "WebSocket protocol violation: handshake request must be at least HTTP/1.1: %q", r.Proto)
	case !headerHas(r.Header, "Connection", "upgrade"):
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		return refuse(http.StatusUpgradeRequired, "WebSocket protocol violation: Connection header %q does not contain Upgrade", r.Header.Get("Connection"))
	case !headerHas(r.Header, "Upgrade", "websocket"):
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		return refuse(http.StatusUpgradeRequired, "WebSocket protocol violation: Upgrade header %q does not contain websocket", r.Header.Get("Upgrade"))
	case r.Method != http.MethodGet:
		return refuse(http.StatusMethodNotAllowed, "WebSocket protocol violation: handshake request method is not GET but %q", r.Method)
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		h.Set("Sec-WebSocket-Version", "13")
		return refuse(http.StatusBadRequest, "unsupported WebSocket protocol version (only 13 is supported): %q", r.Header.Get("Sec-WebSocket-Version"))
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	switch {
	case len(keys) == 0:
		return refuse(http.StatusBadRequest, "WebSocket protocol violation: missing Sec-WebSocket-Key")
	case len(keys) > 1:
		return refuse(http.StatusBadRequest, "WebSocket protocol violation: multiple Sec-WebSocket-Key headers")
	}
	key = strings.TrimSpace(keys[0])
	if v, err := base64.StdEncoding.DecodeString(key); err != nil || len(v) != 16 {
		return refuse(http.StatusBadRequest, "WebSocket protocol violation: invalid Sec-WebSocket-Key %q, must be a 16 byte base64 encoded string", key)
	}
	return key, nil
}

// errNoOriginHost is the refusal of an Origin that names no host.
var errNoOriginHost = errors.New("no host")

// checkOrigin refuses a request a web page of another host made (its
// Origin's host is not the request's Host): a page a browser shows must
// not open calls on the server the browser can reach. A request with no
// Origin (the API's, any program's) passes.
func checkOrigin(r *http.Request) *HandshakeError {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host == "" {
		err = errNoOriginHost
	}
	switch {
	case err != nil:
		return &HandshakeError{Status: http.StatusForbidden, Reason: fmt.Sprintf("request Origin %q is not a valid URL with a host", origin)}
	case !strings.EqualFold(r.Host, u.Host):
		return &HandshakeError{Status: http.StatusForbidden, Reason: fmt.Sprintf("request Origin %q is not authorized for Host %q", u.Host, r.Host)}
	}
	return nil
}
