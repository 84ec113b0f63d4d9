package sources

import (
	"fmt"
	"math"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Wave is the shape of a tone.
type Wave string

// The wave shapes of Tone. All but Sine are band-limited: they hold exactly
// the harmonics of the ideal shape that lie below half the sample rate, so
// nothing aliases.
const (
	// Sine starts at 0, rising.
	Sine Wave = "sine"
	// Square is +amp for the first half of each period, -amp for the
	// second; odd harmonics n at 1/n of 4/π·amp.
	Square Wave = "square"
	// Saw rises from -amp to +amp and drops back; it starts at 0, rising,
	// in the middle of its ramp. Harmonic n at 1/n of 2/π·amp.
	Saw Wave = "saw"
	// Triangle starts at 0, rising to +amp a quarter period later; odd
	// harmonics n at 1/n² of 8/π²·amp.
	Triangle Wave = "triangle"
)

// Sweep is how a tone's frequency moves from Freq to To.
type Sweep string

// The sweep laws.
const (
	// SweepLog moves the frequency exponentially (equal time per octave),
	// like sox's `synth DUR sine 20-20000`.
	SweepLog Sweep = "log"
	// SweepLinear moves the frequency linearly (equal time per Hz).
	SweepLinear Sweep = "linear"
)

// DefaultAmp is the peak amplitude of tone, dtmf and noise when none is
// given: -6 dBFS.
const DefaultAmp = 0.5011872336272722

// ToneOptions configures Tone.
type ToneOptions struct {
	// Freq is the frequency in Hz (the start frequency of a sweep). It must
	// lie above 0 and below half the sample rate.
	Freq float64
	// To, when not 0, makes the tone a sweep that reaches To Hz at the end
	// of Dur (which must then be set).
	To float64
	// Sweep is the sweep law; "" means SweepLog.
	Sweep Sweep
	// Wave is the shape; "" means Sine.
	Wave Wave
	// Amp is the peak amplitude of the ideal wave, from 0 (exclusive) to 1
	// (0 dBFS); 0 means DefaultAmp. Band-limited square and saw waves
	// overshoot it by up to 18% next to their jumps (the Gibbs phenomenon);
	// what would exceed full scale is clipped.
	Amp float64
	// Dur is the length, rounded to the nearest frame; zero or negative
	// means endless.
	Dur time.Duration
	// Rate is the sample rate in Hz; 0 means DefaultRate.
	Rate int
	// Channels is the channel count, every channel the same; 0 means
	// DefaultChannels.
	Channels int
	// Phase is the starting phase in degrees, 0 to 360.
	Phase float64
}

// Tone returns an Opener of a periodic tone or a sweep. The tone starts and
// stops abruptly, without fades (as sox's synth does); the sine's phase is
// computed from the frame index, so it neither drifts nor loses precision
// over hours. When both Rate and Channels are 0 the opened source is
// pipeline.Adaptable: in a sequence it takes its neighbours' format.
func Tone(opt ToneOptions) (pipeline.Opener, error) {
	if opt.Wave == "" {
		opt.Wave = Sine
	}
	if opt.Sweep == "" {
		opt.Sweep = SweepLog
	}
	if opt.Amp == 0 {
		opt.Amp = DefaultAmp
	}
	switch opt.Wave {
	case Sine, Square, Saw, Triangle:
	default:
		return nil, fmt.Errorf("unknown wave %q (sine, square, saw or triangle)", opt.Wave)
	}
	if opt.Sweep != SweepLog && opt.Sweep != SweepLinear {
		return nil, fmt.Errorf("unknown sweep %q (log or linear)", opt.Sweep)
	}
	if !(opt.Amp > 0 && opt.Amp <= 1) {
		return nil, fmt.Errorf("amplitude %g out of range: the peak must lie above 0 and at most 1 (0 dBFS)", opt.Amp)
	}
	if !(opt.Phase >= 0 && opt.Phase <= 360) {
		return nil, fmt.Errorf("phase %g° out of range 0..360", opt.Phase)
	}
	if opt.To != 0 && opt.Dur <= 0 {
		return nil, fmt.Errorf("a sweep (to=) needs a duration (dur=)")
	}
	build := func(f pipeline.Format) (*genSource, error) {
		r, err := newToneRenderer(opt, f.Rate)
		if err != nil {
			return nil, err
		}
		g := newGen(f, opt.Dur, r)
		r.setLength(g.total)
		return g, nil
	}
	return genOpener(opt.Rate, opt.Channels, build)
}

// genCheckFreq reports whether freq can be generated at rate.
func genCheckFreq(what string, freq float64, rate int) error {
	if !(freq > 0) || math.IsInf(freq, 0) {
		return fmt.Errorf("%s %g Hz must be above 0 Hz", what, freq)
	}
	if freq >= float64(rate)/2 {
		return fmt.Errorf("%s %g Hz is not below half the sample rate (%g Hz at %d Hz); raise rate= or lower the frequency",
			what, freq, float64(rate)/2, rate)
	}
	return nil
}

// toneOsc yields cos and sin of 2π(phase + n·freq/rate) for n = 0, 1, 2, ...
// It rotates a unit phasor once per sample and re-anchors it at the exactly
// computed phase every toneOscAnchor samples, so rounding never accumulates and
// the output depends only on n. The exact phase uses mod(n·freq, rate),
// which is exact for whole-Hz frequencies for as long as n·freq < 2^53.
type toneOsc struct {
	freq, rate, phase float64 // phase in cycles
	wc, ws            float64 // the rotation per sample
	c, s              float64
	n                 int64
}

const toneOscAnchor = 1024

func newToneOsc(freq float64, rate int, phase float64) toneOsc {
	o := toneOsc{freq: freq, rate: float64(rate), phase: phase}
	o.ws, o.wc = math.Sincos(2 * math.Pi * freq / float64(rate))
	return o
}

// reset restarts the oscillator at n = 0.
func (o *toneOsc) reset() { o.n = 0 }

func (o *toneOsc) exact(n int64) (c, s float64) {
	cyc := math.Mod(float64(n)*o.freq, o.rate)/o.rate + o.phase
	cyc -= math.Floor(cyc)
	s, c = math.Sincos(2 * math.Pi * cyc)
	return c, s
}

func (o *toneOsc) next() (c, s float64) {
	if o.n%toneOscAnchor == 0 {
		o.c, o.s = o.exact(o.n)
	}
	c, s = o.c, o.s
	o.c, o.s = c*o.wc-s*o.ws, s*o.wc+c*o.ws
	o.n++
	return c, s
}

// sines writes amp·sin of the next len(p)/ch phases into p, the same on
// all ch channels: next, unrolled into runs between anchors.
func (o *toneOsc) sines(p []float32, ch int, amp float64) {
	for i := 0; i < len(p); {
		k := o.n % toneOscAnchor
		if k == 0 {
			o.c, o.s = o.exact(o.n)
		}
		run := min(toneOscAnchor-k, int64((len(p)-i)/ch))
		c, s, wc, ws := o.c, o.s, o.wc, o.ws
		if ch == 1 {
			for j := range p[i : i+int(run)] {
				p[i+j] = float32(amp * s)
				c, s = c*wc-s*ws, s*wc+c*ws
			}
		} else {
			for j := i; j < i+int(run)*ch; j += ch {
				genFill(p[j:j+ch], float32(amp*s))
				c, s = c*wc-s*ws, s*wc+c*ws
			}
		}
		o.c, o.s = c, s
		o.n += run
		i += int(run) * ch
	}
}

// toneRenderer generates one tone or sweep.
type toneRenderer struct {
	amp  float64
	wave Wave
	rate float64

	// A steady tone.
	osc toneOsc
	// The band-limited series of a steady non-sine wave: coef[j] is the
	// amplitude of harmonic j+1 (all harmonics) or 2j+1 (odd ones).
	coef []float64
	odd  bool

	// A sweep.
	sweep           bool
	log             bool
	f0, f1, phase   float64
	t               float64 // the sweep's length in seconds
	lnk             float64 // ln(f1/f0)
	full            []float64
	taperLo, taperW float64
	n               int64
}

// The top of the band where a sweeping non-sine wave fades its harmonics
// out, as a fraction of the sample rate: a harmonic crossing half the rate
// fades smoothly instead of switching off with a click.
const sweepTaperStart = 0.45

func newToneRenderer(opt ToneOptions, rate int) (*toneRenderer, error) {
	if err := genCheckFreq("frequency", opt.Freq, rate); err != nil {
		return nil, err
	}
	r := &toneRenderer{amp: opt.Amp, wave: opt.Wave, rate: float64(rate)}
	phase := opt.Phase / 360
	if opt.To == 0 {
		r.osc = newToneOsc(opt.Freq, rate, phase)
		if opt.Wave != Sine {
			r.coef, r.odd = toneHarmonics(opt.Wave, opt.Amp, int(math.Ceil(float64(rate)/2/opt.Freq))-1)
		}
		return r, nil
	}
	if err := genCheckFreq("sweep end frequency", opt.To, rate); err != nil {
		return nil, err
	}
	r.sweep, r.log = true, opt.Sweep == SweepLog
	r.f0, r.f1, r.phase = opt.Freq, opt.To, phase
	r.lnk = math.Log(opt.To / opt.Freq)
	if opt.Wave != Sine {
		// Harmonics up to half the rate at the lowest frequency.
		r.full, r.odd = toneHarmonics(opt.Wave, opt.Amp, int(math.Ceil(float64(rate)/2/min(opt.Freq, opt.To)))-1)
		r.taperLo, r.taperW = sweepTaperStart*r.rate, (0.5-sweepTaperStart)*r.rate
		r.coef = make([]float64, len(r.full))
	}
	return r, nil
}

// setLength tells a sweep how many frames it lasts.
func (r *toneRenderer) setLength(frames int64) {
	r.t = float64(frames) / r.rate
}

// toneHarmonics returns the series coefficients of wave, scaled by amp, with
// every harmonic up to maxHarm (harmonic numbers, not indexes), and whether
// the series holds odd harmonics only.
func toneHarmonics(wave Wave, amp float64, maxHarm int) (coef []float64, odd bool) {
	maxHarm = max(maxHarm, 1)
	switch wave {
	case Square, Triangle:
		coef = make([]float64, (maxHarm+1)/2)
		for j := range coef {
			n := float64(2*j + 1)
			if wave == Square {
				coef[j] = amp * 4 / (math.Pi * n)
			} else {
				coef[j] = amp * 8 / (math.Pi * math.Pi * n * n)
				if j%2 == 1 {
					coef[j] = -coef[j]
				}
			}
		}
		return coef, true
	default: // Saw
		coef = make([]float64, maxHarm)
		for j := range coef {
			coef[j] = amp * 2 / (math.Pi * float64(j+1))
			if j%2 == 1 {
				coef[j] = -coef[j]
			}
		}
		return coef, false
	}
}

// toneSeries sums the harmonic series coef at phase angle θ given cos θ and
// sin θ, by Clenshaw's recurrence: sin((k+1)θ) for all harmonics, or
// sin((2j+1)θ) for odd ones, both advance as u[k+1] = α·u[k] − u[k-1].
func toneSeries(coef []float64, odd bool, c, s float64) float64 {
	alpha := 2 * c
	if odd {
		alpha = 2 * (2*c*c - 1) // 2·cos 2θ
	}
	var b1, b2 float64
	for j := len(coef) - 1; j >= 0; j-- {
		b1, b2 = coef[j]+alpha*b1-b2, b1
	}
	if odd {
		return (b1 + b2) * s
	}
	return b1 * s
}

func genClamp(v float64) float32 {
	if v > 1 {
		return 1
	}
	if v < -1 {
		return -1
	}
	return float32(v)
}

func (r *toneRenderer) render(p []float32, ch int) {
	switch {
	case r.sweep:
		r.renderSweep(p, ch)
	case r.wave == Sine:
		r.osc.sines(p, ch, r.amp)
	default:
		for i := 0; i < len(p); i += ch {
			c, s := r.osc.next()
			genFill(p[i:i+ch], genClamp(toneSeries(r.coef, r.odd, c, s)))
		}
	}
}

func genFill(p []float32, v float32) {
	for i := range p {
		p[i] = v
	}
}

// sweepAt returns the phase in cycles and the instantaneous frequency at
// time t seconds into a sweep.
func (r *toneRenderer) sweepAt(t float64) (cycles, freq float64) {
	if r.log && r.lnk != 0 {
		x := r.lnk * t / r.t
		return r.phase + r.f0*r.t/r.lnk*math.Expm1(x), r.f0 * math.Exp(x)
	}
	d := r.f1 - r.f0
	return r.phase + r.f0*t + d*t*t/(2*r.t), r.f0 + d*t/r.t
}

func (r *toneRenderer) renderSweep(p []float32, ch int) {
	for i := 0; i < len(p); i += ch {
		cyc, freq := r.sweepAt(float64(r.n) / r.rate)
		r.n++
		cyc -= math.Floor(cyc)
		s, c := math.Sincos(2 * math.Pi * cyc)
		var v float32
		if r.wave == Sine {
			v = float32(r.amp * s)
		} else {
			v = genClamp(toneSeries(r.sweepCoef(freq), r.odd, c, s))
		}
		genFill(p[i:i+ch], v)
	}
}

// sweepCoef returns the series to play at fundamental frequency freq: the
// harmonics below half the rate, those in the top band faded out by a
// raised cosine.
func (r *toneRenderer) sweepCoef(freq float64) []float64 {
	n := 0
	for j := range r.full {
		h := float64(j + 1)
		if r.odd {
			h = float64(2*j + 1)
		}
		hf := h * freq
		if hf >= r.rate/2 {
			break
		}
		w := 1.0
		if hf > r.taperLo {
			w = 0.5 + 0.5*math.Cos(math.Pi*(hf-r.taperLo)/r.taperW)
		}
		r.coef[j] = r.full[j] * w
		n = j + 1
	}
	return r.coef[:n]
}

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "tone",
		Kind:      pipeline.KindSource,
		Shareable: pipeline.Always,
		Summary:   "a sine, square, saw or triangle tone, or a sweep (band-limited, no aliasing)",
		Example:   "tone 440 dur=3s | wav out.wav",
		Details:   toneDetails,
		Extent:    pipeline.EndlessWithout("dur"),
		Params: []pipeline.Param{
			{Name: "freq", Type: pipeline.TypeFrequency, Positional: true, Required: true,
				Doc: "frequency in Hz, below half the sample rate (the start of a sweep)"},
			{Name: "to", Type: pipeline.TypeFrequency,
				Doc: "sweep to this frequency over dur (dur is then required)"},
			{Name: "sweep", Type: pipeline.TypeEnum, Default: "log", Choices: []string{"log", "linear"},
				Doc: "sweep law: log (equal time per octave) or linear"},
			{Name: "wave", Type: pipeline.TypeEnum, Default: "sine", Choices: []string{"sine", "square", "saw", "triangle"},
				Doc: "wave shape; all but sine are band-limited"},
			pipeline.Param{Name: "amp", Type: pipeline.TypeGain, Default: "-6dB",
				Doc: "peak level in dBFS (0 dBFS = full scale; square and saw overshoot it by up to 18%, clipped at full scale)"}.Range(-200, 0),
			{Name: "dur", Type: pipeline.TypeDuration,
				Doc: "length, rounded to the nearest frame (leave out for an endless tone)"},
			genRateParam(),
			genChannelsParam(),
			pipeline.Param{Name: "phase", Type: pipeline.TypeFloat, Default: "0",
				Doc: "starting phase in degrees"}.Range(0, 360),
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			dur, err := genDurArg(a, "dur")
			if err != nil {
				return nil, err
			}
			opt := ToneOptions{
				Freq:  a.Float("freq"),
				Sweep: Sweep(a.String("sweep")),
				Wave:  Wave(a.String("wave")),
				Amp:   pipeline.DBToAmplitude(a.Float("amp")),
				Dur:   dur,
				Phase: a.Float("phase"),
			}
			if a.Has("to") {
				opt.To = a.Float("to")
				if opt.To == 0 {
					return nil, fmt.Errorf("sweep end frequency must be above 0 Hz")
				}
			}
			opt.Rate, opt.Channels = genFormatArgs(a)
			return Tone(opt)
		},
	})
}
