package live

import (
	"context"
	"errors"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// errClosed is the error of a Read after Close.
var errClosed = errors.New("live: read after Close")

// Listener is one listener's Source of a live stream: endless, the audio
// of the stream as it comes, silence where there is none. It reads the
// stream's one ring of recent audio at a cursor of its own.
//
// Pacing: the listener keeps its own clock from its first Read, on which
// the reader is assumed to play in real time. Audio is handed out as it
// arrives; when none is waiting and the reader is less than Options.Lead
// ahead of its clock (an outage, or a server slower than the reader),
// silence is handed out instead (Padded). Audio waiting longer than
// Options.MaxLag behind the reader is dropped, oldest first, back to
// Options.Prefill (Dropped): a reader slower than the stream, or the burst
// of a reconnection, costs old audio, not latency. After an outage the
// listener plays on once Prefill of audio is waiting (at once with a
// server that sends a burst of recent audio, as Icecast does), so that it
// has a cushion against the network's jitter again.
type Listener struct {
	hub    *hub
	ctx    context.Context
	wake   chan struct{}
	closed chan struct{}

	// Guarded by hub.mu:
	format                pipeline.Format
	ready                 bool  // format and cursor set
	cursor                int64 // the next sample of hub.ring to hand out
	prefill, lead, maxLag int   // in frames
	pad                   int   // frames of silence added at a time
	t0                    time.Time
	out                   int64 // frames handed out
	dropped, padded       int64
	isClosed              bool
	// refill: the listener heard silence for an outage; it resumes once
	// Prefill of audio is waiting, so that it plays on with a cushion.
	refill bool
}

// Format is the stream's format, fixed by its first connection.
func (l *Listener) Format() pipeline.Format {
	l.hub.mu.Lock()
	defer l.hub.mu.Unlock()
	return l.format
}

// Live reports true: the audio depends on when the stream is opened, so
// it must not be rendered once and shared.
func (l *Listener) Live() bool { return true }

// Frames returns -1: a live stream has no length.
func (l *Listener) Frames() int64 { return -1 }

// Counts returns the frames this listener lost to lag (dropped) and the
// silent frames it was given (padded).
func (l *Listener) Counts() (dropped, padded int64) {
	l.hub.mu.Lock()
	defer l.hub.mu.Unlock()
	return l.dropped, l.padded
}

// Read hands out the stream's audio, or silence during an outage; it
// blocks while the reader is ahead of real time and no audio is waiting.
func (l *Listener) Read(p []float32) (int, error) {
	h := l.hub
	h.mu.Lock()
	ch := l.format.Channels
	h.mu.Unlock()
	frames := len(p) / ch
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	p = p[:frames*ch]
	for {
		now := time.Now()
		h.mu.Lock()
		if l.isClosed {
			h.mu.Unlock()
			return 0, errClosed
		}
		rate := l.format.Rate
		if l.t0.IsZero() {
			l.t0 = now
		}
		ahead := l.out - int64(now.Sub(l.t0).Seconds()*float64(rate))
		if ahead < -int64(l.maxLag) {
			// The reader stopped for a while: its clock starts again.
			l.t0 = now.Add(-time.Duration(float64(l.out) / float64(rate) * float64(time.Second)))
			ahead = 0
		}
		if old := h.ring.oldest(); l.cursor < old {
			l.dropped += (old - l.cursor) / int64(ch) // overwritten before it was read
			l.cursor = old
		}
		queued := int((h.ring.written - l.cursor) / int64(ch))
		if l.refill && queued >= l.prefill {
			l.refill = false
		}
		if queued > 0 && !l.refill {
			if over := int64(queued) + max(ahead, 0) - int64(l.maxLag); over > 0 {
				drop := min(int64(queued), int64(queued)+max(ahead, 0)-int64(l.prefill))
				l.cursor += drop * int64(ch)
				l.dropped += drop
			}
			n := h.ring.read(l.cursor, p) / ch
			if n > 0 {
				l.cursor += int64(n * ch)
				l.out += int64(n)
				h.mu.Unlock()
				return n, nil
			}
		}
		if ahead < int64(l.lead) {
			if h.down {
				l.refill = true
			}
			n := int(min(int64(frames), int64(l.lead+l.pad)-ahead))
			clear(p[:n*ch])
			l.out += int64(n)
			l.padded += int64(n)
			h.mu.Unlock()
			return n, nil
		}
		wait := time.Duration(float64(ahead-int64(l.lead)) / float64(rate) * float64(time.Second))
		h.mu.Unlock()
		t := time.NewTimer(wait + time.Millisecond)
		select {
		case <-l.wake:
		case <-t.C:
		case <-l.closed:
		case <-l.ctx.Done():
			t.Stop()
			return 0, context.Cause(l.ctx)
		}
		t.Stop()
	}
}

// Close leaves the stream; the connection closes after the linger when
// no listener is left. It may be called while a Read waits.
func (l *Listener) Close() error {
	h := l.hub
	h.mu.Lock()
	already := l.isClosed
	l.isClosed = true
	h.mu.Unlock()
	if !already {
		close(l.closed)
		h.leave(l)
	}
	return nil
}
