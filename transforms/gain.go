package transforms

import (
	"fmt"
	"math"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "gain",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "change the level by a number of decibels (no limiter: sinks clip what exceeds full scale)",
		Example:   "file greeting.mp3 | gain -3dB | wav quieter.wav",
		Details:   gainDetails,
		Params: []pipeline.Param{
			pipeline.Param{Name: "db", Type: pipeline.TypeGain, Positional: true, Required: true,
				Doc: "the change in dB, e.g. -6dB or +3"}.Range(minGain, maxGain),
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			return Gain(a.Float("db"))
		},
	})
}

// The range of levels Gain accepts, in dB.
const (
	minGain = -120
	maxGain = 60
)

// Gain returns a Transform that multiplies every sample by 10^(db/20): -6 dB
// is ×0.501187, +6 dB is ×1.995262. There is no limiter: samples pushed past
// ±1 stay so in the float stream and are clipped by the sink that writes
// integers. 0 dB returns the upstream untouched. It fails for a level that
// is not finite or lies outside -120..60 dB.
func Gain(db float64) (pipeline.Transform, error) {
	if math.IsNaN(db) || math.IsInf(db, 0) {
		return nil, fmt.Errorf("gain %v dB is not a finite level", db)
	}
	if db < minGain || db > maxGain {
		return nil, fmt.Errorf("gain %v dB out of range %d..%d dB", db, minGain, maxGain)
	}
	return pipeline.TransformFunc(func(src pipeline.Source) (pipeline.Source, error) {
		f := src.Format()
		if err := f.Validate(); err != nil {
			return nil, err
		}
		k := float32(pipeline.DBToAmplitude(db))
		if k == 1 {
			return src, nil
		}
		return &gainSource{src: src, ch: f.Channels, k: k}, nil
	}), nil
}

// scale multiplies every sample of x by k in place.
func scale(x []float32, k float32) {
	for i := range x {
		x[i] *= k
	}
}

type gainSource struct {
	src pipeline.Source
	ch  int
	k   float32
}

func (g *gainSource) Format() pipeline.Format { return g.src.Format() }

func (g *gainSource) Read(p []float32) (int, error) {
	frames := len(p) / g.ch
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	n, err := g.src.Read(p[:frames*g.ch])
	if bad := checkUpstreamFrames(n, frames); bad != nil {
		return 0, bad
	}
	scale(p[:n*g.ch], g.k)
	return n, err
}

// Frames is the upstream's length.
func (g *gainSource) Frames() int64 { return pipeline.FramesOf(g.src) }

// Close closes the upstream.
func (g *gainSource) Close() error { return pipeline.Close(g.src) }
