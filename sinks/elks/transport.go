package elks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/sinks/elks/internal/wsframe"
)

// Transport carries the text messages of one call, one JSON message each.
// A Session reads it from one goroutine and writes it from another; Close
// may be called from any goroutine, and more than once.
type Transport interface {
	// ReadMessage blocks until the next message arrives and returns it.
	// The slice is valid until the next call. An error wrapping
	// ErrMalformed (a binary frame, say) concerns one message: the
	// connection is still usable. Any other error means the connection
	// is gone (io.EOF when the peer closed it cleanly).
	ReadMessage(ctx context.Context) ([]byte, error)
	// WriteMessage sends msg as one text message. It does not keep msg.
	WriteMessage(ctx context.Context, msg []byte) error
	// Close ends the connection; blocked reads and writes return errors.
	Close() error
}

// wsReadLimit is the largest message a WebSocket transport accepts, far
// above what the API sends (coder/websocket's own default is 32 KiB).
const wsReadLimit = 1 << 20

// WebSocket returns a Transport over an accepted (or dialled) coder/websocket
// connection. It raises the connection's read limit to wsReadLimit. Close
// performs the WebSocket closing handshake, which needs the peer to answer
// (bounded by coder/websocket's own timeouts), unless the peer has already
// gone.
func WebSocket(c *websocket.Conn) Transport {
	c.SetReadLimit(wsReadLimit)
	return &wsTransport{c: c}
}

// wsKeepBuffer is the largest read buffer a WebSocket transport keeps
// between messages: enough for every message 46elks sends (20 ms of
// audio, about 1 kB of JSON), far below wsReadLimit.
const wsKeepBuffer = 64 << 10

type wsTransport struct {
	c    *websocket.Conn
	rbuf bytes.Buffer
	// ws, when the server accepted the connection (acceptWebSocket):
	// the transport reads and writes the frames with it, and gathers each
	// batch of messages into one write; sbuf is then the read buffer.
	ws   *wsframe.Conn
	sbuf []byte

	mu   sync.Mutex
	gone bool // a read failed: the peer closed or the connection broke
}

func (t *wsTransport) ReadMessage(ctx context.Context) ([]byte, error) {
	if t.ws != nil {
		if cap(t.sbuf) > wsKeepBuffer {
			t.sbuf = nil // as below
		}
		text, err := t.ws.ReadMessage(ctx, &t.sbuf)
		switch {
		case err != nil:
			t.markGone()
			var ce *wsframe.CloseError
			if errors.As(err, &ce) && ce.Clean() {
				return nil, io.EOF
			}
			return nil, err
		case !text:
			return nil, fmt.Errorf("%w: a binary frame of %d bytes (the protocol uses text frames)", ErrMalformed, len(t.sbuf))
		}
		return t.sbuf, nil
	}
	if t.rbuf.Cap() > wsKeepBuffer {
		// The last message was a large one: let its buffer go before
		// waiting for the next, so that one large message followed by
		// silence does not hold memory for the rest of the call.
		t.rbuf = bytes.Buffer{}
	}
	typ, r, err := t.c.Reader(ctx)
	if err != nil {
		t.markGone()
		return nil, wsErr(err)
	}
	t.rbuf.Reset()
	if _, err := t.rbuf.ReadFrom(r); err != nil {
		t.markGone()
		return nil, wsErr(err)
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("%w: a binary frame of %d bytes (the protocol uses text frames)", ErrMalformed, t.rbuf.Len())
	}
	return t.rbuf.Bytes(), nil
}

// abort makes t's Close drop the connection at once, without the
// closing handshake, when t supports it (a WebSocket does): for a peer
// that never said anything, waiting for its answer only holds resources.
func abort(t Transport) {
	if a, ok := t.(interface{ abort() }); ok {
		a.abort()
	}
}

// abort makes Close drop the connection without the closing handshake.
func (t *wsTransport) abort() { t.markGone() }

func (t *wsTransport) markGone() {
	t.mu.Lock()
	t.gone = true
	t.mu.Unlock()
}

// wsErr turns a clean close by the peer into io.EOF.
func wsErr(err error) error {
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		return io.EOF
	}
	return err
}

func (t *wsTransport) WriteMessage(ctx context.Context, msg []byte) error {
	if t.ws != nil {
		if err := t.ws.WriteFrame(ctx, wsframe.OpText, msg); err != nil {
			return fmt.Errorf("failed to write msg: %w", err)
		}
		return nil
	}
	return t.c.Write(ctx, websocket.MessageText, msg)
}

func (t *wsTransport) Close() error {
	t.mu.Lock()
	gone := t.gone
	t.mu.Unlock()
	if t.ws != nil {
		if gone {
			t.ws.CloseNow()
			return nil
		}
		return t.ws.Close()
	}
	var err error
	if gone {
		err = t.c.CloseNow()
	} else {
		err = t.c.Close(websocket.StatusNormalClosure, "")
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Pipe returns the two ends of an in-memory Transport, like net.Pipe:
// what one end writes, the other reads, in order. Each direction buffers
// up to 256 messages; a writer blocks beyond that. Closing either end
// closes both: the other end reads what was already queued, then io.EOF.
// Tests use it: elkstest.Run drives a Session in-process over it.
//
// Both ends are Pingers: like a WebSocket's, a ping is answered by the
// other end's ReadMessage, so a peer that stops reading stops answering.
func Pipe() (a, b Transport) {
	shared := &pipeShared{closed: make(chan struct{})}
	ab := make(chan []byte, 256)
	ba := make(chan []byte, 256)
	pingAB, pingBA := make(chan chan struct{}), make(chan chan struct{})
	return &pipeEnd{shared: shared, in: ba, out: ab, pingIn: pingBA, pingOut: pingAB},
		&pipeEnd{shared: shared, in: ab, out: ba, pingIn: pingAB, pingOut: pingBA}
}

type pipeShared struct {
	once   sync.Once
	closed chan struct{}
}

type pipeEnd struct {
	shared          *pipeShared
	in, out         chan []byte
	pingIn, pingOut chan chan struct{} // pings to answer, pings to send: each carries its pong

	mu     sync.Mutex
	closed bool // this end was closed
}

func (p *pipeEnd) ReadMessage(ctx context.Context) ([]byte, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	select {
	case m := <-p.in:
		return m, nil
	default:
	}
	for {
		select {
		case m := <-p.in:
			return m, nil
		case pong := <-p.pingIn:
			close(pong)
		case <-p.shared.closed:
			select {
			case m := <-p.in:
				return m, nil
			default:
			}
			p.mu.Lock()
			closed = p.closed
			p.mu.Unlock()
			if closed {
				return nil, net.ErrClosed
			}
			return nil, io.EOF
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Ping hands a ping to the other end and waits until its ReadMessage has
// answered it.
func (p *pipeEnd) Ping(ctx context.Context) error {
	pong := make(chan struct{})
	select {
	case p.pingOut <- pong:
	case <-p.shared.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-pong:
		return nil
	case <-p.shared.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipeEnd) WriteMessage(ctx context.Context, msg []byte) error {
	select {
	case <-p.shared.closed:
		return net.ErrClosed
	default:
	}
	select {
	case p.out <- bytes.Clone(msg):
		return nil
	case <-p.shared.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipeEnd) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.shared.once.Do(func() { close(p.shared.closed) })
	return nil
}
