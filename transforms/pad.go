package transforms

import (
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "pad",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "add silence before and/or after the stream",
		Example:   "file prompt.wav | pad before=500ms after=1s | wav padded.wav",
		Details:   padDetails,
		Params: []pipeline.Param{
			{Name: "before", Type: pipeline.TypeDuration, Positional: true,
				Doc: "silence to play before the stream"},
			{Name: "after", Type: pipeline.TypeDuration, Positional: true,
				Doc: "silence to play after the stream ends"},
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			return Pad(a.Duration("before"), a.Duration("after"))
		},
	})
}

// Pad returns a Transform that plays before of silence, then its input, then
// after of silence. Both are rounded to the nearest whole frame at the
// input's rate. The output knows its length when the input does.
func Pad(before, after time.Duration) (pipeline.Transform, error) {
	if before < 0 || after < 0 {
		return nil, fmt.Errorf("pad lengths must not be negative (before=%v after=%v)", before, after)
	}
	return pipeline.TransformFunc(func(src pipeline.Source) (pipeline.Source, error) {
		f := src.Format()
		if err := f.Validate(); err != nil {
			return nil, err
		}
		s := &padder{src: src, ch: f.Channels,
			before: pipeline.FramesIn(before, f.Rate), after: pipeline.FramesIn(after, f.Rate), length: -1}
		if l := pipeline.FramesOf(src); l >= 0 {
			s.length = l + s.before + s.after
		}
		return s, nil
	}), nil
}

type padder struct {
	src           pipeline.Source
	ch            int
	before, after int64 // frames of silence still to play
	upstreamDone  bool
	length        int64 // total frames, or -1
}

func (s *padder) Format() pipeline.Format { return s.src.Format() }

func (s *padder) Read(p []float32) (int, error) {
	frames := len(p) / s.ch
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	if s.before > 0 {
		n := int(min(int64(frames), s.before))
		clear(p[:n*s.ch])
		s.before -= int64(n)
		return n, nil
	}
	if !s.upstreamDone {
		n, err := s.src.Read(p[:frames*s.ch])
		if bad := checkUpstreamFrames(n, frames); bad != nil {
			return 0, bad
		}
		if err != io.EOF {
			return n, err
		}
		s.upstreamDone = true
		if n > 0 {
			return n, nil
		}
	}
	if s.after == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(frames), s.after))
	clear(p[:n*s.ch])
	s.after -= int64(n)
	return n, nil
}

// Frames is the upstream's length plus the padding, or -1 when the upstream's
// is unknown.
func (s *padder) Frames() int64 { return s.length }

// Close closes the upstream.
func (s *padder) Close() error { return pipeline.Close(s.src) }
