package sources

import (
	"fmt"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// DTMFOptions configures DTMF.
type DTMFOptions struct {
	// Digits to dial: 0-9, *, #, A-D (a-d too), and , for a pause.
	Digits string
	// Tone is how long each digit sounds; 0 means 100 ms.
	Tone time.Duration
	// Gap is the silence after each digit; 0 means 100 ms, negative none.
	Gap time.Duration
	// Pause is the silence a comma stands for; 0 means 500 ms.
	Pause time.Duration
	// Amp is the peak amplitude of the two-tone sum, from 0 (exclusive) to
	// 1; each of the two tones gets half of it (6 dB less). 0 means
	// DefaultAmp.
	Amp float64
	// Rate is the sample rate in Hz; 0 means DefaultRate. It must exceed
	// twice the highest frequency of the digits dialled: 3266 Hz for A-D,
	// 2954 Hz for 3, 6, 9 and #, and so on.
	Rate int
	// Channels is the channel count, every channel the same; 0 means
	// DefaultChannels.
	Channels int
}

// The DTMF frequencies in Hz (ITU-T Q.23): a digit sounds one row and one
// column frequency together.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
)

const dtmfKeys = "123A456B789C*0#D"

// DTMFFrequencies returns the row (low) and column (high) frequencies in Hz
// of a DTMF digit (0-9, *, #, A-D or a-d), and false for any other rune.
func DTMFFrequencies(digit rune) (low, high float64, ok bool) {
	i := strings.IndexRune(dtmfKeys, digit)
	if i < 0 && digit >= 'a' && digit <= 'd' {
		i = strings.IndexRune(dtmfKeys, digit-'a'+'A')
	}
	if i < 0 {
		return 0, 0, false
	}
	return dtmfRows[i/4], dtmfCols[i%4], true
}

// DTMF returns an Opener of the DTMF tones of opt.Digits: each digit sounds
// its two frequencies, each at half the amplitude Amp, for Tone, followed by
// Gap of silence; a comma is Pause of silence. Lengths are rounded to whole
// frames for each part separately, so every digit lasts exactly as long.
// The tones start at phase 0 and stop abruptly, without fades; the two
// tones have equal level (no twist). When both Rate and Channels are 0 the
// opened source is pipeline.Adaptable: in a sequence it takes its
// neighbours' format.
func DTMF(opt DTMFOptions) (pipeline.Opener, error) {
	if opt.Tone == 0 {
		opt.Tone = 100 * time.Millisecond
	}
	if opt.Gap == 0 {
		opt.Gap = 100 * time.Millisecond
	}
	if opt.Pause == 0 {
		opt.Pause = 500 * time.Millisecond
	}
	if opt.Amp == 0 {
		opt.Amp = DefaultAmp
	}
	if opt.Tone < 0 || opt.Pause < 0 {
		return nil, fmt.Errorf("tone and pause durations must be positive")
	}
	if !(opt.Amp > 0 && opt.Amp <= 1) {
		return nil, fmt.Errorf("amplitude %g out of range: the peak must lie above 0 and at most 1 (0 dBFS)", opt.Amp)
	}
	if opt.Digits == "" {
		return nil, fmt.Errorf("no digits to dial: give some of 0-9, *, #, A-D, and , for a pause")
	}
	highest, highDigit := 0.0, rune(0) // the highest frequency the digits sound
	for i, d := range []rune(opt.Digits) {
		_, high, ok := DTMFFrequencies(d)
		if !ok && d != ',' {
			return nil, fmt.Errorf("%q (character %d of %q) is not a DTMF digit: use 0-9, *, #, A-D, and , for a pause",
				d, i+1, opt.Digits)
		}
		if high > highest {
			highest, highDigit = high, d
		}
	}
	build := func(f pipeline.Format) (*genSource, error) {
		if highest >= float64(f.Rate)/2 {
			return nil, fmt.Errorf("digit %q sounds %g Hz, which is not below half the sample rate (%g Hz at %d Hz); raise rate=",
				highDigit, highest, float64(f.Rate)/2, f.Rate)
		}
		r := &dtmfRenderer{amp: opt.Amp / 2}
		tone := pipeline.FramesIn(opt.Tone, f.Rate)
		gap := int64(0)
		if opt.Gap > 0 {
			gap = pipeline.FramesIn(opt.Gap, f.Rate)
		}
		pause := pipeline.FramesIn(opt.Pause, f.Rate)
		var total int64
		for _, d := range opt.Digits {
			seg := dtmfSegment{silence: pause}
			if low, high, ok := DTMFFrequencies(d); ok {
				seg = dtmfSegment{low: newToneOsc(low, f.Rate, 0), high: newToneOsc(high, f.Rate, 0), tone: tone, silence: gap}
			}
			r.segs = append(r.segs, seg)
			total += seg.tone + seg.silence
		}
		return &genSource{format: f, total: total, r: r}, nil
	}
	return genOpener(opt.Rate, opt.Channels, build)
}

// dtmfSegment is one digit (tone frames of two tones, then silence frames)
// or one pause (silence only).
type dtmfSegment struct {
	low, high     toneOsc
	tone, silence int64
}

type dtmfRenderer struct {
	amp  float64
	segs []dtmfSegment
	seg  int   // current segment
	pos  int64 // frame within it
}

func (r *dtmfRenderer) render(p []float32, ch int) {
	for i := 0; i < len(p); {
		if r.seg >= len(r.segs) {
			clear(p[i:])
			return
		}
		s := &r.segs[r.seg]
		if r.pos < s.tone {
			if r.pos == 0 {
				s.low.reset()
				s.high.reset()
			}
			_, a := s.low.next()
			_, b := s.high.next()
			genFill(p[i:i+ch], float32(r.amp*(a+b)))
			i += ch
			r.pos++
		} else {
			// A run of silence, up to the end of the segment.
			n := min(int64((len(p)-i)/ch), s.tone+s.silence-r.pos)
			clear(p[i : i+int(n)*ch])
			i += int(n) * ch
			r.pos += n
		}
		if r.pos >= s.tone+s.silence {
			r.seg++
			r.pos = 0
		}
	}
}

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "dtmf",
		Kind:      pipeline.KindSource,
		Shareable: pipeline.Always,
		Summary:   "DTMF (touch-tone) digits: 0-9 * # A-D, comma for a pause",
		Example:   "dtmf 0701234567 tone=80ms gap=80ms | wav dial.wav",
		Details:   dtmfDetails,
		Params: []pipeline.Param{
			{Name: "digits", Type: pipeline.TypeString, Positional: true, Required: true,
				Doc: "digits to dial: 0-9 * # A-D (a-d), and , for a pause (quote * and # for the shell)"},
			pipeline.Param{Name: "tone", Type: pipeline.TypeDuration, Default: "100ms",
				Doc: "how long each digit sounds"}.Range(0.001, 3600),
			pipeline.Param{Name: "gap", Type: pipeline.TypeDuration, Default: "100ms",
				Doc: "silence after each digit"}.Range(0, 3600),
			pipeline.Param{Name: "pause", Type: pipeline.TypeDuration, Default: "500ms",
				Doc: "silence that a comma stands for"}.Range(0.001, 3600),
			pipeline.Param{Name: "amp", Type: pipeline.TypeGain, Default: "-6dB",
				Doc: "peak level of the two-tone sum in dBFS; each tone is 6 dB lower"}.Range(-200, 0),
			genRateParam(),
			genChannelsParam(),
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			opt := DTMFOptions{
				Digits: a.String("digits"),
				Tone:   a.Duration("tone"),
				Gap:    a.Duration("gap"),
				Pause:  a.Duration("pause"),
				Amp:    pipeline.DBToAmplitude(a.Float("amp")),
			}
			if opt.Gap == 0 {
				opt.Gap = -1 // gap=0: no gap
			}
			opt.Rate, opt.Channels = genFormatArgs(a)
			return DTMF(opt)
		},
	})
}
