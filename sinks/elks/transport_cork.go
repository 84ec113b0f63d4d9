package elks

import (
	"bufio"
	"net"
	"net/http"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/sinks/elks/internal/wsframe"
)

// The connections the server accepts read and write their frames with
// wsframe, after coder/websocket's handshake: coder/websocket's own
// reader and writer cost a dozen allocations, a lock and a write system
// call per message, and what a call exchanges most is small messages (a
// 12-byte sync reply per checkpoint; five audio messages and a sync after
// it). The session's writer sends each batch it takes from its queue
// with one write (batchWriter). coder/websocket writes nothing after the
// handshake; should it write a close frame (hijackedConn.Write), no data
// frame follows it.

// wsWriteBuffer is the size of the buffered writer coder/websocket frames
// into: it writes only control frames (pings, pongs, close: at most 131
// bytes), each of which must fit whole. net/http's 4 kB would only hold
// memory for every call.
const wsWriteBuffer = 256

// corkingWriter is an http.ResponseWriter whose Hijack hands out the
// connection as a hijackedConn, with a small buffered writer over it.
type corkingWriter struct {
	http.ResponseWriter
	conn   *hijackedConn
	reader *bufio.Reader
	fresh  bool // reader is a new one, on the connection
}

// hijackedConn is the connection handed to coder/websocket: its writes
// (the handshake's response; control frames, should it write any) go
// through the wsframe.Conn, whole, in order with the transport's frames.
type hijackedConn struct {
	net.Conn
	ws *wsframe.Conn
}

func (c *hijackedConn) Write(p []byte) (int, error) { return c.ws.WriteRaw(p) }

// Hijack hijacks the connection underneath and wraps it.
func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http's writer is fresh and empty: nothing is lost by
	// replacing it. Its reader may hold what the client sent after its
	// request (coder/websocket reads that first); when it holds nothing,
	// a smaller one does: what the API sends is sync replies, and caller
	// audio in messages of a few hundred bytes.
	w.conn = &hijackedConn{Conn: nc, ws: wsframe.New(wsframe.Server, nc, nc, nil, wsReadLimit)}
	w.reader = brw.Reader
	if w.reader.Buffered() == 0 {
		w.reader, w.fresh = bufio.NewReaderSize(nc, wsReadBuffer), true
	}
	return w.conn, bufio.NewReadWriter(w.reader, bufio.NewWriterSize(w.conn, wsWriteBuffer)), nil
}

// wsReadBuffer is the size of the buffered reader the API's frames are
// read through: a larger message's payload bypasses it.
const wsReadBuffer = 1 << 10

// Unwrap returns the ResponseWriter underneath.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// acceptWebSocket accepts a WebSocket request with websocket.Accept's
// handshake and returns its Transport, which reads and writes the frames
// with wsframe and sends each batch (see batchWriter) with one write. It keeps coder/websocket's Conn, unused, as that closes the
// connection when it is garbage.
func acceptWebSocket(w http.ResponseWriter, r *http.Request) (Transport, error) {
	cw := &corkingWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, nil)
	if err != nil {
		return nil, err
	}
	br := cw.reader
	if cw.fresh && br.Buffered() == 0 {
		// coder/websocket put an empty io.MultiReader in front of the
		// connection: read it directly.
		br.Reset(cw.conn.Conn)
	}
	cw.conn.ws.SetReader(br)
	return &wsTransport{c: c, ws: cw.conn.ws}, nil
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
