package audiotest

import (
	"sync/atomic"

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
