package transforms

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	names := append([]string(nil), fadeShapeNames...)
	pipeline.Register(pipeline.Element{
		Name:      "fade",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "fade in from silence at the start and out to silence at the end",
		Example:   "tone 440 dur=3s | fade in=200ms out=500ms | wav out.wav",
		Details:   fadeDetails,
		Params: []pipeline.Param{
			{Name: "in", Type: pipeline.TypeDuration, Positional: true,
				Doc: "length of the fade-in at the start"},
			{Name: "out", Type: pipeline.TypeDuration, Positional: true,
				Doc: "length of the fade-out at the end (needs a stream of known length)"},
			{Name: "shape", Type: pipeline.TypeEnum, Choices: names, Default: FadeHalfSine.String(),
				Doc: "curve: hsin (S-curve), linear, qsin (quarter sine), ipar (inverted parabola), log (-100 dB..0 dB)"},
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			shape, err := ParseFadeShape(a.String("shape"))
			if err != nil {
				return nil, err
			}
			if !a.Has("in") && !a.Has("out") {
				return nil, fmt.Errorf("give in=DURATION, out=DURATION or both")
			}
			return Fade(a.Duration("in"), a.Duration("out"), shape)
		},
	})
}

// FadeShape is the curve of a fade: the gain as a function of the position
// x in the fade, from 0 (silence) to 1 (full level). The zero value is
// FadeHalfSine, the default. The shapes are those of SoX's fade effect.
type FadeShape int

// The fade shapes, with the gain they reach halfway through the fade.
const (
	// FadeHalfSine is (1 − cos πx)/2, an S-curve that leaves silence and
	// reaches full level with zero slope, so neither end has an audible
	// corner; -6 dB halfway. SoX's "h".
	FadeHalfSine FadeShape = iota
	// FadeLinear is x: a straight ramp of amplitude; -6 dB halfway. SoX's "t".
	FadeLinear
	// FadeQuarterSine is sin(πx/2): rises quickly, -3 dB halfway (constant
	// power when crossfading). SoX's "q".
	FadeQuarterSine
	// FadeInvertedParabola is 1 − (1−x)²: rises quickly, -2.5 dB halfway.
	// SoX's "p".
	FadeInvertedParabola
	// FadeLog is 0.1^(5(1−x)): a straight line in decibels from -100 dB to
	// 0 dB, -50 dB halfway, starting from silence. SoX's "l".
	FadeLog
)

var fadeShapeNames = []string{
	FadeHalfSine:         "hsin",
	FadeLinear:           "linear",
	FadeQuarterSine:      "qsin",
	FadeInvertedParabola: "ipar",
	FadeLog:              "log",
}

// String returns the shape's name in pipe syntax, e.g. "hsin".
func (s FadeShape) String() string {
	if s >= 0 && int(s) < len(fadeShapeNames) {
		return fadeShapeNames[s]
	}
	return fmt.Sprintf("FadeShape(%d)", int(s))
}

// ParseFadeShape returns the shape called name (hsin, linear, qsin, ipar or
// log); "" means the default, FadeHalfSine.
func ParseFadeShape(name string) (FadeShape, error) {
	if name == "" {
		return FadeHalfSine, nil
	}
	for i, n := range fadeShapeNames {
		if strings.EqualFold(n, name) {
			return FadeShape(i), nil
		}
	}
	return 0, fmt.Errorf("unknown fade shape %q (use %s)", name, strings.Join(fadeShapeNames, ", "))
}

// Gain returns the shape's gain at position x of a fade-in, x clamped to
// [0, 1]: 0 at x = 0, 1 at x = 1. A fade-out uses the same curve reversed.
func (s FadeShape) Gain(x float64) float64 {
	if !(x > 0) { // also NaN
		return 0
	}
	if x >= 1 {
		return 1
	}
	switch s {
	case FadeLinear:
		return x
	case FadeQuarterSine:
		return math.Sin(x * math.Pi / 2)
	case FadeInvertedParabola:
		return 1 - (1-x)*(1-x)
	case FadeLog:
		return math.Pow(0.1, (1-x)*5)
	}
	return (1 - math.Cos(x*math.Pi)) / 2
}

// Fade returns a Transform that fades its input in over the first in and out
// over the last out of the stream, along shape. With fade-in length N frames
// (in × rate, rounded), frame i < N is scaled by shape.Gain(i/N): the first
// frame is silent and frame N plays at full level. The fade-out is the exact
// mirror image: counting from the last frame backwards, so the last frame is
// silent. When the two overlap (in + out longer than the stream) both gains
// apply.
//
// Fade-out needs the stream's length: Apply fails, saying so, when the
// upstream does not know it (an endless loop, a tone without dur=); put a
// trim with dur= before the fade. Fade-in works on any stream.
//
// A stream shorter than its fades never plays at full level: in a pipeline
// (ApplyContext) a pipeline.Warning event says so, when the stream is
// opened if its length is known (with out), else when it ends.
func Fade(in, out time.Duration, shape FadeShape) (pipeline.Transform, error) {
	if in < 0 || out < 0 {
		return nil, fmt.Errorf("fade lengths must not be negative (in=%v out=%v)", in, out)
	}
	if shape < 0 || int(shape) >= len(fadeShapeNames) {
		return nil, fmt.Errorf("unknown fade shape %d", int(shape))
	}
	return fade{in: in, out: out, shape: shape}, nil
}

// fade is the Transform that Fade returns.
type fade struct {
	in, out time.Duration
	shape   FadeShape
}

// Apply fades src; no warning goes anywhere (see ApplyContext).
func (fd fade) Apply(src pipeline.Source) (pipeline.Source, error) {
	return fd.ApplyContext(context.Background(), src)
}

// ApplyContext fades src and reports a stream too short for its fades to
// the observer of ctx as a pipeline.Warning: when it is opened if its
// length is known (with out), else when it ends before the fade-in does.
func (fd fade) ApplyContext(ctx context.Context, src pipeline.Source) (pipeline.Source, error) {
	f := src.Format()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &fader{src: src, ch: f.Channels, shape: fd.shape,
		inN: pipeline.FramesIn(fd.in, f.Rate), outN: pipeline.FramesIn(fd.out, f.Rate),
		ctx: ctx, in: fd.in, out: fd.out, rate: f.Rate}
	if s.outN > 0 {
		s.length = pipeline.FramesOf(src)
		if s.length < 0 {
			return nil, fmt.Errorf("cannot fade out over %v: the length of the stream is unknown "+
				"(an endless loop, or a source without dur=); put trim dur=... before the fade", fd.out)
		}
		if s.length > 0 && s.inN+s.outN > s.length {
			s.warnShort(s.length)
		}
	}
	return s, nil
}

type fader struct {
	src    pipeline.Source
	ch     int
	shape  FadeShape
	inN    int64 // fade-in length in frames
	outN   int64 // fade-out length in frames (0: none)
	length int64 // stream length in frames, when outN > 0
	pos    int64 // frames delivered so far

	ctx     context.Context // for the warning
	in, out time.Duration   // as given, for the warning
	rate    int
	warned  bool
}

// warnShort reports, once, that the stream (of length frames) is shorter
// than its fades, so that it never plays at full level.
func (s *fader) warnShort(frames int64) {
	if s.warned {
		return
	}
	s.warned = true
	length := time.Duration(float64(frames) / float64(s.rate) * float64(time.Second)).Round(time.Millisecond)
	var fades string
	switch {
	case s.outN == 0:
		fades = fmt.Sprintf("in=%v is", s.in)
	case s.inN == 0:
		fades = fmt.Sprintf("out=%v is", s.out)
	default:
		fades = fmt.Sprintf("in=%v + out=%v are", s.in, s.out)
	}
	pipeline.Emit(s.ctx, pipeline.Event{Kind: pipeline.Warning, Stage: "fade",
		Err: fmt.Errorf("%s longer than the stream (%v): it never plays at full level", fades, length)})
}

func (s *fader) Format() pipeline.Format { return s.src.Format() }

func (s *fader) Read(p []float32) (int, error) {
	frames := len(p) / s.ch
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	n, err := s.src.Read(p[:frames*s.ch])
	if bad := checkUpstreamFrames(n, frames); bad != nil {
		return 0, bad
	}
	s.apply(p[:n*s.ch], s.pos)
	s.pos += int64(n)
	if err == io.EOF && s.pos > 0 && s.pos < s.inN+s.outN {
		s.warnShort(s.pos)
	}
	return n, err
}

// apply scales the frames in p, the first of which is frame pos of the
// stream, by the fade gains.
func (s *fader) apply(p []float32, pos int64) {
	n := int64(len(p) / s.ch)
	outStart := int64(math.MaxInt64)
	if s.outN > 0 {
		outStart = s.length - s.outN
	}
	if pos >= s.inN && pos+n <= outStart {
		return
	}
	for f := int64(0); f < n; f++ {
		i := pos + f
		g := 1.0
		if i < s.inN {
			g = s.shape.Gain(float64(i) / float64(s.inN))
		}
		if i >= outStart {
			g *= s.shape.Gain(float64(s.length-1-i) / float64(s.outN))
		}
		if g == 1 {
			continue
		}
		k := float32(g)
		fr := p[f*int64(s.ch) : (f+1)*int64(s.ch)]
		for c := range fr {
			fr[c] *= k
		}
	}
}

// Frames is the upstream's length.
func (s *fader) Frames() int64 { return pipeline.FramesOf(s.src) }

// Close closes the upstream.
func (s *fader) Close() error { return pipeline.Close(s.src) }
