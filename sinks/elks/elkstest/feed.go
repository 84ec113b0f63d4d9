package elkstest

import (
	"errors"
	"io"
	"sync"
)

// errAborted is what an aborted feed returns to its decoder.
var errAborted = errors.New("interrupted")

// byteFeed is an io.Reader of bytes pushed by another goroutine. Read blocks
// while it is empty, calling idle first (once per position).
type byteFeed struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	off    int
	closed bool
	err    error
	read   int64
	idle   func(consumed int64)
	idled  int64 // position of the last idle call, -1 before any
	first  []byte
	// marks are the positions of the syncs inside the bytes pushed,
	// ascending: Read never crosses one, and reports reaching it through
	// idle as if the bytes ran out there, so that a sync is answered once
	// the audio decoded from the bytes before it has played, not the
	// audio after it that the decoder's read-ahead would otherwise take.
	marks []int64
}

// mark records a sync after the bytes pushed so far.
func (f *byteFeed) mark() {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A sync right after the bytes the decoder has read still needs a
	// mark unless the decoder has already reported running out there: it
	// may be decoding them yet, and the bytes pushed next would otherwise
	// let it read on without ever reporting this position.
	pos := f.read + int64(len(f.buf)-f.off)
	if pos > f.idled && (len(f.marks) == 0 || f.marks[len(f.marks)-1] < pos) {
		f.marks = append(f.marks, pos)
	}
}

// head returns the first bytes pushed (up to 12).
func (f *byteFeed) head() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

func newByteFeed(idle func(int64)) *byteFeed {
	f := &byteFeed{idle: idle, idled: -1}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *byteFeed) push(b []byte) {
	f.mu.Lock()
	if f.off == len(f.buf) {
		f.buf, f.off = f.buf[:0], 0
	}
	f.buf = append(f.buf, b...)
	if len(f.first) < 12 {
		f.first = append(f.first, b[:min(len(b), 12-len(f.first))]...)
	}
	f.mu.Unlock()
	f.cond.Signal()
}

// close ends the stream after the bytes pushed so far.
func (f *byteFeed) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cond.Signal()
}

// abort makes every Read fail at once.
func (f *byteFeed) abort() {
	f.mu.Lock()
	f.closed, f.err = true, errAborted
	f.mu.Unlock()
	f.cond.Signal()
}

func (f *byteFeed) consumed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read
}

func (f *byteFeed) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.marks) > 0 && f.marks[0] <= f.read {
		f.marks = f.marks[1:]
		if f.idled != f.read && f.off < len(f.buf) {
			// At a sync, with bytes after it: report as if they ran out.
			f.idled = f.read
			pos := f.read
			f.mu.Unlock()
			f.idle(pos)
			f.mu.Lock()
		}
	}
	for f.off == len(f.buf) && !f.closed {
		if f.idled != f.read {
			f.idled = f.read
			pos := f.read
			f.mu.Unlock()
			f.idle(pos)
			f.mu.Lock()
			continue
		}
		f.cond.Wait()
	}
	if f.err != nil {
		return 0, f.err
	}
	if f.off == len(f.buf) {
		return 0, io.EOF
	}
	end := len(f.buf)
	if len(f.marks) > 0 {
		end = min(end, f.off+int(f.marks[0]-f.read))
	}
	n := copy(p, f.buf[f.off:end])
	f.off += n
	f.read += int64(n)
	return n, nil
}
