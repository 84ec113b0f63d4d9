package sources

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// NoiseOptions configures Noise.
type NoiseOptions struct {
	// Dur is the length; zero or negative means endless.
	Dur time.Duration
	// Amp is the peak amplitude, from 0 (exclusive) to 1; 0 means
	// DefaultAmp. Uniform noise has an RMS level of Amp/√3, 4.77 dB below
	// its peak.
	Amp float64
	// Seed picks the noise: the same seed gives the same samples.
	Seed uint64
	// Rate is the sample rate in Hz; 0 means DefaultRate.
	Rate int
	// Channels is the channel count; 0 means DefaultChannels. Each channel
	// carries its own noise.
	Channels int
}

// Noise returns an Opener of white noise: independent samples spread
// uniformly over [-Amp, Amp), drawn from a PCG generator seeded with Seed,
// so the same options always give the same noise (every open starts it
// anew). Channels are independent of each other. When both Rate and
// Channels are 0 the opened source is pipeline.Adaptable: in a sequence it
// takes its neighbours' format.
func Noise(opt NoiseOptions) (pipeline.Opener, error) {
	if opt.Amp == 0 {
		opt.Amp = DefaultAmp
	}
	if !(opt.Amp > 0 && opt.Amp <= 1) {
		return nil, fmt.Errorf("amplitude %g out of range: the peak must lie above 0 and at most 1 (0 dBFS)", opt.Amp)
	}
	build := func(f pipeline.Format) (*genSource, error) {
		r := &noiseRenderer{scale: 2 * opt.Amp / (1 << 53), amp: opt.Amp}
		r.rng.Seed(opt.Seed, noiseStream)
		return newGen(f, opt.Dur, r), nil
	}
	return genOpener(opt.Rate, opt.Channels, build)
}

// noiseStream is the second PCG seed word, fixed so that Seed alone picks
// the noise.
const noiseStream = 0x656c6b7370697065 // "elkspipe"

type noiseRenderer struct {
	rng   rand.PCG
	scale float64 // 2·amp / 2^53
	amp   float64
}

func (r *noiseRenderer) render(p []float32, _ int) {
	for i := range p {
		// 53 random bits give a uniform value in [0, 2·amp), shifted to
		// [-amp, amp).
		p[i] = float32(float64(r.rng.Uint64()>>11)*r.scale - r.amp)
	}
}

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "noise",
		Kind:      pipeline.KindSource,
		Shareable: pipeline.Always,
		Summary:   "white noise (uniform, the same for the same seed)",
		Example:   "noise 5s amp=-20dB | wav noise.wav",
		Details:   noiseDetails,
		Extent:    pipeline.EndlessWithout("dur"),
		Params: []pipeline.Param{
			{Name: "dur", Type: pipeline.TypeDuration, Positional: true,
				Doc: "length (leave out for endless noise)"},
			pipeline.Param{Name: "amp", Type: pipeline.TypeGain, Default: "-6dB",
				Doc: "peak level in dBFS; the RMS level is 4.77 dB lower"}.Range(-200, 0),
			{Name: "seed", Type: pipeline.TypeInt, Default: "1",
				Doc: "picks the noise: the same seed gives the same samples"},
			{Name: "color", Type: pipeline.TypeEnum, Default: "white", Choices: []string{"white"},
				Doc: "spectrum of the noise (white: flat)"},
			genRateParam(),
			genChannelsParam(),
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			dur, err := genDurArg(a, "dur")
			if err != nil {
				return nil, err
			}
			opt := NoiseOptions{
				Dur:  dur,
				Amp:  pipeline.DBToAmplitude(a.Float("amp")),
				Seed: uint64(a.Int("seed")),
			}
			opt.Rate, opt.Channels = genFormatArgs(a)
			return Noise(opt)
		},
	})
}
