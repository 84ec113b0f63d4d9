package sinks

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "null",
		Kind:    pipeline.KindSink,
		Summary: "read the whole stream and discard it (for benchmarks and tests)",
		Example: "file in.mp3 | resample 8k | null",
		NewSink: func(pipeline.Args) (pipeline.Sink, error) {
			return Null(), nil
		},
	})
}

// NullSink reads its source to the end and discards the audio. It counts
// the frames it read, which makes it handy for benchmarks and tests.
type NullSink struct {
	frames atomic.Int64
}

// Null returns a new NullSink.
func Null() *NullSink { return &NullSink{} }

// Run reads src until it ends (returning nil), fails (returning its error)
// or ctx is cancelled (returning ctx.Err()). It does not close src.
func (s *NullSink) Run(ctx context.Context, src pipeline.Source) error {
	s.frames.Store(0)
	ch := src.Format().Channels
	if ch < 1 {
		return fmt.Errorf("source has %d channels", ch)
	}
	const chunk = 4096
	buf := make([]float32, chunk*ch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := src.Read(buf)
		if n < 0 || n > chunk {
			return fmt.Errorf("source returned %d frames for a %d-frame buffer", n, chunk)
		}
		s.frames.Add(int64(n))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Frames returns the number of frames read by the latest Run so far. It is
// safe to call while Run is going on.
func (s *NullSink) Frames() int64 { return s.frames.Load() }
