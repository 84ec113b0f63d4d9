package elkstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// scriptedTransport reads the messages it was given, in order, each from
// one buffer that the next read reuses (as the transports do), then
// io.EOF. As a messageAppender (appending) it appends them to the
// caller's buffer instead.
type scriptedTransport struct {
	msgs [][]byte
	buf  []byte
}

func (s *scriptedTransport) next() ([]byte, error) {
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

func (s *scriptedTransport) ReadMessage(context.Context) ([]byte, error) {
	m, err := s.next()
	if err != nil {
		return nil, err
	}
	s.buf = append(s.buf[:0], m...)
	return s.buf, nil
}

func (s *scriptedTransport) WriteMessage(context.Context, []byte) error { return nil }
func (s *scriptedTransport) Close() error                               { return nil }

type appendingTransport struct{ scriptedTransport }

func (a *appendingTransport) appendMessage(_ context.Context, dst []byte) ([]byte, error) {
	m, err := a.next()
	if err != nil {
		return dst, err
	}
	return append(dst, m...), nil
}

// scripted returns a transport that reads msgs: one that appends them to
// the reader's buffer (and is its appender) when appends, else one that
// reuses its own buffer (and no appender).
func scripted(msgs [][]byte, appends bool) (elks.Transport, messageAppender) {
	if appends {
		a := &appendingTransport{scriptedTransport{msgs: msgs}}
		return a, a
	}
	return &scriptedTransport{msgs: msgs}, nil
}

// A batch keeps every message's bytes as they were read, across the
// growths of its buffer, whether the transport reuses its own buffer (the
// reader copies) or appends to the batch's; no message can grow into the
// next; and a batch reused after recycle starts empty.
func TestBatchKeepsMessagesAcrossGrowth(t *testing.T) {
	sizes := []int{12, 1068, 0, 4268, 9000, 3, 20000}
	for _, appends := range []bool{false, true} {
		t.Run(fmt.Sprintf("appends=%v", appends), func(t *testing.T) {
			var want [][]byte
			for i, n := range sizes {
				m := make([]byte, n)
				for j := range m {
					m[j] = byte(i*31 + j)
				}
				want = append(want, m)
			}
			c := &call{free: make(chan *batch, keptBatches)}
			for round := range 2 {
				tr, appender := scripted(want, appends)
				c.conn = newSender(tr)
				b := c.batch() // round 1: the batch of round 0, if it was kept
				if len(b.evs) != 0 || len(b.data) != 0 {
					t.Fatalf("round %d: the batch starts with %d messages, %d bytes", round, len(b.evs), len(b.data))
				}
				for range sizes {
					ev, err := c.read(context.Background(), b, appender)
					if err != nil {
						t.Fatal(err)
					}
					b.evs = append(b.evs, ev)
				}
				if _, err := c.read(context.Background(), b, appender); err != io.EOF {
					t.Fatalf("after the last message: %v, want io.EOF", err)
				}
				for i, ev := range b.evs {
					if !bytes.Equal(ev.data, want[i]) || ev.data == nil {
						t.Fatalf("round %d: message %d holds %d bytes that differ from the %d read", round, i, len(ev.data), len(want[i]))
					}
					if ev.at.IsZero() {
						t.Fatalf("round %d: message %d not stamped", round, i)
					}
					if cap(ev.data) != len(ev.data) {
						t.Fatalf("round %d: message %d can grow into the next (cap %d, len %d)", round, i, cap(ev.data), len(ev.data))
					}
				}
				c.recycle(b)
			}
			if got := len(c.free); got != 0 {
				// A batch grown past maxKeptBatchBuffer is let go.
				t.Fatalf("%d batches of %d+ bytes kept", got, maxKeptBatchBuffer)
			}
		})
	}
	// A small batch is kept, and comes back empty; the messages read
	// into it then are whole.
	for _, appends := range []bool{false, true} {
		tr, appender := scripted([][]byte{[]byte(`{"t":"sync"}`), []byte("second"), []byte("third")}, appends)
		c := &call{free: make(chan *batch, keptBatches), conn: newSender(tr)}
		small := c.batch()
		if _, err := c.read(context.Background(), small, appender); err != nil {
			t.Fatal(err)
		}
		small.evs = append(small.evs, inbound{})
		c.recycle(small)
		again := c.batch()
		if again != small || len(again.evs) != 0 || len(again.data) != 0 {
			t.Fatalf("appends=%v: the small batch came back as %p (was %p) with %d messages, %d bytes", appends, again, small, len(again.evs), len(again.data))
		}
		for _, want := range []string{"second", "third"} {
			ev, err := c.read(context.Background(), again, appender)
			if err != nil || string(ev.data) != want {
				t.Fatalf("appends=%v: read %q, %v into the reused batch; want %q", appends, ev.data, err, want)
			}
			again.evs = append(again.evs, ev)
		}
		if string(again.evs[0].data) != "second" {
			t.Errorf("appends=%v: the first message became %q", appends, again.evs[0].data)
		}
	}
}
