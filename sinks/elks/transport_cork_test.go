package elks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// textFrameHeader's three length forms, at their edges, decoded by a
// real client (coder/websocket's), from messages written in batches and
// alone, while the client pings the server: every message arrives whole
// and in order, and every ping is answered.
func TestServerFramesReadByClient(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 1000, 0xffff, 0x10000, 200000}
	msg := func(i, n int) []byte {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		copy(b, fmt.Sprint(i))
		return b[:n]
	}
	const rounds = 20
	served := make(chan error, 1)
	release := make(chan struct{}) // the server may close
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr, err := acceptWebSocket(w, r)
		if err != nil {
			served <- err
			return
		}
		defer tr.Close()
		go func() { // answers pings, as a session's reader does
			for {
				if _, err := tr.ReadMessage(context.Background()); err != nil {
					return
				}
			}
		}()
		bw := tr.(batchWriter)
		for round := range rounds {
			batch := round%2 == 0
			if batch {
				bw.beginBatch()
			}
			for i, n := range sizes {
				if err := tr.WriteMessage(context.Background(), msg(round*len(sizes)+i, n)); err != nil {
					served <- err
					return
				}
			}
			if batch {
				if err := bw.endBatch(); err != nil {
					served <- err
					return
				}
			}
		}
		served <- nil
		<-release
		// Close waits for the client's answer to the close frame.
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	pings := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-readDone:
				pings <- nil
				return
			default:
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				pings <- fmt.Errorf("ping %d: %w", n, err)
				return
			}
			n++
		}
	}()
	for k := range rounds * len(sizes) {
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", k, err)
		}
		if want := msg(k, sizes[k%len(sizes)]); typ != websocket.MessageText || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %v of %d bytes %.20q, want text of %d bytes %.20q", k, typ, len(got), got, len(want), want)
		}
	}
	close(readDone)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	// The client's reader must run for the pong of the last ping; it
	// ends with the server's close frame.
	closed := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		closed <- err
	}()
	if err := <-pings; err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the messages: %v, want the server's normal closure", err)
	}
}

// rawClient is a WebSocket client written by hand, to send what a
// library would not: fragments, bad frames.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// dialRaw opens a WebSocket connection to the server at url (http://...)
// with a hand-made handshake.
func dialRaw(t *testing.T, url string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{t: t, c: c, br: br}
}

// send writes a masked frame: b0 is its first byte (FIN, opcode).
func (r *rawClient) send(b0 byte, p []byte) {
	r.t.Helper()
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := []byte{b0}
	switch {
	case len(p) <= 125:
		f = append(f, 0x80|byte(len(p)))
	case len(p) <= 0xffff:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(len(p)))
	}
	f = append(f, key[:]...)
	for i, b := range p {
		f = append(f, b^key[i%4])
	}
	if _, err := r.c.Write(f); err != nil {
		r.t.Fatal(err)
	}
}

// frame reads a frame from the server: its first byte and payload.
func (r *rawClient) frame() (byte, []byte) {
	r.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		r.t.Fatalf("reading a frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		io.ReadFull(r.br, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		io.ReadFull(r.br, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r.br, p); err != nil {
		r.t.Fatalf("reading a frame's payload: %v", err)
	}
	return h[0], p
}

// serveRaw serves one connection with acceptWebSocket and hands every
// ReadMessage result to got, until a read fails (that error is the last).
func serveRaw(t *testing.T) (url string, got chan readResult, tr chan Transport) {
	got = make(chan readResult, 16)
	tr = make(chan Transport, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp, err := acceptWebSocket(w, r)
		if err != nil {
			got <- readResult{err: err}
			return
		}
		tr <- tp
		for {
			b, err := tp.ReadMessage(context.Background())
			got <- readResult{bytes.Clone(b), err}
			if err != nil && !errors.Is(err, ErrMalformed) {
				tp.Close()
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return hs.URL, got, tr
}

type readResult struct {
	b   []byte
	err error
}

// The server's reader: a fragmented message with a ping between its
// fragments comes whole (and the ping gets its pong first), a binary
// message is malformed but leaves the connection open, a 200 kB message
// comes in one piece, and a close frame is answered with the same
// status and ends the reads with io.EOF.
func TestServerReadsFrames(t *testing.T) {
	url, got, _ := serveRaw(t)
	c := dialRaw(t, url)
	c.send(0x01, []byte(`{"t":"sy`)) // text, not final
	c.send(0x89, []byte("hi"))       // ping
	c.send(0x80, []byte(`nc"}`))     // continuation, final
	if b0, p := c.frame(); b0 != 0x8a || string(p) != "hi" {
		t.Fatalf("answer to a ping: %#x %q, want a pong \"hi\"", b0, p)
	}
	if r := <-got; r.err != nil || string(r.b) != `{"t":"sync"}` {
		t.Fatalf("fragmented message: %q, %v", r.b, r.err)
	}
	c.send(0x82, []byte{1, 2, 3})
	if r := <-got; !errors.Is(r.err, ErrMalformed) {
		t.Fatalf("binary message: %q, %v; want ErrMalformed", r.b, r.err)
	}
	big := bytes.Repeat([]byte("A"), 200000)
	c.send(0x81, big)
	if r := <-got; r.err != nil || !bytes.Equal(r.b, big) {
		t.Fatalf("large message: %d bytes, %v", len(r.b), r.err)
	}
	c.send(0x88, []byte{0x03, 0xe8, 'b', 'y', 'e'})
	if b0, p := c.frame(); b0 != 0x88 || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Fatalf("answer to a close frame: %#x %v, want close 1000", b0, p)
	}
	if r := <-got; r.err != io.EOF {
		t.Fatalf("after the close frame: %v, want io.EOF", r.err)
	}
}

// Frames that break RFC 6455 close the connection with status 1002, a
// message over the read limit with 1009; a close with another status
// ends the reads with an error naming it.
func TestServerReadsBadFrames(t *testing.T) {
	cases := []struct {
		name string
		send func(c *rawClient)
		code int
	}{
		{"unmasked", func(c *rawClient) { c.c.Write([]byte{0x81, 0x01, 'x'}) }, 1002},
		{"reserved bits", func(c *rawClient) { c.send(0xc1, []byte("x")) }, 1002},
		{"lone continuation", func(c *rawClient) { c.send(0x80, []byte("x")) }, 1002},
		{"new message mid-way", func(c *rawClient) { c.send(0x01, []byte("x")); c.send(0x81, []byte("y")) }, 1002},
		{"long ping", func(c *rawClient) { c.send(0x89, bytes.Repeat([]byte("p"), 126)) }, 1002},
		{"too large", func(c *rawClient) { // its header alone: the server stops there
			c.c.Write(binary.BigEndian.AppendUint64([]byte{0x81, 0x80 | 127}, wsReadLimit+1))
			c.c.Write([]byte{1, 2, 3, 4})
		}, 1009},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, got, _ := serveRaw(t)
			c := dialRaw(t, url)
			tc.send(c)
			b0, p := c.frame()
			if b0 != 0x88 || len(p) < 2 || int(binary.BigEndian.Uint16(p)) != tc.code {
				t.Fatalf("frame %#x %q, want a close with status %d", b0, p, tc.code)
			}
			if r := <-got; r.err == nil || r.err == io.EOF {
				t.Fatalf("read: %q, %v; want an error", r.b, r.err)
			}
		})
	}
	url, got, _ := serveRaw(t)
	c := dialRaw(t, url)
	c.send(0x88, []byte{0x03, 0xf3, 'o', 'o', 'p', 's'}) // 1011
	if r := <-got; r.err == nil || !strings.Contains(r.err.Error(), "1011") || !strings.Contains(r.err.Error(), "oops") {
		t.Fatalf("close 1011: %v", r.err)
	}
}

// Ping is answered by the client's pong, read by the reading goroutine;
// Close sends a close frame and waits for the client's.
func TestServerPingAndClose(t *testing.T) {
	url, got, trs := serveRaw(t)
	c := dialRaw(t, url)
	tr := <-trs
	pinged := make(chan error, 1)
	go func() { pinged <- tr.(Pinger).Ping(context.Background()) }()
	b0, p := c.frame()
	if b0 != 0x89 {
		t.Fatalf("frame %#x, want a ping", b0)
	}
	c.send(0x8a, p)
	if err := <-pinged; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() { pinged <- tr.(Pinger).Ping(ctx) }()
	c.frame() // not answered
	if err := <-pinged; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an unanswered ping: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- tr.Close() }()
	if b0, p := c.frame(); b0 != 0x88 || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Fatalf("frame %#x %v, want close 1000", b0, p)
	}
	c.send(0x88, []byte{0x03, 0xe8})
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err == nil {
		t.Fatal("the reader read on after the close")
	}
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the handshake: %v, want the server to have closed the connection", err)
	}
}
