package wsframe

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// clientReadBuffer is the size of a dialled connection's read buffer:
// a batch of five 100 ms G.711 messages and a sync (about 6 kB of JSON)
// comes in with one read. A reader whose messages are larger can grow it
// (GrowReadBuffer).
const clientReadBuffer = 8 << 10

// acceptGUID is the key suffix of the handshake (RFC 6455, 1.3).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Dial opens a WebSocket client connection to u (ws://, wss://, or
// http(s):// for the same) through client, whose transport dials and
// does TLS, with the opening handshake of RFC 6455, section 4.1, and no
// subprotocol or extension. ctx bounds the handshake only. When the
// server answers something other than the upgrade, the response is
// returned with the error (its body closed), so that the caller can say
// what the server said.
func Dial(ctx context.Context, client *http.Client, u string, limit int64) (*Conn, *http.Response, error) {
	switch {
	case strings.HasPrefix(u, "ws://"):
		u = "http://" + u[len("ws://"):]
	case strings.HasPrefix(u, "wss://"):
		u = "https://" + u[len("wss://"):]
	case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"):
	default:
		return nil, nil, fmt.Errorf("unsupported URL scheme in %q (want ws:// or wss://)", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if err := checkUpgrade(resp, key); err != nil {
		if resp.StatusCode != http.StatusSwitchingProtocols {
			// Read a little of the page, so that the connection can be
			// reused; a switched connection is dropped.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		}
		resp.Body.Close()
		return nil, resp, err
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, resp, fmt.Errorf("the HTTP client's response body is a %T, not a connection", resp.Body)
	}
	c := New(Client, rwc, rwc, bufio.NewReaderSize(rwc, clientReadBuffer), limit)
	c.src = rwc
	return c, resp, nil
}

// checkUpgrade checks the server's answer to the opening handshake of
// the given key (RFC 6455, 4.1: the client's requirements on it).
func checkUpgrade(resp *http.Response, key string) error {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("expected HTTP 101 Switching Protocols, got %s", resp.Status)
	}
	if !headerHas(resp.Header, "Connection", "upgrade") {
		return fmt.Errorf("the upgrade's Connection header is %q, not Upgrade", resp.Header.Get("Connection"))
	}
	if !headerHas(resp.Header, "Upgrade", "websocket") {
		return fmt.Errorf("the upgrade's Upgrade header is %q, not websocket", resp.Header.Get("Upgrade"))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return fmt.Errorf("the upgrade's Sec-WebSocket-Accept is %q, want %q", got, want)
	}
	if e := resp.Header.Get("Sec-WebSocket-Extensions"); e != "" {
		return fmt.Errorf("the server agreed to extensions %q, which were not offered", e)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
		return fmt.Errorf("the server chose subprotocol %q, which was not offered", p)
	}
	return nil
}

// headerHas reports whether the comma-separated tokens of header name
// include token, without regard to case.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
