package wsframe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
)

// recordingConn is a connection that records each Write it is given.
type recordingConn struct {
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordingConn) Close() error { return nil }

// newRecorded returns a Conn of role writing to a recordingConn.
func newRecorded(role Role) (*Conn, *recordingConn) {
	rec := &recordingConn{}
	return New(role, rec, rec, nil, 1<<20), rec
}

// A corked batch goes out as one write holding the frames byte for byte,
// in order, with a control frame written in the middle (a pong the
// reader answered) where it came; uncorked, each message is one write.
func TestCorkBatchIsOneWrite(t *testing.T) {
	c, rec := newRecorded(Server)
	ctx := context.Background()
	long := bytes.Repeat([]byte("x"), 300)
	pong := []byte{0x8a, 0x01, 'p'}

	c.Cork()
	for _, m := range [][]byte{[]byte(`{"t":"sync"}`), long} {
		if err := c.WriteFrame(ctx, OpText, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WriteRaw(pong); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrame(ctx, OpText, []byte("z")); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes while corked, want none", len(rec.writes))
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 0x81, 12)
	want = append(want, `{"t":"sync"}`...)
	want = append(want, 0x81, 126, 0x01, 0x2c) // 300
	want = append(want, long...)
	want = append(want, pong...)
	want = append(want, 0x81, 1, 'z')
	if len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want) {
		t.Fatalf("writes %q, want one: %q", rec.writes, want)
	}

	if err := c.WriteFrame(ctx, OpText, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[1], []byte{0x81, 1, 'a'}) {
		t.Fatalf("uncorked: writes %q, want a second one of a frame", rec.writes)
	}
	if err := c.Uncork(); err != nil || len(rec.writes) != 2 {
		t.Fatalf("an empty uncork: %v, %d writes", err, len(rec.writes))
	}
}

// A payload longer than corkInline (a passthrough piece) is not copied
// into the batch: the batch so far, its header and the payload go out at
// once (one writev on a TCP connection; here, without one, the batch and
// the payload are two writes), and the frames after it are batched
// again. The bytes are the frames in order whatever the writes.
func TestCorkLongPayloadNotCopied(t *testing.T) {
	c, rec := newRecorded(Server)
	ctx := context.Background()
	long := bytes.Repeat([]byte("y"), corkInline+1)
	c.Cork()
	for _, m := range [][]byte{[]byte("a"), long, []byte("b")} {
		if err := c.WriteFrame(ctx, OpText, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[1], long) {
		t.Fatalf("%d writes before uncork, want the batch and the long payload itself", len(rec.writes))
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 0x81, 1, 'a')
	want = binary.BigEndian.AppendUint16(append(want, 0x81, 126), corkInline+1)
	want = append(want, long...)
	want = append(want, 0x81, 1, 'b')
	if len(rec.writes) != 3 || !bytes.Equal(bytes.Join(rec.writes, nil), want) {
		t.Fatalf("%d writes, not the three frames in order", len(rec.writes))
	}
}

// Once a close frame has gone out, no data frame follows it.
func TestCorkNoDataAfterClose(t *testing.T) {
	c, rec := newRecorded(Server)
	if _, err := c.WriteRaw([]byte{0x88, 0x02, 0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrame(context.Background(), OpText, []byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a message after the close frame: %v, want net.ErrClosed", err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d writes, want only the close frame's", len(rec.writes))
	}
}

// A close frame is not held back in a batch: the connection closes right
// after it.
func TestCorkCloseFrameNotHeld(t *testing.T) {
	c, rec := newRecorded(Server)
	c.Cork()
	if err := c.WriteFrame(context.Background(), OpText, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrame(context.Background(), OpClose, []byte{0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x81, 1, 'a', 0x88, 2, 0x03, 0xe8}; len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want) {
		t.Fatalf("writes %q, want one: %q", rec.writes, want)
	}
}

// A batch longer than batchFlush (the 2.5 s of audio a call starts with)
// goes out in writes of at most batchFlush, the frames whole and in
// order; and a batch of any length allocates nothing once the buffers
// are there.
func TestCorkLongBatchSplit(t *testing.T) {
	c, rec := newRecorded(Server)
	ctx := context.Background()
	msg := bytes.Repeat([]byte("m"), 4300) // 100 ms of pcm_16000
	c.Cork()
	var want []byte
	for range 25 {
		if err := c.WriteFrame(ctx, OpText, msg); err != nil {
			t.Fatal(err)
		}
		want = append(append(want, 0x81, 126, 0x10, 0xcc), msg...)
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) < 4 {
		t.Fatalf("%d writes of a %d-byte batch, want it split at %d bytes", len(rec.writes), len(want), batchFlush)
	}
	for i, w := range rec.writes {
		if len(w) > batchFlush {
			t.Fatalf("write %d: %d bytes, more than %d", i, len(w), batchFlush)
		}
	}
	if !bytes.Equal(bytes.Join(rec.writes, nil), want) {
		t.Fatal("the writes are not the frames in order")
	}

	if raceEnabled {
		return // the pool drops buffers at random
	}
	d := New(Server, discard{}, discard{}, nil, 1<<20)
	allocs := testing.AllocsPerRun(50, func() {
		d.Cork()
		for range 25 {
			d.WriteFrame(ctx, OpText, msg)
		}
		d.Uncork()
	})
	if allocs > 0.5 {
		t.Fatalf("%.1f allocations per batch of 25 messages, want none", allocs)
	}
}

// discard is a connection that takes every write.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }
