package elks

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The server's read path. coder/websocket's reader costs about a dozen
// allocations per message (a context.AfterFunc and a closure for the
// frame header and again for the payload) and as many locks; what the
// API sends most is one 12-byte sync reply per checkpoint. So the
// connections the server accepts read their frames here, after
// coder/websocket's handshake (RFC 6455, section 5): client frames are
// masked; pings are answered with pongs, pongs go to Ping, a close
// frame is answered with one and ends the connection; a message may come
// in fragments, up to wsReadLimit in all. Protocol errors close the
// connection with status 1002 (1009 for a message too large).

// WebSocket opcodes and close statuses used here (RFC 6455, 5.2, 7.4).
const (
	wsOpContinuation = 0x0
	wsOpBinary       = 0x2
	wsOpPing         = 0x9
	wsOpPong         = 0xa
	wsMask           = 0x80

	wsStatusNormal     = 1000
	wsStatusGoingAway  = 1001
	wsStatusProtocol   = 1002
	wsStatusNoStatus   = 1005
	wsStatusTooBig     = 1009
	wsCloseWait        = 5 * time.Second // for the peer's close frame, as coder/websocket waits
	wsMaxControlLength = 125
)

// wsServer is the state of a server connection that the transport reads
// and writes itself.
type wsServer struct {
	conn *corkConn
	br   *bufio.Reader

	readMu    chan struct{} // a one-slot lock: held by whoever reads frames
	hdr       [14]byte      // the frame header being read (under readMu)
	ctl       [wsMaxControlLength]byte
	fragments bool // a fragmented message is being read (under readMu)
	binary    bool // ... and it is binary

	closeOnce sync.Once
	closed    chan struct{} // closed with the connection
	peerClose chan struct{} // closed when the peer's close frame was read
	peerOnce  sync.Once

	pingN atomic.Int64
	pmu   sync.Mutex
	pings map[string]chan struct{}
}

func newWSServer(c *corkConn, br *bufio.Reader) *wsServer {
	return &wsServer{conn: c, br: br, readMu: make(chan struct{}, 1),
		closed: make(chan struct{}), peerClose: make(chan struct{}), pings: map[string]chan struct{}{}}
}

// closeConn closes the connection, once.
func (w *wsServer) closeConn() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.closed)
		err = w.conn.Conn.Close()
	})
	return err
}

// wsCloseError is the close frame a peer sent, other than a normal one.
type wsCloseError struct {
	code   int
	reason string
}

func (e *wsCloseError) Error() string {
	return fmt.Sprintf("the peer closed the WebSocket: status %d: %q", e.code, e.reason)
}

// errProtocol is a frame that breaks RFC 6455.
var errProtocol = errors.New("WebSocket protocol error")

// readMessage reads the next text message into buf, answering control
// frames on the way; see Transport.ReadMessage.
func (w *wsServer) readMessage(ctx context.Context, buf *[]byte) (text bool, err error) {
	select {
	case w.readMu <- struct{}{}:
	case <-w.closed:
		return false, net.ErrClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-w.readMu }()
	return w.readLocked(ctx, buf)
}

// readLocked is readMessage, readMu held.
func (w *wsServer) readLocked(ctx context.Context, buf *[]byte) (text bool, err error) {
	if ctx.Done() != nil {
		// A read cut off mid-frame leaves nothing to resume from: the
		// connection goes, as coder/websocket's does.
		stop := context.AfterFunc(ctx, func() { w.closeConn() })
		defer func() {
			if !stop() && ctx.Err() != nil {
				err = ctx.Err()
			}
		}()
	}
	*buf = (*buf)[:0]
	for {
		fin, op, n, key, err := w.readHeader()
		if err != nil {
			return false, err
		}
		if op >= wsOpClose {
			if err := w.control(op, n, key); err != nil {
				return false, err
			}
			continue
		}
		switch {
		case op == wsOpContinuation && !w.fragments:
			return false, w.fail(wsStatusProtocol, "a continuation frame with no message to continue")
		case op != wsOpContinuation && w.fragments:
			return false, w.fail(wsStatusProtocol, "a new message before the end of the last")
		case op != wsOpContinuation && op != wsOpText && op != wsOpBinary:
			return false, w.fail(wsStatusProtocol, fmt.Sprintf("opcode %#x", op))
		case op != wsOpContinuation:
			w.binary = op == wsOpBinary
		}
		if int64(len(*buf))+n > wsReadLimit {
			return false, w.fail(wsStatusTooBig, fmt.Sprintf("a message of more than %d bytes", wsReadLimit))
		}
		start := len(*buf)
		*buf = append(*buf, make([]byte, n)...)
		if _, err := io.ReadFull(w.br, (*buf)[start:]); err != nil {
			return false, w.broken(err)
		}
		unmask((*buf)[start:], key)
		w.fragments = !fin
		if fin {
			return !w.binary, nil
		}
	}
}

// readHeader reads a frame header: its FIN bit, opcode, payload length
// and masking key.
func (w *wsServer) readHeader() (fin bool, op byte, n int64, key uint32, err error) {
	h := w.hdr[:2]
	if _, err := io.ReadFull(w.br, h); err != nil {
		return false, 0, 0, 0, w.broken(err)
	}
	fin, op = h[0]&wsFin != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		return false, 0, 0, 0, w.fail(wsStatusProtocol, "reserved bits set (no extension was agreed)")
	}
	if h[1]&wsMask == 0 {
		return false, 0, 0, 0, w.fail(wsStatusProtocol, "an unmasked frame from the client")
	}
	ext := 0
	switch l := h[1] &^ wsMask; l {
	case wsLen16:
		ext = 2
	case wsLen64:
		ext = 8
	default:
		n = int64(l)
	}
	rest := w.hdr[2 : 2+ext+4]
	if _, err := io.ReadFull(w.br, rest); err != nil {
		return false, 0, 0, 0, w.broken(err)
	}
	switch ext {
	case 2:
		n = int64(binary.BigEndian.Uint16(rest))
	case 8:
		u := binary.BigEndian.Uint64(rest)
		if u > 1<<62 {
			return false, 0, 0, 0, w.fail(wsStatusProtocol, "a frame length with its top bit set")
		}
		n = int64(u)
	}
	if op >= wsOpClose && (!fin || n > wsMaxControlLength) {
		return false, 0, 0, 0, w.fail(wsStatusProtocol, "a fragmented or long control frame")
	}
	return fin, op, n, binary.LittleEndian.Uint32(rest[ext:]), nil
}

// control handles a control frame of n bytes.
func (w *wsServer) control(op byte, n int64, key uint32) error {
	p := w.ctl[:n]
	if _, err := io.ReadFull(w.br, p); err != nil {
		return w.broken(err)
	}
	unmask(p, key)
	switch op {
	case wsOpPing:
		if err := w.conn.writeFrame(context.Background(), wsOpPong, p); err != nil && !errors.Is(err, net.ErrClosed) {
			return w.broken(err)
		}
	case wsOpPong:
		w.pmu.Lock()
		ch := w.pings[string(p)]
		delete(w.pings, string(p))
		w.pmu.Unlock()
		if ch != nil {
			close(ch)
		}
	case wsOpClose:
		code, reason := wsStatusNoStatus, ""
		switch {
		case len(p) == 1:
			return w.fail(wsStatusProtocol, "a close frame of one byte")
		case len(p) >= 2:
			code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
		w.peerOnce.Do(func() { close(w.peerClose) })
		// The answer echoes the status (RFC 6455, 5.5.1), unless ours
		// went first; then the server closes the connection.
		answer := []byte(nil)
		if code != wsStatusNoStatus {
			answer = p[:2]
		}
		w.conn.writeFrame(context.Background(), wsOpClose, answer)
		w.closeConn()
		switch code {
		case wsStatusNormal, wsStatusGoingAway, wsStatusNoStatus:
			return io.EOF
		}
		return &wsCloseError{code: code, reason: reason}
	default:
		return w.fail(wsStatusProtocol, fmt.Sprintf("opcode %#x", op))
	}
	return nil
}

// fail closes the connection for a protocol error, saying why in the
// close frame, and returns the error.
func (w *wsServer) fail(code int, why string) error {
	w.conn.writeFrame(context.Background(), wsOpClose, closePayload(code, why))
	w.closeConn()
	return fmt.Errorf("%w: %s", errProtocol, why)
}

// broken closes a connection whose read failed and returns the error:
// io.EOF when the peer closed it without a close frame is a drop
// (io.ErrUnexpectedEOF), as net.ErrClosed is once it was closed here.
func (w *wsServer) broken(err error) error {
	select {
	case <-w.closed:
		return net.ErrClosed
	default:
	}
	w.closeConn()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// closePayload is the payload of a close frame: the status and as much
// of the reason as fits.
func closePayload(code int, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(p, reason[:min(len(reason), wsMaxControlLength-2)]...)
}

// unmask XORs p with the masking key, as read little-endian from the
// frame.
func unmask(p []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(key >> (8 * (i % 4)))
	}
}

// ping sends a ping and waits for its pong, which the reading goroutine
// hands over.
func (w *wsServer) ping(ctx context.Context) error {
	id := strconv.FormatInt(w.pingN.Add(1), 10)
	ch := make(chan struct{})
	w.pmu.Lock()
	w.pings[id] = ch
	w.pmu.Unlock()
	defer func() {
		w.pmu.Lock()
		delete(w.pings, id)
		w.pmu.Unlock()
	}()
	if err := w.conn.writeFrame(ctx, wsOpPing, []byte(id)); err != nil {
		return fmt.Errorf("failed to ping: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-w.closed:
		return fmt.Errorf("failed to ping: %w", net.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("failed to wait for pong: %w", ctx.Err())
	}
}

// close performs the closing handshake: a close frame (normal closure),
// then the peer's, read by the reading goroutine if one is reading, else
// here, for up to wsCloseWait; then the connection is closed.
func (w *wsServer) close() error {
	err := w.conn.writeFrame(context.Background(), wsOpClose, closePayload(wsStatusNormal, ""))
	if err != nil {
		w.closeConn()
		if errors.Is(err, net.ErrClosed) {
			return nil // the peer's close came first, and was answered
		}
		return err
	}
	timer := time.NewTimer(wsCloseWait)
	defer timer.Stop()
	select {
	case w.readMu <- struct{}{}:
		// Nobody reads: read up to the peer's close frame here.
		w.conn.Conn.SetReadDeadline(time.Now().Add(wsCloseWait))
		var buf []byte
		for {
			if _, err := w.readLocked(context.Background(), &buf); err != nil {
				break
			}
		}
		<-w.readMu
	case <-w.peerClose:
	case <-w.closed:
	case <-timer.C:
	}
	w.closeConn()
	return nil
}
