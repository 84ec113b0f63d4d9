package elks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// One large message does not keep its read buffer for the rest of the
// call, even when the peer says nothing after it: the buffer goes before
// the transport waits for the next message.
func TestWebSocketReadBufferShrinks(t *testing.T) {
	caps := make(chan [2]int, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		tr := WebSocket(c).(*wsTransport)
		defer tr.Close()
		var got [2]int
		if _, err := tr.ReadMessage(context.Background()); err != nil {
			t.Error(err)
			return
		}
		got[0] = tr.rbuf.Cap()
		// The peer says nothing more: the buffer must go while the
		// transport waits, not when a next message comes.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := tr.ReadMessage(ctx); err == nil {
			t.Error("a message came from a silent peer")
		}
		got[1] = tr.rbuf.Cap()
		caps <- got
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	big := `{"t":"audio","data":"` + strings.Repeat("A", 1<<19) + `"}`
	for _, m := range []string{big} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case got := <-caps:
		if got[0] < 1<<19 || got[1] > wsKeepBuffer {
			t.Errorf("read buffer: %d bytes after the large message, %d while waiting for the next (keeps at most %d)", got[0], got[1], wsKeepBuffer)
		}
	case <-ctx.Done():
		t.Fatal("the server read nothing")
	}
}
