package elkstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/internal/wsframe"
)

// readLimit is the largest message the simulator reads: far above the
// protocol's limit, so that oversize messages are reported rather than
// ending the connection.
const readLimit = 16 << 20

// dialTimeout bounds the connection and the WebSocket handshake.
const dialTimeout = 10 * time.Second

// dial connects to the application, as 46elks does for every call, with
// tlsConfig for a wss:// URL (nil: the system's defaults).
func dial(ctx context.Context, u string, tlsConfig *tls.Config) (elks.Transport, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	// The connection under the WebSocket is kept, so that abort can cut
	// it at once, whatever the WebSocket is doing.
	var raw atomic.Pointer[net.Conn]
	dctx = context.WithValue(dctx, rawConnKey{}, &raw)
	tr := plainTransport
	if tlsConfig != nil {
		tr = newTransport(tlsConfig)
	}
	conn, resp, err := wsframe.Dial(dctx, &http.Client{Transport: tr}, u, readLimit)
	u = redact(u)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			hint := ""
			switch code := resp.StatusCode; {
			case code < 400:
				// A web page, a redirect: the upgrade was not understood.
				return nil, fmt.Errorf("%s answered %s to the WebSocket upgrade: "+
					"it is not a WebSocket endpoint; is the path right?", u, resp.Status)
			case code == http.StatusUnauthorized, code == http.StatusForbidden:
				hint = " (wrong or missing ?token=)"
			case code == http.StatusNotFound:
				hint = " (wrong path?)"
			}
			return nil, fmt.Errorf("cannot connect to %s: the server answered %s%s", u, resp.Status, hint)
		}
		return nil, fmt.Errorf("cannot connect to %s: %v", u, dialCause(err))
	}
	w := &wsConn{c: conn}
	if p := raw.Load(); p != nil {
		w.raw = *p
	}
	return w, nil
}

// rawConnKey is the key of the context value in which a dial keeps the
// connection it made.
type rawConnKey struct{}

// plainTransport dials every ws:// call; wss:// calls get a transport of
// their own TLS configuration.
var plainTransport = newTransport(nil)

// newTransport returns an HTTP transport for WebSocket dials that keeps
// each connection it makes in the dial's context (rawConnKey).
func newTransport(tlsConfig *tls.Config) *http.Transport {
	var dialer net.Dialer
	return &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   tlsConfig,
		ForceAttemptHTTP2: false,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if p, ok := ctx.Value(rawConnKey{}).(*atomic.Pointer[net.Conn]); ok && err == nil {
				p.Store(&c)
			}
			return c, err
		},
	}
}

// LoadCA returns a TLS configuration that trusts the certificates of the
// PEM file path (a CA, or a self-signed server certificate) besides
// none of the system's: for Options.TLS, to call an application whose
// certificate the system does not trust.
func LoadCA(path string) (*tls.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// wsConn is the simulator's side of a dialled WebSocket, as an
// elks.Transport, framed by wsframe as the server's side is (at
// thousands of calls, coder/websocket's framing was most of the
// simulator's CPU). Unlike elks.WebSocket it reads messages up to
// readLimit (oversize messages are reported, not fatal) and its read
// errors keep the WebSocket close status (a *wsframe.CloseError), which
// the report gives. It reads every message into the same buffer, which
// the next read reuses, so that reading allocates nothing per message.
type wsConn struct {
	c   *wsframe.Conn
	raw net.Conn // the connection under c
	buf []byte
}

func (w *wsConn) ReadMessage(ctx context.Context) ([]byte, error) {
	text, err := w.c.ReadMessage(ctx, &w.buf)
	if err != nil {
		return nil, err
	}
	if !text {
		return nil, binaryFrame(len(w.buf))
	}
	return w.buf, nil
}

// appendMessage reads the next message after what dst holds, and
// returns dst with it: see messageAppender.
func (w *wsConn) appendMessage(ctx context.Context, dst []byte) ([]byte, error) {
	start := len(dst)
	text, err := w.c.AppendMessage(ctx, &dst)
	switch {
	case err != nil:
		return dst[:start], err
	case !text:
		return dst[:start], binaryFrame(len(dst) - start)
	}
	return dst, nil
}

func (w *wsConn) WriteMessage(ctx context.Context, msg []byte) error {
	return w.c.WriteFrame(ctx, wsframe.OpText, msg)
}

func (w *wsConn) Close() error { return w.c.Close() }

// abort drops the connection at once, without the closing handshake:
// reads, writes and a Close in progress return errors.
func (w *wsConn) abort() {
	if w.raw != nil {
		w.raw.Close()
	}
	w.c.CloseNow()
}

// aborter is a transport that can be dropped at once, from any
// goroutine, ending its reads and writes in progress.
type aborter interface{ abort() }

// binaryFrame is the error of reading a binary frame of that many bytes:
// the connection goes on. It is an elks.ErrMalformed.
type binaryFrame int

func (n binaryFrame) Error() string { return fmt.Sprintf("a binary frame of %d bytes", int(n)) }

func (n binaryFrame) Is(target error) bool { return target == elks.ErrMalformed }

// closeMessage describes how the application ended a connection without
// bye, from the error that ended the reading.
func closeMessage(err error) string {
	var ce *wsframe.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("the application closed the WebSocket (status %d) without bye", ce.Code)
	}
	if err == io.EOF {
		return "the application closed the connection without bye"
	}
	return "the connection broke without bye"
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

func (w *wsConn) messageBuffered() bool { return w.c.MessageBuffered() }

// grownReadBuffer is the read buffer of a connection whose messages are
// large: half a second of pcm_24000 (about 33 kB of JSON) fits.
const grownReadBuffer = 40 << 10

func (w *wsConn) growReadBuffer() bool { return w.c.GrowReadBuffer(grownReadBuffer) }
