package dtmf

import (
	"fmt"
	"math"
)

// Keys lists the digits by row (697, 770, 852, 941 Hz) and column (1209,
// 1336, 1477, 1633 Hz): the key of row r and column c is Keys[4*r+c].
const Keys = "123A456B789C*0#D"

// The DTMF frequencies in Hz (ITU-T Q.23): low group then high group.
var freqs = [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

// Frequencies returns the low-group and high-group frequencies in Hz of a
// digit (0-9, *, #, A-D), and false for any other byte.
func Frequencies(digit byte) (low, high float64, ok bool) {
	for i := 0; i < len(Keys); i++ {
		if Keys[i] == digit {
			return freqs[i/4], freqs[4+i%4], true
		}
	}
	return 0, 0, false
}

// The rates a Detector accepts.
const (
	MinRate = 8000
	MaxRate = 192000
)

// Event is a key press: a digit detected, or the end of its tone.
type Event struct {
	// Digit is '0'-'9', '*', '#' or 'A'-'D'.
	Digit byte
	// Start is the first sample of the tone, counted from the first sample
	// written to the Detector (within ±2.5 ms).
	Start int64
	// Len is the tone's length in samples: at a press (End false), the
	// part that proved the digit, at least 35 ms; at the end of the tone
	// (End true), its whole length.
	Len int64
	// End is false for the press, reported once per press as soon as the
	// tone has been proved, and true when its tone has ended.
	End bool
}

// String renders e as "5 at 12000+800" (samples), with "end" for an End.
func (e Event) String() string {
	s := fmt.Sprintf("%c at %d+%d", e.Digit, e.Start, e.Len)
	if e.End {
		s += " end"
	}
	return s
}

// Detection limits; see the package documentation.
const (
	hopSeconds  = 0.005 // windows start every hop
	windowHops  = 4     // a window is 4 hops long (20 ms)
	runWindows  = 4     // candidate windows in a row that prove a digit
	gapWindows  = 8     // windows in a row without the digit that end a press
	freqTol     = 0.025 // accepted frequency deviation
	minLevelDB  = -34.0 // dBm0, per tone
	maxTwistDB  = 4.2   // high group above low group (reverse twist)
	minTwistDB  = -8.2  // high group below low group (normal twist)
	minShare    = 0.90  // the two tones' share of the windowed energy
	steadyRatio = 0.40  // weakest quarter of a window / strongest
	maxSwing    = 1.585 // strongest / weakest power of a tone over the proving windows (2 dB)
	// A candidate window may deviate by this much from the final limits:
	// its levels are not yet corrected for off-centre frequencies.
	slackDB    = 4.0
	slackShare = 0.45
)

// ZeroDBm0 is the peak amplitude of a sine of 0 dBm0: 3.14 dB below full
// scale, as in µ-law.
const ZeroDBm0 = 0.6966

// Amplitude returns the peak amplitude of a sine of level dBm0.
func Amplitude(dBm0 float64) float64 { return ZeroDBm0 * math.Pow(10, dBm0/20) }

// Level returns the level in dBm0 of a sine of peak amplitude a.
func Level(a float64) float64 { return 20 * math.Log10(a/ZeroDBm0) }

// goertzel is the state of one window's eight Goertzel filters.
type goertzel struct {
	s1, s2 [8]float64
	energy float64 // Σ (w·x)²
}

// window is the analysis of one finished window.
type window struct {
	y      [8]complex128
	energy float64
	digit  int8 // index into Keys, or -1 when the window is no candidate
}

// maxSample bounds the samples the Detector takes: beyond it they are
// clipped, and NaN is taken as 0.
const maxSample = 4

// dcCorner is the corner frequency in Hz of the high-pass filter that
// removes a DC offset from the input.
const dcCorner = 20

// A Detector finds DTMF digits in a mono stream written to it in pieces
// of any length. It is not safe for concurrent use; use one per stream.
// Writing does not allocate once the event buffer has grown to its size.
type Detector struct {
	rate   int
	hop    int // samples per hop
	length int // samples per window
	win    []float64
	sumW   float64 // Σ w
	sumW2  float64 // Σ w²
	coef   [8]float64
	cos    [8]float64
	sin    [8]float64
	aMin   float64 // minimum amplitude per tone

	// The candidate limits, on DFT powers: level, and twist as a ratio.
	candMinP, candTwistLo, candTwistHi float64

	// The input: the high-pass filter's pole, last input and output, and
	// the current piece of input, filtered.
	dcPole, dcIn, dcOut float64
	buf                 []float64

	// The analysis.
	sets     [windowHops]goertzel
	quarter  [windowHops]float64 // raw energy of the last hops, by hop index
	cur      float64             // raw energy of the hop being filled
	pos      int                 // samples of the current hop so far
	hopIndex int64               // index of the hop being filled
	hist     [runWindows]window  // the last windows, by window index
	run      int                 // candidate windows in a row for hist's latest digit

	// The press under way.
	pressed bool
	digit   int8
	start   int64 // first sample of the press
	end     int64 // end of its last window with the digit
	misses  int   // windows since then without the digit

	events []Event
}

// New returns a Detector for audio at rate samples per second, from
// MinRate to MaxRate.
func New(rate int) (*Detector, error) {
	if rate < MinRate || rate > MaxRate {
		return nil, fmt.Errorf("DTMF detection needs a sample rate from %d to %d Hz, not %d", MinRate, MaxRate, rate)
	}
	d := &Detector{rate: rate, digit: -1}
	d.hop = int(math.Round(float64(rate) * hopSeconds))
	d.length = windowHops * d.hop
	d.win = make([]float64, d.length)
	d.buf = make([]float64, d.hop)
	d.dcPole = 1 - 2*math.Pi*dcCorner/float64(rate)
	for n := range d.win {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/float64(d.length))
		d.win[n] = w
		d.sumW += w
		d.sumW2 += w * w
	}
	for i, f := range freqs {
		om := 2 * math.Pi * f / float64(rate)
		d.coef[i] = 2 * math.Cos(om)
		d.cos[i], d.sin[i] = math.Cos(om), math.Sin(om)
	}
	d.aMin = Amplitude(minLevelDB)
	d.candMinP = math.Pow(Amplitude(minLevelDB-slackDB)*d.sumW/2, 2)
	d.candTwistLo = math.Pow(10, (minTwistDB-slackDB)/10)
	d.candTwistHi = math.Pow(10, (maxTwistDB+slackDB)/10)
	d.events = make([]Event, 0, 4)
	return d, nil
}

// Rate returns the sample rate the Detector was made for.
func (d *Detector) Rate() int { return d.rate }

// Write analyses the next samples of the stream and returns the events
// they complete, in order. The returned slice is reused: it is valid until
// the next call of Write or Flush. A DC offset is filtered out; NaN
// counts as 0, and samples beyond ±4 are clipped there.
func (d *Detector) Write(samples []float32) []Event {
	d.events = d.events[:0]
	for len(samples) > 0 {
		n := min(len(samples), d.hop-d.pos)
		chunk := d.buf[:n]
		for i, x := range samples[:n] {
			v := float64(x)
			if !(v >= -maxSample && v <= maxSample) {
				switch {
				case v > maxSample:
					v = maxSample
				case v < -maxSample:
					v = -maxSample
				default:
					v = 0 // NaN
				}
			}
			// A one-pole high-pass filter (corner dcCorner Hz) takes out a
			// DC offset, which would otherwise count against the tones'
			// share of the energy.
			y := v - d.dcIn + d.dcPole*d.dcOut
			d.dcIn, d.dcOut = v, y
			chunk[i] = y
			d.cur += y * y
		}
		for k := range d.sets {
			// Set k started its window at a hop index ≡ k (mod windowHops).
			off := int((d.hopIndex-int64(k))&(windowHops-1))*d.hop + d.pos
			d.sets[k].update(chunk, d.win[off:off+n], &d.coef)
		}
		d.pos += n
		samples = samples[n:]
		if d.pos == d.hop {
			d.endHop()
		}
	}
	return d.events
}

// Flush ends the press under way, if any, as the end of the stream would,
// and returns its End event. The Detector can go on being written to.
func (d *Detector) Flush() []Event {
	d.events = d.events[:0]
	if d.pressed {
		d.release()
	}
	return d.events
}

// update runs the eight Goertzel filters over x weighted by w. It only
// does arithmetic on the Detector's own state and the caller's samples,
// so it is left out of the race detector's instrumentation, which made it
// many times slower.
//
//go:norace
func (g *goertzel) update(x, w []float64, c *[8]float64) {
	w = w[:len(x)]
	a0, a1, a2, a3, a4, a5, a6, a7 := g.s1[0], g.s1[1], g.s1[2], g.s1[3], g.s1[4], g.s1[5], g.s1[6], g.s1[7]
	b0, b1, b2, b3, b4, b5, b6, b7 := g.s2[0], g.s2[1], g.s2[2], g.s2[3], g.s2[4], g.s2[5], g.s2[6], g.s2[7]
	e := g.energy
	for n, s := range x {
		v := w[n] * s
		e += v * v
		a0, b0 = v+c[0]*a0-b0, a0
		a1, b1 = v+c[1]*a1-b1, a1
		a2, b2 = v+c[2]*a2-b2, a2
		a3, b3 = v+c[3]*a3-b3, a3
		a4, b4 = v+c[4]*a4-b4, a4
		a5, b5 = v+c[5]*a5-b5, a5
		a6, b6 = v+c[6]*a6-b6, a6
		a7, b7 = v+c[7]*a7-b7, a7
	}
	g.s1 = [8]float64{a0, a1, a2, a3, a4, a5, a6, a7}
	g.s2 = [8]float64{b0, b1, b2, b3, b4, b5, b6, b7}
	g.energy = e
}

// endHop closes the hop just filled: the window that ends with it is
// analysed and its filters start the next window.
func (d *Detector) endHop() {
	j := d.hopIndex
	d.quarter[j&(windowHops-1)] = d.cur
	d.cur, d.pos = 0, 0
	k := (j + 1) & (windowHops - 1) // the set whose window covers hops j-3..j
	g := &d.sets[k]
	var w window
	for i := range w.y {
		// y = s1 − e^{−jω}·s2 = Σ x[n]·e^{jω(L−1−n)}: the DFT value times a
		// phase that is the same for every window, so it cancels in the
		// phase advances measured between windows.
		w.y[i] = complex(g.s1[i]-d.cos[i]*g.s2[i], d.sin[i]*g.s2[i])
	}
	w.energy = g.energy
	*g = goertzel{}
	d.hopIndex++
	if j >= windowHops-1 { // a whole window of the stream
		d.window(j, w)
	}
}
