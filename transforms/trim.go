package transforms

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "trim",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "skip the start of the stream and/or keep only a given duration of it",
		Example:   "file in.wav | trim start=1.5s dur=10s | wav clip.wav",
		Details:   trimDetails,
		Extent: func(a pipeline.Args, in pipeline.Extent) pipeline.Extent {
			if a.Has("dur") {
				return pipeline.ExtentFinite
			}
			return in
		},
		Params: []pipeline.Param{
			{Name: "start", Type: pipeline.TypeDuration, Positional: true,
				Doc: "how much to skip at the start"},
			{Name: "dur", Type: pipeline.TypeDuration, Positional: true,
				Doc: "how much to keep after that (absent: to the end)"},
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			dur := ToEnd
			if a.Has("dur") {
				dur = a.Duration("dur")
			}
			return Trim(a.Duration("start"), dur)
		},
	})
}

// ToEnd, given as Trim's dur, keeps everything after start.
const ToEnd time.Duration = -1

// Trim returns a Transform that skips the first start of its input (reading
// and discarding it) and then passes at most dur of it, or everything to
// the end when dur is ToEnd (any negative duration). Both are rounded to the
// nearest whole frame at the input's rate, so the output has exactly
// round(dur × rate) frames unless the input ends first.
//
// The output knows its length when the input does; when it does not, the
// length is unknown even with dur, since the input may end sooner.
//
// When start is at or past the end of the input the output is empty: in a
// pipeline (ApplyContext) a pipeline.Warning event says so, when the
// stream is opened if the input's length is known, else when it ends.
func Trim(start, dur time.Duration) (pipeline.Transform, error) {
	if start < 0 {
		return nil, fmt.Errorf("trim start=%v is negative", start)
	}
	return trim{start: start, dur: dur}, nil
}

// trim is the Transform that Trim returns.
type trim struct{ start, dur time.Duration }

// Apply trims src; no warning goes anywhere (see ApplyContext).
func (tr trim) Apply(src pipeline.Source) (pipeline.Source, error) {
	return tr.ApplyContext(context.Background(), src)
}

// ApplyContext trims src and reports an empty result to the observer of
// ctx as a pipeline.Warning.
func (tr trim) ApplyContext(ctx context.Context, src pipeline.Source) (pipeline.Source, error) {
	f := src.Format()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	t := &trimmer{src: src, ch: f.Channels, skip: pipeline.FramesIn(tr.start, f.Rate), left: -1,
		ctx: ctx, start: tr.start, rate: f.Rate}
	if tr.dur >= 0 {
		t.left = pipeline.FramesIn(tr.dur, f.Rate)
	}
	t.length = -1
	if l := pipeline.FramesOf(src); l >= 0 {
		t.length = max(0, l-t.skip)
		if t.left >= 0 {
			t.length = min(t.length, t.left)
		}
		if t.skip > 0 && l <= t.skip {
			t.warnEmpty(l)
		}
	}
	return t, nil
}

type trimmer struct {
	src     pipeline.Source
	ch      int
	skip    int64 // frames still to discard
	left    int64 // frames still to pass, -1: all
	length  int64
	scratch []float32 // for discarding, allocated once
	done    bool

	ctx    context.Context // for the warning
	start  time.Duration   // as given, for the warning
	rate   int
	read   int64 // frames read from upstream while skipping
	passed int64 // frames passed on
	warned bool
}

// warnEmpty reports, once, that the input (of length frames) ends before
// start, so that the output is empty.
func (t *trimmer) warnEmpty(frames int64) {
	if t.warned {
		return
	}
	t.warned = true
	length := time.Duration(float64(frames) / float64(t.rate) * float64(time.Second))
	pipeline.Emit(t.ctx, pipeline.Event{Kind: pipeline.Warning, Stage: "trim",
		Err: fmt.Errorf("start=%v is at or past the end of the stream (%v long): the output is empty", t.start, length.Round(time.Millisecond))})
}

func (t *trimmer) Format() pipeline.Format { return t.src.Format() }

func (t *trimmer) Read(p []float32) (int, error) {
	frames := len(p) / t.ch
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	if t.done {
		return 0, io.EOF
	}
	if t.skip > 0 {
		if err := t.discard(); err != nil {
			if err == io.EOF {
				t.done = true
			}
			return 0, err
		}
	}
	if t.left == 0 {
		t.done = true
		return 0, io.EOF
	}
	if t.left > 0 && int64(frames) > t.left {
		frames = int(t.left)
	}
	n, err := t.src.Read(p[:frames*t.ch])
	if bad := checkUpstreamFrames(n, frames); bad != nil {
		return 0, bad
	}
	if t.left > 0 {
		t.left -= int64(n)
		if t.left == 0 && err == nil {
			err = io.EOF
		}
	}
	t.passed += int64(n)
	if err == io.EOF {
		t.done = true
		if t.passed == 0 && t.read > 0 {
			t.warnEmpty(t.read) // the input ended right where the output starts
		}
	}
	return n, err
}

// discard reads and drops t.skip frames from upstream.
func (t *trimmer) discard() error {
	if t.scratch == nil {
		t.scratch = make([]float32, int(min(t.skip, transformChunk))*t.ch)
	}
	for t.skip > 0 {
		want := int(min(t.skip, int64(len(t.scratch)/t.ch)))
		n, err := pipeline.ReadSome(t.src, t.scratch[:want*t.ch])
		if bad := checkUpstreamFrames(n, want); bad != nil {
			return bad
		}
		t.skip -= int64(n)
		t.read += int64(n)
		if err == io.EOF {
			t.warnEmpty(t.read)
		}
		if err != nil {
			return err // io.EOF: the input ended before (or where) the output starts
		}
	}
	t.scratch = nil
	return nil
}

// Frames is the trimmed length when the upstream's is known, else -1.
func (t *trimmer) Frames() int64 { return t.length }

// Close closes the upstream.
func (t *trimmer) Close() error { return pipeline.Close(t.src) }
