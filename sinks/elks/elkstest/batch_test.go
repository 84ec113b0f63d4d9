package elkstest

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// A batch keeps every message's bytes as they were read, across the
// growths of its buffer (the transport reuses its own), and a batch
// reused after recycle starts empty.
func TestBatchKeepsMessagesAcrossGrowth(t *testing.T) {
	c := &call{free: make(chan *batch, keptBatches)}
	for round := range 2 {
		b := c.batch()
		if len(b.evs) != 0 || len(b.data) != 0 {
			t.Fatalf("round %d: the batch starts with %d messages, %d bytes", round, len(b.evs), len(b.data))
		}
		reused := make([]byte, 0, 64<<10) // as the transport's buffer
		var want [][]byte
		for i, n := range []int{12, 1068, 0, 4268, 9000, 3, 20000} {
			reused = reused[:n]
			for j := range reused {
				reused[j] = byte(i*31 + j)
			}
			want = append(want, bytes.Clone(reused))
			b.add(inbound{at: time.Unix(int64(i), 0)}, reused)
		}
		for i, ev := range b.evs {
			if !bytes.Equal(ev.data, want[i]) || ev.data == nil {
				t.Fatalf("round %d: message %d holds %d bytes that differ from the %d read", round, i, len(ev.data), len(want[i]))
			}
			if ev.at != time.Unix(int64(i), 0) {
				t.Fatalf("round %d: message %d stamped %v", round, i, ev.at)
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
	small := c.batch()
	small.add(inbound{}, []byte(fmt.Sprint("sync")))
	c.recycle(small)
	if got := len(c.free); got != 1 {
		t.Fatalf("a small batch was not kept for reuse (%d kept)", got)
	}
}
