package elks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// recordingConn is a net.Conn that records each Write it is given.
type recordingConn struct {
	net.Conn // nil: only Write is used
	mu       sync.Mutex
	writes   [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// A corked batch goes out as one write holding the frames byte for byte,
// in order, with a control frame written in the middle (a pong the
// reader answered) where it came; uncorked, each message is one write.
func TestCorkConnBatchIsOneWrite(t *testing.T) {
	rec := &recordingConn{}
	c := &corkConn{Conn: rec}
	ctx := context.Background()
	long := bytes.Repeat([]byte("x"), 300)
	pong := []byte{0x8a, 0x01, 'p'}

	c.cork()
	for _, m := range [][]byte{[]byte(`{"t":"sync"}`), long} {
		if err := c.writeText(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(pong); err != nil {
		t.Fatal(err)
	}
	if err := c.writeText(ctx, []byte("z")); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes while corked, want none", len(rec.writes))
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 0x81, 12)
	want = append(want, `{"t":"sync"}`...)
	want = append(want, 0x81, 126, 0x01, 0x2c) // 300
	want = append(want, long...)
	want = append(want, pong...)
	want = append(want, 0x81, 1, 'z')
	if len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want) {
		t.Fatalf("writes %q, want one: %q", rec.writes, want)
	}

	if err := c.writeText(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[1], []byte{0x81, 1, 'a'}) {
		t.Fatalf("uncorked: writes %q, want a second one of a frame", rec.writes)
	}
	if err := c.uncork(); err != nil || len(rec.writes) != 2 {
		t.Fatalf("an empty uncork: %v, %d writes", err, len(rec.writes))
	}
}

// Once a close frame has gone out, no data frame follows it.
func TestCorkConnNoDataAfterClose(t *testing.T) {
	rec := &recordingConn{}
	c := &corkConn{Conn: rec}
	if _, err := c.Write([]byte{0x88, 0x02, 0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if err := c.writeText(context.Background(), []byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a message after the close frame: %v, want net.ErrClosed", err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d writes, want only the close frame's", len(rec.writes))
	}
}

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
