package audiotest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Pattern returns frames × ch interleaved samples that are all exactly
// representable and tell frames and channels apart: sample k (counting
// interleaved samples from 0) is (k mod 2048 − 1024) / 1024, a sawtooth
// through [-1, 1).
func Pattern(frames, ch int) []float32 {
	out := make([]float32, frames*ch)
	for i := range out {
		out[i] = float32(i%2048-1024) / 1024
	}
	return out
}

// Unsized returns src with its length hidden: the result does not implement
// pipeline.Lengther, like a live or endless source. Close passes through.
func Unsized(src pipeline.Source) pipeline.Source { return unsized{src} }

type unsized struct{ src pipeline.Source }

func (u unsized) Format() pipeline.Format       { return u.src.Format() }
func (u unsized) Read(p []float32) (int, error) { return u.src.Read(p) }
func (u unsized) Close() error                  { return pipeline.Close(u.src) }

// Endless is a Source that never ends: every sample is Value. It counts the
// frames it delivered and whether it was closed, for tests of sinks that
// must stop on cancel and stages that must close their upstream.
type Endless struct {
	F      pipeline.Format
	Value  float32
	frames atomic.Int64
	closed atomic.Bool
}

// Format returns e.F.
func (e *Endless) Format() pipeline.Format { return e.F }

// Read fills p with whole frames of e.Value.
func (e *Endless) Read(p []float32) (int, error) {
	n := len(p) / e.F.Channels
	if n == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	for i := range p[:n*e.F.Channels] {
		p[i] = e.Value
	}
	e.frames.Add(int64(n))
	return n, nil
}

// Close records that e was closed.
func (e *Endless) Close() error { e.closed.Store(true); return nil }

// Delivered returns the number of frames Read has delivered so far. Endless
// is not a pipeline.Lengther: its total length is unknown.
func (e *Endless) Delivered() int64 { return e.frames.Load() }

// Closed reports whether Close was called.
func (e *Endless) Closed() bool { return e.closed.Load() }

// Stuck is a broken Source that never ends and never delivers: every Read
// returns 0 frames and a nil error. It counts its reads, for tests that
// callers give up with io.ErrNoProgress instead of spinning.
type Stuck struct {
	F     pipeline.Format
	reads atomic.Int64
}

// Format returns s.F.
func (s *Stuck) Format() pipeline.Format { return s.F }

// Read returns 0, nil.
func (s *Stuck) Read(p []float32) (int, error) { s.reads.Add(1); return 0, nil }

// Reads returns the number of times Read was called.
func (s *Stuck) Reads() int64 { return s.reads.Load() }

// Within runs f and fails the test if it has not returned within d, so
// that a test of code that could loop forever fails instead of hanging the
// suite. It returns f's error.
func Within(t testing.TB, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still running after %v (a loop that never ends?)", d)
		return nil
	}
}
