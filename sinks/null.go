package sinks

import (
	"context"
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
// or ctx is cancelled (returning ctx.Err()). It does not close src. A nil
// src or one with an invalid format is an error.
func (s *NullSink) Run(ctx context.Context, src pipeline.Source) error {
	s.frames.Store(0)
	if err := checkSource(src); err != nil {
		return err
	}
	ch := int64(src.Format().Channels)
	return drain(ctx, src, 4096, func(samples []float32) error {
		s.frames.Add(int64(len(samples)) / ch)
		return nil
	})
}

// Frames returns the number of frames read by the latest Run so far. It is
// safe to call while Run is going on.
func (s *NullSink) Frames() int64 { return s.frames.Load() }
