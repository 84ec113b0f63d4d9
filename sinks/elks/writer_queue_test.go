package elks

import (
	"testing"
	"time"
)

// The writer keeps the queue of a batch for the next, unless it was a
// burst's: the 30 messages of a call's first seconds are not kept (a
// queue holds pointers for every collection to scan), a window's refill
// is.
func TestWriterLetsABurstsQueueGo(t *testing.T) {
	s, _, _ := sessCall(t, Config{}, nil)
	wait := func(ch chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("the writer did not reach a flush marker in 10 s")
		}
	}
	// batch queues n flush markers at once (they write nothing) and
	// waits for the writer to pass them.
	batch := func(n int) {
		t.Helper()
		var last chan struct{}
		s.mu.Lock()
		for range n {
			last = make(chan struct{})
			s.enqueueLocked(outMsg{flush: last})
		}
		s.mu.Unlock()
		wait(last)
	}
	// queueCap is the capacity of the queue the writer gave back for
	// the batch after next: its next batch takes the queue it kept
	// from the last.
	queueCap := func() int {
		t.Helper()
		batch(1)
		s.mu.Lock()
		s.enqueueLocked(outMsg{flush: make(chan struct{})})
		c := cap(s.outq)
		s.mu.Unlock()
		return c
	}
	batch(30)
	if c := queueCap(); c >= 30 {
		t.Errorf("the queue of a burst of 30 was kept (capacity %d)", c)
	}
	batch(6)
	if c := queueCap(); c < 6 {
		t.Errorf("the queue of a batch of 6 was not kept (capacity %d)", c)
	}
}
