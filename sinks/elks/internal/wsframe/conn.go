// Package wsframe reads and writes the frames of a WebSocket connection
// (RFC 6455) once its opening handshake is done, for both ends elkspipe
// runs: the server of every call (sinks/elks) and the simulator's
// dialled calls (sinks/elks/elkstest).
//
// coder/websocket does the handshakes; its frame reader and writer cost,
// per message, a lock, a context.AfterFunc and a closure each for the
// header and the payload, a dozen allocations, and one write system call
// (two for a message longer than its buffer). A call exchanges a dozen
// small messages a second, most of them 12-byte sync replies, so at
// thousands of calls those costs are most of the CPU. A Conn instead:
//
//   - reads frames through one bufio.Reader into a buffer the caller
//     reuses, allocating nothing per message;
//   - gathers the frames written between Cork and Uncork into one write
//     (a payload longer than corkInline goes out uncopied, with the batch
//     before it, in one writev where the connection has one);
//   - answers pings with pongs, hands pongs to Ping, answers a close
//     frame and closes the connection, and fails with a close frame
//     (status 1002, or 1009 for a message over its limit) on a frame that
//     breaks the RFC.
//
// A server reads masked frames and writes unmasked ones; a client masks
// what it writes, with a fresh key per frame from math/rand/v2's
// ChaCha8 generator, and refuses masked frames (RFC 6455, 5.1 and 5.3).
// No extension (compression) is ever agreed.
package wsframe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Role is the end of the connection a Conn is: it decides the masking.
type Role int

const (
	// Server writes unmasked frames and reads masked ones.
	Server Role = iota
	// Client writes masked frames and reads unmasked ones.
	Client
)

// Opcodes (RFC 6455, 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xa
)

// Close statuses (RFC 6455, 7.4.1).
const (
	StatusNormal    = 1000
	StatusGoingAway = 1001
	StatusProtocol  = 1002
	StatusNoStatus  = 1005
	StatusTooBig    = 1009
)

// closeWait is how long Close waits for the peer's close frame, as
// coder/websocket waits (a variable for the tests).
var closeWait = 5 * time.Second

// maxControl is the longest payload of a control frame.
const maxControl = 125

// maxHeader is the longest frame header: two bytes, eight of length and
// four of masking key.
const maxHeader = 14

// ErrProtocol is a frame that breaks RFC 6455; the Conn closed the
// connection with status 1002 (or 1009) after reading it.
var ErrProtocol = errors.New("WebSocket protocol error")

// Conn is one WebSocket connection after its handshake. One goroutine at
// a time reads (ReadMessage); writes may come from any goroutine, each
// frame whole; Close and CloseNow from any goroutine, more than once.
type Conn struct {
	role   Role
	w      io.Writer // where frames go: the connection
	closer io.Closer // closes the connection
	br     *bufio.Reader
	src    io.Reader // what br reads from, when GrowReadBuffer may replace br (Dial's)
	limit  int64     // the longest message read

	// The write side (write.go).
	wmu       sync.Mutex
	corked    bool
	buf       *[]byte // the batch, from batchBuffers; nil when empty
	closeSent bool    // a close frame went out (or into the batch)

	// The read side (read.go).
	readMu    chan struct{}   // a one-slot lock: held by whoever reads frames
	hdr       [maxHeader]byte // the frame header being read (under readMu)
	ctl       [maxControl]byte
	fragments bool // a fragmented message is being read (under readMu)
	binary    bool // ... and it is binary

	closeOnce sync.Once
	closed    chan struct{} // closed with the connection
	peerOnce  sync.Once
	peerClose chan struct{} // closed when the peer's close frame was read

	pingN atomic.Int64
	pmu   sync.Mutex
	pings map[string]chan struct{}
}

// New returns the Conn of role over a connection whose handshake is done:
// frames are written to w, read from br (which may hold bytes the peer
// sent right after its handshake; nil: call SetReader before reading),
// and closer closes the connection. A message longer than limit bytes
// fails the connection with status 1009.
func New(role Role, w io.Writer, closer io.Closer, br *bufio.Reader, limit int64) *Conn {
	return &Conn{role: role, w: w, closer: closer, br: br, limit: limit,
		readMu: make(chan struct{}, 1), closed: make(chan struct{}),
		peerClose: make(chan struct{}), pings: map[string]chan struct{}{}}
}

// SetReader sets the reader frames are read from, for a Conn made before
// its reader was known. It must come before the first read.
func (c *Conn) SetReader(br *bufio.Reader) { c.br = br }

// CloseNow closes the connection at once, without the closing handshake.
func (c *Conn) CloseNow() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.closer.Close()
	})
	return err
}

// Closed is closed once the connection is.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Close performs the closing handshake: a close frame (normal closure),
// written within 5 s, then the peer's, read by the reading goroutine if
// one is reading, else here, for up to 5 s; then the connection is
// closed. A peer whose close frame came first was already answered:
// Close then only closes.
func (c *Conn) Close() error {
	// A peer that stopped reading holds up the write of the close frame
	// (and any write before it, which holds the write lock): that too is
	// bounded by closeWait, the connection closed under the write.
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	err := c.WriteFrame(ctx, OpClose, ClosePayload(StatusNormal, ""))
	timedOut := ctx.Err() != nil
	cancel()
	if err != nil {
		c.CloseNow()
		if timedOut || errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}
	timer := time.NewTimer(closeWait)
	defer timer.Stop()
	select {
	case c.readMu <- struct{}{}:
		// Nobody reads: read up to the peer's close frame here, the
		// connection closed under the read if it does not come in time
		// (a client's connection, an HTTP response body, has no read
		// deadline).
		stop := time.AfterFunc(closeWait, func() { c.CloseNow() })
		defer stop.Stop()
		var buf []byte
		for {
			buf = buf[:0]
			if _, err := c.readLocked(context.Background(), &buf); err != nil {
				break
			}
		}
		<-c.readMu
	case <-c.peerClose:
	case <-c.closed:
	case <-timer.C:
	}
	c.CloseNow()
	return nil
}
