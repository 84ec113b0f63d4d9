package wsframe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// acceptServer serves every request with Accept and echoes each message
// the client sends, until the client closes; a refusal's error goes to
// refused. When the test ends (its clients closed), it waits for its
// handlers: a Close running on into the next test would read closeWait
// while that test sets it.
func acceptServer(t *testing.T) (srv *httptest.Server, refused chan error) {
	refused = make(chan error, 16)
	var handlers sync.WaitGroup
	t.Cleanup(handlers.Wait) // runs after srv.Close: cleanups run last first
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		c, err := Accept(w, r, 1<<20, 512)
		if err != nil {
			refused <- err
			return
		}
		defer c.Close()
		var buf []byte
		for {
			_, err := c.ReadMessage(context.Background(), &buf)
			if err != nil {
				return
			}
			if c.WriteFrame(context.Background(), OpText, buf) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, refused
}

// The RFC's own example key gets its example answer, byte for byte, and
// a frame the client sent in the same write as its request (left in
// net/http's buffer) is read and echoed, then one sent after it.
func TestAcceptAnswersTheRFCExample(t *testing.T) {
	srv, _ := acceptServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key := []byte{1, 2, 3, 4}
	req := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \r\nOrigin: http://SERVER.example.com\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write(append([]byte(req), rawFrame(true, OpText, []byte("early"), key)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
		t.Fatalf("answer %q (%v), want %q", got, err, want)
	}
	for _, m := range []string{"early", "late"} {
		if m == "late" {
			c.Write(rawFrame(true, OpText, []byte(m), key))
		}
		echo := rawFrame(true, OpText, []byte(m), nil)
		got := make([]byte, len(echo))
		if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, echo) {
			t.Fatalf("echo of %q: % x (%v), want % x", m, got, err, echo)
		}
	}
}

// Requests that are not a WebSocket handshake, or one from a web page of
// another host, are answered with their status, the headers that say
// what would be accepted and the reason, and are not taken over.
func TestAcceptRefusals(t *testing.T) {
	srv, refused := acceptServer(t)
	valid := map[string]string{
		"Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
	}
	for _, tc := range []struct {
		name   string
		method string
		set    map[string]string // "" deletes
		extra  [2]string         // a header added to the valid ones
		status int
		header [2]string // a header the answer has
		reason string
	}{
		{name: "plain GET", set: map[string]string{"Connection": "", "Upgrade": ""}, status: 426,
			header: [2]string{"Upgrade", "websocket"}, reason: `Connection header "" does not contain Upgrade`},
		{name: "other upgrade", set: map[string]string{"Upgrade": "h2c"}, status: 426,
			header: [2]string{"Connection", "Upgrade"}, reason: `Upgrade header "h2c" does not contain websocket`},
		{name: "POST", method: "POST", status: 405, reason: `method is not GET but "POST"`},
		{name: "version 8", set: map[string]string{"Sec-WebSocket-Version": "8"}, status: 400,
			header: [2]string{"Sec-WebSocket-Version", "13"}, reason: `only 13 is supported): "8"`},
		{name: "no key", set: map[string]string{"Sec-WebSocket-Key": ""}, status: 400, reason: "missing Sec-WebSocket-Key"},
		{name: "two keys", extra: [2]string{"Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="}, status: 400, reason: "multiple Sec-WebSocket-Key"},
		{name: "short key", set: map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}, status: 400, reason: `invalid Sec-WebSocket-Key "c2hvcnQ="`},
		{name: "other origin", extra: [2]string{"Origin", "https://evil.example"}, status: 403,
			reason: `request Origin "evil.example" is not authorized for Host "127.0.0.1:`},
		{name: "null origin", extra: [2]string{"Origin", "null"}, status: 403, reason: `request Origin "null" is not a valid URL with a host`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(cmpOr(tc.method, "GET"), srv.URL, nil)
			for k, v := range valid {
				req.Header.Set(k, v)
			}
			for k, v := range tc.set {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			if tc.extra[0] != "" {
				req.Header.Add(tc.extra[0], tc.extra[1])
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.reason) {
				t.Errorf("answer %d %q, want %d with %q", resp.StatusCode, body, tc.status, tc.reason)
			}
			if h := tc.header; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Errorf("answer's %s: %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
			var herr *HandshakeError
			if err := <-refused; !errors.As(err, &herr) || herr.Status != tc.status {
				t.Errorf("Accept's error: %v, want a HandshakeError with status %d", err, tc.status)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Both clients, coder/websocket's and Dial, complete the handshake and
// get their messages echoed.
func TestAcceptWithClients(t *testing.T) {
	srv, _ := acceptServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cc, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("coder/websocket's Dial: %v", err)
	}
	defer cc.CloseNow()
	big := strings.Repeat("x", 70000)
	for _, m := range []string{"hello", big} {
		if err := cc.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		cc.SetReadLimit(1 << 20)
		typ, b, err := cc.Read(ctx)
		if err != nil || typ != websocket.MessageText || string(b) != m {
			t.Fatalf("coder/websocket read %v %d bytes, %v; want the %d bytes sent", typ, len(b), err, len(m))
		}
	}
	cc.Close(websocket.StatusNormalClosure, "")

	c, _, err := Dial(ctx, srv.Client(), url, 1<<20)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	if err := c.WriteFrame(ctx, OpText, []byte("again")); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	if text, err := c.ReadMessage(ctx, &buf); err != nil || !text || string(buf) != "again" {
		t.Fatalf("Dial's read %q, %v", buf, err)
	}
}
