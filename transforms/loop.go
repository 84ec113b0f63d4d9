package transforms

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "loop",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "play everything before it again and again, gaplessly, re-opening it each time",
		Example:   "file hold.mp3 | gain -3 | loop 3 | wav out.wav",
		Details:   loopDetails,
		Extent: func(a pipeline.Args, in pipeline.Extent) pipeline.Extent {
			if a.Has("count") {
				return in
			}
			return pipeline.ExtentEndless
		},
		Params: []pipeline.Param{
			pipeline.Param{Name: "count", Type: pipeline.TypeInt, Positional: true,
				Doc: "how many times to play (absent: forever)"}.Range(1, 1e9),
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			return Loop(a.Int("count"))
		},
	})
}

// Loop returns a transform that plays its upstream count times (0: forever)
// by re-opening it through its Opener, never by seeking, so that every
// iteration is a fresh instance of everything upstream (`file x.wav | gain
// -3 | loop 3` repeats both). Joints are sample-exact: no frame is dropped,
// repeated or inserted between iterations. At each joint Read returns early
// and emits IterationEnded then IterationStarted to the observer of the
// Opener's context.
//
// The iterations of one instance share what their file sources keep (see
// sources.File): an iteration that finds its file deleted, truncated or
// unreadable plays the audio the earlier ones played, while the next
// instance (the next call) fails to open as before.
//
// Loop works on Openers: use it in a pipeline (Build calls Wrap). Apply,
// which has only one instance of the upstream, returns an error. A negative
// count is an error.
func Loop(count int) (pipeline.Transform, error) {
	if count < 0 {
		return nil, fmt.Errorf("loop count %d is negative", count)
	}
	return loop{count: count}, nil
}

type loop struct{ count int }

// ErrLoopNeedsOpener is returned by Loop's Apply: a loop must re-open its
// upstream, which a single Source cannot do.
var ErrLoopNeedsOpener = errors.New("loop re-opens its upstream, so it needs an Opener: use it in a pipeline or call Wrap")

func (l loop) Apply(pipeline.Source) (pipeline.Source, error) { return nil, ErrLoopNeedsOpener }

// Wrap returns an Opener whose sources play upstream l.count times.
func (l loop) Wrap(upstream pipeline.Opener) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		ctx, release := keep.Scope(ctx)
		// The iteration starts before upstream opens, so that the
		// events of what plays inside it (a playlist's first item)
		// come after it.
		pipeline.Emit(ctx, pipeline.Event{Kind: pipeline.IterationStarted, Stage: "loop", Index: 1})
		first, err := upstream(ctx)
		if err != nil {
			release()
			return nil, err
		}
		return &loopSource{ctx: ctx, release: release, open: upstream, count: l.count, iter: 1, cur: first,
			format: first.Format(), length: pipeline.FramesOf(first)}, nil
	}
}

type loopSource struct {
	ctx     context.Context
	release func() // frees what the iterations kept (keep.Scope)
	open    pipeline.Opener
	count   int // 0: forever
	iter    int // the iteration playing, from 1
	cur     pipeline.Source
	format  pipeline.Format
	length  int64 // frames of the first iteration, or -1
	frames  int64 // frames read in this iteration
	done    bool
}

func (s *loopSource) Format() pipeline.Format { return s.format }

// Frames is count × the upstream's length when both are known.
func (s *loopSource) Frames() int64 {
	if s.count == 0 || s.length < 0 {
		return -1
	}
	return int64(s.count) * s.length
}

func (s *loopSource) Read(p []float32) (int, error) {
	if len(p) < s.format.Channels {
		return 0, pipeline.ErrShortBuffer
	}
	for !s.done {
		n, err := s.cur.Read(p)
		s.frames += int64(n)
		switch {
		case err == nil:
			return n, nil
		case err != io.EOF:
			return n, err
		case n > 0:
			return n, nil // the joint is reported by the next call
		}
		if err := s.next(); err != nil {
			s.done = true
			return 0, err
		}
	}
	return 0, io.EOF
}

// next ends the current iteration and starts the following one, or ends
// the loop.
func (s *loopSource) next() error {
	pipeline.Emit(s.ctx, pipeline.Event{Kind: pipeline.IterationEnded, Stage: "loop", Index: s.iter})
	err := pipeline.Close(s.cur)
	s.cur = nil
	if err != nil {
		return err
	}
	if s.frames == 0 {
		return fmt.Errorf("iteration %d produced no audio; nothing to loop", s.iter)
	}
	if s.count > 0 && s.iter >= s.count {
		s.done = true
		return nil
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	pipeline.Emit(s.ctx, pipeline.Event{Kind: pipeline.IterationStarted, Stage: "loop", Index: s.iter + 1})
	src, err := s.open(s.ctx)
	if err != nil {
		return fmt.Errorf("re-opening for iteration %d: %w", s.iter+1, err)
	}
	if src.Format() != s.format {
		// A shuffled playlist may start with another item this time.
		conv, _, err := pipeline.Convert(src, s.format)
		if err != nil {
			pipeline.Close(src)
			return err
		}
		src = conv
	}
	s.cur, s.iter, s.frames = src, s.iter+1, 0
	return nil
}

// Close closes the iteration playing and frees what the iterations kept.
func (s *loopSource) Close() error {
	s.done = true
	var err error
	if s.cur != nil {
		err = pipeline.Close(s.cur)
		s.cur = nil
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
	return err
}
