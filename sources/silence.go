package sources

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// DefaultRate is the sample rate of generated sources (tone, dtmf, silence,
// noise) whose rate the user left open: 48000 Hz. Such sources also adapt to
// the format of their neighbours in a `+` sequence (see pipeline.Adaptable).
const DefaultRate = 48000

// DefaultChannels is the channel count of generated sources whose channel
// count the user left open: mono.
const DefaultChannels = 1

// SilenceOptions configures Silence.
type SilenceOptions struct {
	// Dur is the length; zero or negative means endless.
	Dur time.Duration
	// Rate is the sample rate in Hz; 0 means DefaultRate.
	Rate int
	// Channels is the channel count; 0 means DefaultChannels.
	Channels int
}

// Silence returns an Opener of digital silence (every sample exactly 0).
// When both Rate and Channels are 0 the opened source is
// pipeline.Adaptable: in a sequence it takes its neighbours' format.
func Silence(opt SilenceOptions) (pipeline.Opener, error) {
	build := func(f pipeline.Format) (*genSource, error) {
		return newGen(f, opt.Dur, silenceRenderer{}), nil
	}
	return genOpener(opt.Rate, opt.Channels, build)
}

type silenceRenderer struct{}

func (silenceRenderer) render(p []float32, _ int) { clear(p) }

// genRenderer writes the next len(p)/ch frames of a generated signal into p,
// interleaved with ch channels. Calls come in stream order, so a renderer
// may keep state, but its output depends only on the frame position, never
// on how the stream is cut into reads.
type genRenderer interface {
	render(p []float32, ch int)
}

// genSource is the Source of every generated element: it counts frames,
// ends the stream after total frames (never when total < 0) and lets its
// renderer fill the buffer in place.
type genSource struct {
	format pipeline.Format
	total  int64 // frames in all, -1 for endless
	pos    int64
	r      genRenderer
}

func newGen(f pipeline.Format, dur time.Duration, r genRenderer) *genSource {
	total := int64(-1)
	if dur > 0 {
		total = pipeline.FramesIn(dur, f.Rate)
	}
	return &genSource{format: f, total: total, r: r}
}

// Format returns the format the source generates.
func (g *genSource) Format() pipeline.Format { return g.format }

// Read generates the next frames into p.
func (g *genSource) Read(p []float32) (int, error) {
	ch := g.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	n := int64(len(p) / ch)
	if g.total >= 0 {
		n = min(n, g.total-g.pos)
		if n <= 0 {
			return 0, io.EOF
		}
	}
	g.r.render(p[:int(n)*ch], ch)
	g.pos += n
	return int(n), nil
}

// Frames returns the length in frames, -1 when endless.
func (g *genSource) Frames() int64 { return g.total }

// adaptiveSource is a genSource whose format the user left open: it can be
// rebuilt in any other format. Only it has the Adapt method, so that a
// generated source with a fixed format is not pipeline.Adaptable.
type adaptiveSource struct {
	*genSource
	build func(pipeline.Format) (*genSource, error)
}

// Adapt returns the same generated signal, from its start, in format f.
func (a *adaptiveSource) Adapt(f pipeline.Format) (pipeline.Source, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f == a.format && a.pos == 0 {
		return a, nil
	}
	return a.build(f)
}

// genOpener validates the format fields, builds one instance to validate the
// element's own options, and returns an Opener of fresh instances; they are
// adaptable when both rate and channels were left at 0.
func genOpener(rate, channels int, build func(pipeline.Format) (*genSource, error)) (pipeline.Opener, error) {
	adaptable := rate == 0 && channels == 0
	f := pipeline.Format{Rate: rate, Channels: channels}
	if f.Rate == 0 {
		f.Rate = DefaultRate
	}
	if f.Channels == 0 {
		f.Channels = DefaultChannels
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if _, err := build(f); err != nil {
		return nil, err
	}
	return func(context.Context) (pipeline.Source, error) {
		g, err := build(f)
		if err != nil {
			return nil, err
		}
		if adaptable {
			return &adaptiveSource{genSource: g, build: build}, nil
		}
		return g, nil
	}, nil
}

// Parameters shared by the generated elements.

func genRateParam() pipeline.Param {
	return pipeline.Param{Name: "rate", Type: pipeline.TypeRate, Default: "48000",
		Doc: "sample rate; when not given the source takes its neighbours' rate in a + sequence"}
}

func genChannelsParam() pipeline.Param {
	return pipeline.Param{Name: "channels", Type: pipeline.TypeInt, Default: "1",
		Doc: "channel count (every channel carries the same signal, except for noise)"}.Range(1, pipeline.MaxChannels)
}

// genFormatArgs returns the rate and channels the user gave, 0 for those not
// given.
func genFormatArgs(a pipeline.Args) (rate, channels int) {
	if a.Has("rate") {
		rate = a.Int("rate")
	}
	if a.Has("channels") {
		channels = a.Int("channels")
	}
	return rate, channels
}

// genDurArg returns the dur parameter, refusing an explicit zero (leaving the
// parameter out is how to ask for an endless stream).
func genDurArg(a pipeline.Args, name string) (time.Duration, error) {
	if !a.Has(name) {
		return 0, nil
	}
	d := a.Duration(name)
	if d <= 0 {
		return 0, fmt.Errorf("%s must be above zero (leave it out for an endless stream)", name)
	}
	return d, nil
}

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "silence",
		Kind:      pipeline.KindSource,
		Shareable: pipeline.Always,
		Summary:   "digital silence, for a duration or endless",
		Example:   "tone 1k dur=200ms + silence 300ms + tone 1k dur=200ms | wav beeps.wav",
		Details:   silenceDetails,
		Extent:    pipeline.EndlessWithout("dur"),
		Params: []pipeline.Param{
			{Name: "dur", Type: pipeline.TypeDuration, Positional: true,
				Doc: "length (leave out for endless silence)"},
			genRateParam(),
			genChannelsParam(),
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			dur, err := genDurArg(a, "dur")
			if err != nil {
				return nil, err
			}
			rate, ch := genFormatArgs(a)
			return Silence(SilenceOptions{Dur: dur, Rate: rate, Channels: ch})
		},
	})
}
