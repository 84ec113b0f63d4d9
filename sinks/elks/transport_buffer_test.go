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
// call: the next message is read into a small buffer again.
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
		for i := range got {
			if _, err := tr.ReadMessage(context.Background()); err != nil {
				t.Error(err)
				return
			}
			got[i] = tr.rbuf.Cap()
		}
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
	for _, m := range []string{big, `{"t":"sync"}`} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case got := <-caps:
		if got[0] < 1<<19 || got[1] > wsKeepBuffer {
			t.Errorf("read buffer: %d bytes after the large message, %d after the small one (keeps at most %d)", got[0], got[1], wsKeepBuffer)
		}
	case <-ctx.Done():
		t.Fatal("the server read nothing")
	}
}
