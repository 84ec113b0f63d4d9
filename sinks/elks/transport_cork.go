package elks

import (
	"net/http"

	"github.com/elkspipe/elkspipe/sinks/elks/internal/wsframe"
)

// The connections the server accepts are wsframe's, from the opening
// handshake on (wsframe.Accept): coder/websocket's reader and writer cost
// a dozen allocations, a lock and a write system call per message, and
// what a call exchanges most is small messages (a 12-byte sync reply per
// checkpoint; five audio messages and a sync after it). Its Conn, kept
// only for its handshake, held 2 kB per call (docs/dependencies.md). The
// session's writer sends each batch it takes from its queue with one
// write (batchWriter).

// wsReadBuffer is the size of the buffered reader the API's frames are
// read through: a larger message's payload bypasses it. What the API
// sends is sync replies, and caller audio in messages of a few hundred
// bytes.
const wsReadBuffer = 1 << 10

// acceptWebSocket accepts a WebSocket request (wsframe.Accept answers a
// request it refuses) and returns its Transport, which reads and writes
// the frames with wsframe and sends each batch (see batchWriter) with
// one write.
func acceptWebSocket(w http.ResponseWriter, r *http.Request) (Transport, error) {
	ws, err := wsframe.Accept(w, r, wsReadLimit, wsReadBuffer)
	if err != nil {
		return nil, err
	}
	return &wsTransport{ws: ws}, nil
}

// batchWriter is a Transport whose writes can be gathered: between
// beginBatch and endBatch, WriteMessage only queues, and endBatch sends
// what was queued with one write (and returns its error). The session's
// writer uses it for each batch it takes from its queue.
type batchWriter interface {
	beginBatch()
	endBatch() error
}

func (t *wsTransport) beginBatch() {
	if t.ws != nil {
		t.ws.Cork()
	}
}

func (t *wsTransport) endBatch() error {
	if t.ws == nil {
		return nil
	}
	return t.ws.Uncork()
}
