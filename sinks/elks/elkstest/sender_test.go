package elkstest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// stuckTransport is a transport whose writes block until it is aborted
// (when abortable) or their context is done, as an application's that
// stopped reading does once the socket's buffers are full.
type stuckTransport struct {
	elks.Transport // ReadMessage and Close are not used
	once           sync.Once
	aborted        chan struct{}
	writes         int
}

func (t *stuckTransport) WriteMessage(ctx context.Context, msg []byte) error {
	t.writes++
	if t.writes == 1 {
		return nil // the first write goes through
	}
	select {
	case <-t.aborted:
		return errors.New("use of closed network connection")
	case <-ctx.Done():
		return ctx.Err()
	}
}

type abortableStuck struct{ *stuckTransport }

func (t abortableStuck) abort() { t.once.Do(func() { close(t.aborted) }) }

// A write the application does not take ends after the sender's timeout,
// with an error that says so: through the watchdog for a transport that
// can be aborted (the simulator's WebSocket), through the write's context
// otherwise. A write in time leaves the connection alone.
func TestSenderWriteTimeout(t *testing.T) {
	for _, abortable := range []bool{true, false} {
		st := &stuckTransport{aborted: make(chan struct{})}
		var tr elks.Transport = st
		if abortable {
			tr = abortableStuck{st}
		}
		s := newSender(tr)
		s.timeout = 50 * time.Millisecond
		if err := s.send([]byte("a")); err != nil {
			t.Fatalf("abortable %v: the first write: %v", abortable, err)
		}
		time.Sleep(2 * s.timeout) // a write in time stopped the watchdog
		select {
		case <-st.aborted:
			t.Fatalf("abortable %v: the connection was aborted after a write in time", abortable)
		default:
		}
		start := time.Now()
		err := s.send([]byte("b"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("abortable %v: a stuck write returned %v", abortable, err)
		}
		if d := time.Since(start); d < s.timeout || d > 10*time.Second {
			t.Errorf("abortable %v: a stuck write took %v", abortable, d)
		}
		s.stop()
	}
}
