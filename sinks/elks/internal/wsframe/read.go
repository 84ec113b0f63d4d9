package wsframe

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
)

// The read side (RFC 6455, section 5): frames are read through one
// bufio.Reader into the caller's buffer; pings are answered with pongs,
// pongs go to Ping, a close frame is answered with one and ends the
// connection; a message may come in fragments, up to the Conn's limit in
// all.

// CloseError is the close frame the peer sent: its status (StatusNoStatus
// when it gave none) and reason.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("the peer closed the WebSocket: status %d: %q", e.Code, e.Reason)
}

// Clean reports whether the peer closed without a fault: normal closure,
// going away, or no status.
func (e *CloseError) Clean() bool {
	switch e.Code {
	case StatusNormal, StatusGoingAway, StatusNoStatus:
		return true
	}
	return false
}

// ReadMessage reads the next message into *buf (reusing its array),
// answering control frames on the way, and reports whether it is text.
// The error is a *CloseError when the peer closed the connection, one
// wrapping ErrProtocol for a frame that breaks the RFC,
// io.ErrUnexpectedEOF when the connection ended without a close frame,
// net.ErrClosed once it was closed here, or ctx's error: in every case
// the connection is gone (a read cut off mid-frame leaves nothing to
// resume from), and *buf may then hold part of a message, or bytes of
// its array that were never cleared: use it only without an error.
// context.Background() costs nothing.
func (c *Conn) ReadMessage(ctx context.Context, buf *[]byte) (text bool, err error) {
	*buf = (*buf)[:0]
	return c.AppendMessage(ctx, buf)
}

// AppendMessage is ReadMessage, but the message is appended to *buf,
// after what it holds: a reader that gathers several messages in one
// buffer reads each into it, without copying it there afterwards. The
// Conn's limit applies to the message, not to the buffer. After an error
// *buf may hold, past its old length, part of a message or bytes of its
// array that were never cleared.
func (c *Conn) AppendMessage(ctx context.Context, buf *[]byte) (text bool, err error) {
	select {
	case c.readMu <- struct{}{}:
	case <-c.closed:
		return false, net.ErrClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-c.readMu }()
	return c.readLocked(ctx, buf)
}

// readLocked is AppendMessage, readMu held.
func (c *Conn) readLocked(ctx context.Context, buf *[]byte) (text bool, err error) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.CloseNow() })
		defer func() {
			if !stop() && ctx.Err() != nil {
				err = ctx.Err()
			}
		}()
	}
	first := len(*buf) // where the message starts
	for {
		fin, op, n, key, err := c.readHeader()
		if err != nil {
			return false, err
		}
		if op >= OpClose {
			if err := c.control(op, n, key); err != nil {
				return false, err
			}
			continue
		}
		switch {
		case op == OpContinuation && !c.fragments:
			return false, c.fail(StatusProtocol, "a continuation frame with no message to continue")
		case op != OpContinuation && c.fragments:
			return false, c.fail(StatusProtocol, "a new message before the end of the last")
		case op != OpContinuation && op != OpText && op != OpBinary:
			return false, c.fail(StatusProtocol, fmt.Sprintf("opcode %#x", op))
		case op != OpContinuation:
			c.binary = op == OpBinary
		}
		if int64(len(*buf)-first)+n > c.limit {
			return false, c.fail(StatusTooBig, fmt.Sprintf("a message of more than %d bytes", c.limit))
		}
		// The message's bytes go straight to their place: the buffer grows
		// when it must, and what it held there before is not cleared
		// first, as the read overwrites all of it.
		start := len(*buf)
		*buf = slices.Grow(*buf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, (*buf)[start:]); err != nil {
			return false, c.broken(err)
		}
		if c.role == Server {
			mask((*buf)[start:], key)
		}
		c.fragments = !fin
		if fin {
			return !c.binary, nil
		}
	}
}

// GrowReadBuffer gives a dialled connection a read buffer of size bytes,
// in place of a smaller one, and reports whether it did: only when the
// buffer holds nothing (no byte read ahead is lost) and no read is under
// way. A reader that finds its messages larger than the buffer (half a
// second of pcm_16000 comes as five messages of 4.3 kB) grows it so that
// what the peer writes at once comes in with one read.
func (c *Conn) GrowReadBuffer(size int) bool {
	select {
	case c.readMu <- struct{}{}:
	default:
		return false
	}
	defer func() { <-c.readMu }()
	if c.src == nil || c.br.Size() >= size || c.br.Buffered() > 0 {
		return false
	}
	c.br = bufio.NewReaderSize(c.src, size)
	return true
}

// MessageBuffered reports whether the next message is already buffered
// whole, in one unfragmented data frame: ReadMessage will return it
// without waiting for the network. It is false while another goroutine
// reads (a Close waiting for the peer's close frame). A reader that
// handles what came in with one read of the socket together (the
// simulator batches an application's window of audio and its sync) asks
// it between messages.
func (c *Conn) MessageBuffered() bool {
	select {
	case c.readMu <- struct{}{}:
	default:
		return false
	}
	defer func() { <-c.readMu }()
	n := c.br.Buffered()
	if n < 2 {
		return false
	}
	h, _ := c.br.Peek(min(n, maxHeader))
	if h[0]&finBit == 0 || h[0]&0x0f >= OpClose || h[0]&0x0f == OpContinuation {
		return false
	}
	ext := extLen(h[1])
	if len(h) < 2+ext {
		return false
	}
	size, ok := payloadLen(h[1], h[2:2+ext])
	hl := 2 + ext
	if h[1]&maskBit != 0 {
		hl += 4
	}
	return ok && int64(n)-int64(hl) >= size
}

// extLen is how many bytes of extended payload length follow a frame
// header's second byte b: 0, 2 or 8.
func extLen(b byte) int {
	switch b &^ maskBit {
	case len16:
		return 2
	case len64:
		return 8
	}
	return 0
}

// payloadLen is the payload length a header gives in its second byte b
// and its extended length ext (extLen(b) bytes); false for a 64-bit
// length with its top bit set, which the RFC forbids.
func payloadLen(b byte, ext []byte) (int64, bool) {
	switch len(ext) {
	case 2:
		return int64(binary.BigEndian.Uint16(ext)), true
	case 8:
		u := binary.BigEndian.Uint64(ext)
		return int64(u), u <= 1<<62
	}
	return int64(b &^ maskBit), true
}

// readHeader reads a frame header: its FIN bit, opcode, payload length
// and masking key (0 for a server's frame).
func (c *Conn) readHeader() (fin bool, op byte, n int64, key uint32, err error) {
	h := c.hdr[:2]
	if _, err := io.ReadFull(c.br, h); err != nil {
		return false, 0, 0, 0, c.broken(err)
	}
	fin, op = h[0]&finBit != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		return false, 0, 0, 0, c.fail(StatusProtocol, "reserved bits set (no extension was agreed)")
	}
	masked := h[1]&maskBit != 0
	switch {
	case c.role == Server && !masked:
		return false, 0, 0, 0, c.fail(StatusProtocol, "an unmasked frame from the client")
	case c.role == Client && masked:
		return false, 0, 0, 0, c.fail(StatusProtocol, "a masked frame from the server")
	}
	ext := extLen(h[1])
	keyLen := 0
	if masked {
		keyLen = 4
	}
	rest := c.hdr[2 : 2+ext+keyLen]
	if _, err := io.ReadFull(c.br, rest); err != nil {
		return false, 0, 0, 0, c.broken(err)
	}
	n, ok := payloadLen(h[1], rest[:ext])
	if !ok {
		return false, 0, 0, 0, c.fail(StatusProtocol, "a frame length with its top bit set")
	}
	if op >= OpClose && (!fin || n > maxControl) {
		return false, 0, 0, 0, c.fail(StatusProtocol, "a fragmented or long control frame")
	}
	if masked {
		key = binary.LittleEndian.Uint32(rest[ext:])
	}
	return fin, op, n, key, nil
}

// control handles a control frame of n bytes.
func (c *Conn) control(op byte, n int64, key uint32) error {
	p := c.ctl[:n]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return c.broken(err)
	}
	if c.role == Server {
		mask(p, key)
	}
	switch op {
	case OpPing:
		if err := c.WriteFrame(context.Background(), OpPong, p); err != nil && !errors.Is(err, net.ErrClosed) {
			return c.broken(err)
		}
	case OpPong:
		c.pmu.Lock()
		ch := c.pings[string(p)]
		delete(c.pings, string(p))
		c.pmu.Unlock()
		if ch != nil {
			close(ch)
		}
	case OpClose:
		code, reason := StatusNoStatus, ""
		switch {
		case len(p) == 1:
			return c.fail(StatusProtocol, "a close frame of one byte")
		case len(p) >= 2:
			code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
		c.peerOnce.Do(func() { close(c.peerClose) })
		// The answer echoes the status (RFC 6455, 5.5.1), unless ours
		// went first; then the connection is closed.
		answer := []byte(nil)
		if code != StatusNoStatus {
			answer = p[:2]
		}
		c.WriteFrame(context.Background(), OpClose, answer)
		c.CloseNow()
		return &CloseError{Code: code, Reason: reason}
	default:
		return c.fail(StatusProtocol, fmt.Sprintf("opcode %#x", op))
	}
	return nil
}

// fail closes the connection for a protocol error, saying why in the
// close frame, and returns the error.
func (c *Conn) fail(code int, why string) error {
	c.WriteFrame(context.Background(), OpClose, ClosePayload(code, why))
	c.CloseNow()
	return fmt.Errorf("%w: %s", ErrProtocol, why)
}

// broken closes a connection whose read failed and returns the error:
// io.EOF when the peer closed it without a close frame is a drop
// (io.ErrUnexpectedEOF), as net.ErrClosed is once it was closed here.
func (c *Conn) broken(err error) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	c.CloseNow()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Ping sends a ping and waits for its pong, which the reading goroutine
// hands over: it needs ReadMessage to be running.
func (c *Conn) Ping(ctx context.Context) error {
	id := strconv.FormatInt(c.pingN.Add(1), 10)
	ch := make(chan struct{})
	c.pmu.Lock()
	c.pings[id] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pings, id)
		c.pmu.Unlock()
	}()
	if err := c.WriteFrame(ctx, OpPing, []byte(id)); err != nil {
		return fmt.Errorf("failed to ping: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return fmt.Errorf("failed to ping: %w", net.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("failed to wait for pong: %w", ctx.Err())
	}
}
