package wsframe

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
)

// The write side. Between Cork and Uncork, frames are gathered and sent
// with one write: a server's writer takes its queued messages in batches
// (typically five audio messages and a sync after each sync reply), and
// every write system call goes through the whole TCP stack (over
// loopback, the receiver's side too). Control frames written while
// corked (a pong the reader answers) join the batch whole, in order.

// batchBuffers holds the batch buffers of all connections: a batch lives
// from Cork to Uncork, so a process needs about as many as it writes at
// once, not one per connection.
var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, batchFlush); return &b }}

// batchFlush is the most a batch holds before it is written, whatever
// follows: a call's start sends 2.5 s of audio at once (107 kB of JSON
// at pcm_16000), and batches grown that large were let go (batchKeep)
// and allocated again for every call that started, a garbage
// collection a second at 500 calls a second. A server's batch never
// grows past it (its longest inlined frame is shorter); a client's may,
// by a long masked frame.
const batchFlush = 32 << 10

// batchKeep is the largest batch buffer put back for reuse.
const batchKeep = 64 << 10

// corkInline is the longest payload a server copies into a batch; a
// longer one goes out with the batch before it, uncopied
// (flushWithLocked). The messages of elkspipe's encoded formats are far
// shorter (pcm_24000's 100 ms is 6.4 kB of JSON); those of its file
// formats, pieces of up to 32 KiB of the file, are not, and copying them
// made batches grow past batchKeep and be allocated anew every time. A
// client masks its payloads, so it copies them all.
const corkInline = 16 << 10

// Cork holds back writes until Uncork.
func (c *Conn) Cork() {
	c.wmu.Lock()
	c.corked = true
	c.wmu.Unlock()
}

// Uncork sends what was held back, with one write, and lets writes
// through again.
func (c *Conn) Uncork() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.corked = false
	return c.flushLocked()
}

// WriteFrame writes p as one final frame of opcode op: into the batch
// while corked (but for a close frame), else at once, with one write
// either way. It fails with net.ErrClosed once a close frame has gone
// out. A ctx that can end aborts a write that blocks (the peer stopped
// reading) by closing the connection, as coder/websocket's writes do;
// context.Background() costs nothing.
func (c *Conn) WriteFrame(ctx context.Context, op byte, p []byte) error {
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.CloseNow() })
		defer stop()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	if op == OpClose {
		c.closeSent = true
	}
	var h [14]byte
	var key uint32
	if c.role == Client {
		key = rand.Uint32()
	}
	n := header(&h, op, len(p), c.role == Client, key)
	if c.buf != nil && len(*c.buf)+n+len(p) > batchFlush {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	c.appendLocked(h[:n])
	if c.role == Server && len(p) > corkInline {
		// A long payload (a passthrough piece of up to 44 kB) is not
		// copied: the batch so far and it go out now, with one writev.
		return c.flushWithLocked(p)
	}
	start := len(*c.buf)
	*c.buf = append(*c.buf, p...)
	if c.role == Client {
		mask((*c.buf)[start:], key)
	}
	if c.corked && op != OpClose {
		return nil
	}
	// A close frame goes at once, with the batch before it: the
	// connection is closed right after it.
	return c.flushLocked()
}

// WriteRaw writes p, whole frames already framed (coder/websocket's
// control frames, on a connection it handed over), into the batch while
// corked, else at once. A close frame among them stops data frames after
// it.
func (c *Conn) WriteRaw(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(p) > 0 && p[0]&0x0f == OpClose {
		c.closeSent = true
	}
	if !c.corked {
		return c.w.Write(p)
	}
	c.appendLocked(p)
	return len(p), nil
}

func (c *Conn) appendLocked(p []byte) {
	if c.buf == nil {
		c.buf = batchBuffers.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
}

// flushLocked writes the batch, if any, and gives its buffer back.
func (c *Conn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	bp := c.buf
	c.buf = nil
	_, err := c.w.Write(*bp)
	release(bp)
	return err
}

// flushWithLocked writes the batch and then p, with one system call
// where the connection can gather (a TCP connection's writev), and gives
// the batch's buffer back.
func (c *Conn) flushWithLocked(p []byte) error {
	bp := c.buf
	c.buf = nil
	bufs := net.Buffers{*bp, p}
	_, err := bufs.WriteTo(c.w)
	release(bp)
	return err
}

// release gives a batch buffer back for reuse, unless it grew too large.
func release(bp *[]byte) {
	if cap(*bp) <= batchKeep {
		*bp = (*bp)[:0]
		batchBuffers.Put(bp)
	}
}

// Frame header bits and length forms (RFC 6455, 5.2).
const (
	finBit   = 0x80
	maskBit  = 0x80
	len16    = 126
	len64    = 127
	maxShort = 125
)

// header puts the header of a final frame of opcode op and n bytes into
// h, masked with key if masked, and returns its length.
func header(h *[14]byte, op byte, n int, masked bool, key uint32) int {
	h[0] = finBit | op
	var l int
	switch {
	case n <= maxShort:
		h[1] = byte(n)
		l = 2
	case n <= 0xffff:
		h[1] = len16
		binary.BigEndian.PutUint16(h[2:], uint16(n))
		l = 4
	default:
		h[1] = len64
		binary.BigEndian.PutUint64(h[2:], uint64(n))
		l = 10
	}
	if !masked {
		return l
	}
	h[1] |= maskBit
	binary.LittleEndian.PutUint32(h[l:], key)
	return l + 4
}

// mask XORs p with the masking key, as read little-endian from the frame
// (masking and unmasking are the same operation).
func mask(p []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(key >> (8 * (i % 4)))
	}
}

// ClosePayload is the payload of a close frame: the status and as much
// of the reason as fits.
func ClosePayload(code int, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(p, reason[:min(len(reason), maxControl-2)]...)
}
