package elks

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// The server's write path. coder/websocket flushes its buffered writer at
// the end of every message, one write system call each (two for a
// message longer than the buffer: pcm_16000's 100 ms is 4.3 kB of JSON
// against net/http's 4 kB), and costs a lock, a context.AfterFunc and a
// few allocations per frame. A call's writer takes its queued messages in
// batches, typically five audio messages and a sync after each sync
// reply; each system call goes through the whole TCP stack, and over
// loopback the sender pays for the receiver's side too.
//
// So the connections the server accepts (acceptWebSocket) are corkConns:
// the transport frames its messages itself, a server's frame being a 2
// to 10-byte header and the payload as it is (RFC 6455, section 5.2:
// servers do not mask), and between cork and uncork what is written is
// gathered and sent with one write. The transport's control frames (pong,
// ping, close) go the same way, through writeFrame, so frames stay whole
// and in order; it reads the connection itself too (transport_read.go).
// coder/websocket does the handshake and, after it, writes nothing; its
// Write path here (Write) still marks the connection on a close frame:
// no data frame may follow one.

// corkConn is a net.Conn whose writes can be held back and sent together.
// Frames written from any goroutine while it is corked (a pong the reader
// answers, say) join the batch whole, in the order they come.
type corkConn struct {
	net.Conn

	mu        sync.Mutex
	corked    bool
	buf       *[]byte // the batch, from corkBuffers; nil when empty
	closeSent bool    // a close frame went out (or into the batch)
}

// corkBuffers holds the batch buffers of all connections: a batch lives
// from cork to uncork, so a server needs about as many as it writes at
// once, not one per call.
var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// corkKeep is the largest batch buffer put back for reuse.
const corkKeep = 64 << 10

// corkInline is the longest payload copied into a batch; a longer one
// goes out with the batch before it, uncopied (flushWithLocked). The
// messages of the encoded formats are far shorter (pcm_24000's 100 ms is
// 6.4 kB of JSON); those of the file formats, pieces of up to 32 KiB of
// the file, are not, and copying them made the batches of a looped file
// grow past corkKeep and be allocated anew every time.
const corkInline = 16 << 10

// cork holds back writes until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork sends what was held back, with one write, and lets writes
// through again.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

// flushLocked writes the batch, if any, and gives its buffer back.
func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	bp := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*bp)
	if cap(*bp) <= corkKeep {
		*bp = (*bp)[:0]
		corkBuffers.Put(bp)
	}
	return err
}

// flushWithLocked writes the batch and then p, with one system call
// where the connection can gather (a TCP connection's writev), and gives
// the batch's buffer back.
func (c *corkConn) flushWithLocked(p []byte) error {
	bp := c.buf
	c.buf = nil
	bufs := net.Buffers{*bp, p}
	_, err := bufs.WriteTo(c.Conn)
	if cap(*bp) <= corkKeep {
		*bp = (*bp)[:0]
		corkBuffers.Put(bp)
	}
	return err
}

// Write is for coder/websocket, should it write: whole control frames,
// one per call. The transport writes with writeFrame.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == wsOpClose {
		c.closeSent = true
	}
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.appendLocked(p)
	return len(p), nil
}

func (c *corkConn) appendLocked(p []byte) {
	if c.buf == nil {
		c.buf = corkBuffers.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
}

// WebSocket opcodes and flags (RFC 6455, section 5.2).
const (
	wsFin      = 0x80
	wsOpText   = 0x1
	wsOpClose  = 0x8
	wsLen16    = 126
	wsLen64    = 127
	wsMaxShort = 125
)

// writeFrame writes p as one final frame of opcode op: into the batch
// while corked (but for a close frame), else at once, with one write
// either way. It fails with net.ErrClosed once a close frame has gone
// out. ctx can abort a write that blocks (the peer stopped reading) by
// closing the connection, as coder/websocket's writes do.
func (c *corkConn) writeFrame(ctx context.Context, op byte, p []byte) error {
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.Conn.Close() })
		defer stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	if op == wsOpClose {
		c.closeSent = true
	}
	var h [10]byte
	n := frameHeader(&h, op, len(p))
	c.appendLocked(h[:n])
	if len(p) > corkInline {
		// A long payload (a passthrough piece of up to 44 kB) is not
		// copied: the batch so far and it go out now, with one writev.
		return c.flushWithLocked(p)
	}
	*c.buf = append(*c.buf, p...)
	if c.corked && op != wsOpClose {
		return nil
	}
	// A close frame goes at once, with the batch before it: the
	// connection is closed right after it.
	return c.flushLocked()
}

// frameHeader puts the header of an unmasked, final frame of opcode op
// and n bytes into h and returns its length.
func frameHeader(h *[10]byte, op byte, n int) int {
	h[0] = wsFin | op
	switch {
	case n <= wsMaxShort:
		h[1] = byte(n)
		return 2
	case n <= 0xffff:
		h[1] = wsLen16
		binary.BigEndian.PutUint16(h[2:], uint16(n))
		return 4
	}
	h[1] = wsLen64
	binary.BigEndian.PutUint64(h[2:], uint64(n))
	return 10
}

// wsWriteBuffer is the size of the buffered writer coder/websocket frames
// into: it writes only control frames (pings, pongs, close: at most 131
// bytes), each of which must fit whole. net/http's 4 kB would only hold
// memory for every call.
const wsWriteBuffer = 256

// corkingWriter is an http.ResponseWriter whose Hijack hands out the
// connection as a corkConn, with a small buffered writer over it.
type corkingWriter struct {
	http.ResponseWriter
	conn   *corkConn
	reader *bufio.Reader
	fresh  bool // reader is a new one, on the connection
}

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
	w.conn = &corkConn{Conn: nc}
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
// itself (transport_read.go) and sends each batch (see batchWriter) with
// one write. It keeps coder/websocket's Conn, unused, as that closes the
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
	return &wsTransport{c: c, cork: cw.conn, srv: newWSServer(cw.conn, br)}, nil
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
	if t.cork != nil {
		t.cork.cork()
	}
}

func (t *wsTransport) endBatch() error {
	if t.cork == nil {
		return nil
	}
	return t.cork.uncork()
}
