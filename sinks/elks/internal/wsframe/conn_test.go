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
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A dialled Conn against coder/websocket's server: messages at the edges
// of the three length forms go out masked and come back whole, a binary
// message is told from text, the server's ping is answered while the
// client reads, and the server's close status and reason reach the
// client's read.
func TestClientAgainstCoderServer(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200_000}
	pinged := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 20)
		ctx := context.Background()
		for range sizes {
			typ, b, err := c.Read(ctx)
			if err != nil || typ != websocket.MessageText {
				return
			}
			c.Write(ctx, websocket.MessageText, b)
		}
		c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		// The client reads now; a ping is answered by its reading.
		go func() {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			pinged <- c.Ping(pctx)
		}()
		c.Reader(ctx) // reads the pong; returns when the client closes
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, srv.Client(), "ws"+strings.TrimPrefix(srv.URL, "http"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var buf []byte
	for _, n := range sizes {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		if err := c.WriteFrame(ctx, OpText, msg); err != nil {
			t.Fatal(err)
		}
		text, err := c.ReadMessage(ctx, &buf)
		if err != nil || !text || !bytes.Equal(buf, msg) {
			t.Fatalf("echo of %d bytes: text %v, %d bytes, %v", n, text, len(buf), err)
		}
	}
	text, err := c.ReadMessage(ctx, &buf)
	if err != nil || text || !bytes.Equal(buf, []byte{1, 2, 3}) {
		t.Fatalf("binary message: text %v, %v, %v", text, buf, err)
	}
	readDone := make(chan error, 1)
	go func() { _, err := c.ReadMessage(context.Background(), &buf); readDone <- err }()
	if err := <-pinged; err != nil {
		t.Fatalf("the server's ping: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-readDone; !errors.As(err, &ce) || ce.Code != StatusNormal || !ce.Clean() {
		t.Fatalf("read after the closing handshake: %v, want the server's answer, status 1000", err)
	}
}

// A server's close status and reason reach the client's read.
func TestClientReadsCloseStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(4000, "bye now")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, srv.Client(), srv.URL, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var buf []byte
	_, err = c.ReadMessage(ctx, &buf)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye now" || ce.Clean() {
		t.Fatalf("read: %v, want the close status 4000 and its reason", err)
	}
}

// A client writes every frame masked, with a key of its own, and the
// payload unmasks to what was written; a server writes unmasked.
func TestClientMasksServerDoesNot(t *testing.T) {
	c, rec := newRecorded(Client)
	msg := []byte(`{"t":"sync"}`)
	for range 2 {
		if err := c.WriteFrame(context.Background(), OpText, msg); err != nil {
			t.Fatal(err)
		}
	}
	var keys [2][]byte
	for i, w := range rec.writes {
		if len(w) != 2+4+len(msg) || w[0] != 0x81 || w[1] != 0x80|byte(len(msg)) {
			t.Fatalf("frame %d: % x, want a masked text frame of %d bytes", i, w, len(msg))
		}
		keys[i] = w[2:6]
		p := bytes.Clone(w[6:])
		for j := range p {
			p[j] ^= keys[i][j%4]
		}
		if !bytes.Equal(p, msg) {
			t.Fatalf("frame %d unmasks to %q", i, p)
		}
	}
	if bytes.Equal(keys[0], keys[1]) {
		t.Fatalf("two frames masked with the same key % x", keys[0])
	}
	s, rec := newRecorded(Server)
	if err := s.WriteFrame(context.Background(), OpText, msg); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{0x81, byte(len(msg))}, msg...); !bytes.Equal(rec.writes[0], want) {
		t.Fatalf("server frame % x, want % x", rec.writes[0], want)
	}
}

// A Server and a Client over one connection: a corked batch arrives as
// its messages, a ping from either side is answered by the other's
// reading, and the closing handshake ends both reads, the initiator's
// Close returning once the answer came.
func TestServerAndClient(t *testing.T) {
	a, b := net.Pipe()
	s := New(Server, a, a, bufio.NewReader(a), 1<<20)
	c := New(Client, b, b, bufio.NewReader(b), 1<<20)
	defer s.CloseNow()
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	serverRead := make(chan error, 1)
	var got [][]byte
	go func() {
		var buf []byte
		for {
			_, err := s.ReadMessage(context.Background(), &buf)
			if err != nil {
				serverRead <- err
				return
			}
			got = append(got, bytes.Clone(buf))
		}
	}()
	clientRead := make(chan []byte, 10)
	clientErr := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			_, err := c.ReadMessage(context.Background(), &buf)
			if err != nil {
				clientErr <- err
				return
			}
			clientRead <- bytes.Clone(buf)
		}
	}()

	s.Cork()
	for _, m := range []string{"one", "two", "three"} {
		if err := s.WriteFrame(ctx, OpText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	go s.Uncork() // net.Pipe: the write returns once the client has read it
	for _, want := range []string{"one", "two", "three"} {
		if m := <-clientRead; string(m) != want {
			t.Fatalf("client read %q, want %q", m, want)
		}
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("client ping: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("server ping: %v", err)
	}
	if err := c.WriteFrame(ctx, OpText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-serverRead; !errors.As(err, &ce) || ce.Code != StatusNormal {
		t.Fatalf("server read: %v, want the client's normal closure", err)
	}
	if len(got) != 1 || string(got[0]) != "hello" {
		t.Fatalf("server read %q, want hello", got)
	}
	if err := <-clientErr; err == nil {
		t.Fatal("client read: no error after the close")
	}
}

// A client refuses a masked frame, a server an unmasked one: each closes
// with status 1002 and says why.
func TestMaskingRefused(t *testing.T) {
	for _, tc := range []struct {
		role  Role
		frame []byte
		why   string
	}{
		{Client, []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, "a masked frame from the server"},
		{Server, []byte{0x81, 0x01, 'x'}, "an unmasked frame from the client"},
	} {
		a, b := net.Pipe()
		c := New(tc.role, a, a, bufio.NewReader(a), 1<<20)
		go b.Write(tc.frame)
		closeFrame := make(chan []byte, 1)
		go func() {
			buf := make([]byte, 256)
			n, _ := b.Read(buf)
			closeFrame <- buf[:n]
		}()
		var buf []byte
		_, err := c.ReadMessage(context.Background(), &buf)
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.why) {
			t.Fatalf("role %d: %v, want a protocol error: %s", tc.role, err, tc.why)
		}
		f := <-closeFrame
		if len(f) < 4 || f[0] != 0x88 {
			t.Fatalf("role %d: % x, want a close frame", tc.role, f)
		}
		p := f[2:]
		if f[1]&0x80 != 0 { // the client's, masked
			key := p[:4]
			p = bytes.Clone(p[4:])
			for i := range p {
				p[i] ^= key[i%4]
			}
		}
		if len(p) < 2 || int(p[0])<<8|int(p[1]) != StatusProtocol || string(p[2:]) != tc.why {
			t.Fatalf("role %d: close payload %q, want status 1002 and %q", tc.role, p, tc.why)
		}
		b.Close()
	}
}

// Dial says what a server that is no WebSocket endpoint answered, and
// refuses an upgrade whose accept key is wrong.
func TestDialRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			w.Write([]byte("a web page"))
			return
		}
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Sec-WebSocket-Accept", "wrong")
		w.WriteHeader(http.StatusSwitchingProtocols)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := Dial(ctx, srv.Client(), srv.URL+"/page", 1<<20)
	if err == nil || resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a web page: %v, %v", resp, err)
	}
	_, _, err = Dial(ctx, srv.Client(), srv.URL+"/bad", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "Sec-WebSocket-Accept") {
		t.Fatalf("a wrong accept key: %v", err)
	}
	if _, _, err := Dial(ctx, srv.Client(), "ftp://x/", 1<<20); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("ftp://: %v", err)
	}
}

// Close returns, the connection closed, when the peer reads the close
// frame but never answers it, whichever end closes and whether or not
// the connection has read deadlines.
func TestCloseUnansweredIsBounded(t *testing.T) {
	defer func(d time.Duration) { closeWait = d }(closeWait)
	closeWait = 200 * time.Millisecond
	for _, role := range []Role{Client, Server} {
		a, b := net.Pipe()
		go io.Copy(io.Discard, b) // reads everything, answers nothing
		// The closer has no SetReadDeadline, as an HTTP response body has not.
		c := New(role, a, closerOnly{a}, bufio.NewReader(a), 1<<20)
		done := make(chan error, 1)
		go func() { done <- c.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("role %d: %v", role, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("role %d: Close still waiting for an answer that never comes", role)
		}
		select {
		case <-c.Closed():
		default:
			t.Fatalf("role %d: the connection is still open after Close", role)
		}
		b.Close()
	}
}

// A peer that reads nothing holds up the writes: one stuck holding the
// write lock, and the close frame after it. Close is bounded still: it
// closes the connection under them, and the stuck write fails.
func TestCloseBoundedWhenPeerReadsNothing(t *testing.T) {
	defer func(d time.Duration) { closeWait = d }(closeWait)
	closeWait = 200 * time.Millisecond
	a, b := net.Pipe() // synchronous: a write waits for a read that never comes
	defer b.Close()
	c := New(Server, a, a, bufio.NewReader(a), 1<<20)
	stuck := make(chan error, 1)
	go func() { stuck <- c.WriteFrame(context.Background(), OpText, []byte("nobody reads this")) }()
	time.Sleep(50 * time.Millisecond) // the write holds the lock, waiting
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waiting for a peer that reads nothing")
	}
	select {
	case err := <-stuck:
		if err == nil {
			t.Fatal("the stuck write succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck write still waits after Close")
	}
}

// closerOnly hides every method of a connection but Close.
type closerOnly struct{ c io.Closer }

func (c closerOnly) Close() error { return c.c.Close() }
