package dtmf

import (
	"fmt"
	"math"
	"testing"
)

var rates = []int{8000, 16000, 24000, 48000}

// Every digit at every rate is detected once, at its start, and its end
// event gives its length.
func TestEveryDigitEveryRate(t *testing.T) {
	for _, rate := range rates {
		for i := 0; i < len(Keys); i++ {
			x := render(rate, 0.1, key(t, Keys[i], -10, 0.1), pause(0.1))
			presses, all := detect(t, rate, x)
			if len(presses) != 1 || presses[0].Digit != Keys[i] {
				t.Errorf("%d Hz, digit %c: got %v", rate, Keys[i], all)
				continue
			}
			ms := func(n int64) float64 { return float64(n) * 1000 / float64(rate) }
			if s := ms(presses[0].Start); math.Abs(s-100) > 5 {
				t.Errorf("%d Hz, digit %c: start %.1f ms, want 100", rate, Keys[i], s)
			}
			if len(all) != 2 || !all[1].End || math.Abs(ms(all[1].Len)-100) > 10 {
				t.Errorf("%d Hz, digit %c: events %v, want a press and its end after 100 ms", rate, Keys[i], all)
			}
		}
	}
}

func TestNewRejectsRates(t *testing.T) {
	for _, r := range []int{0, -8000, 7999, 192001} {
		if _, err := New(r); err == nil {
			t.Errorf("New(%d) accepted", r)
		}
	}
}

// Each of the 8 frequencies is swept through offsets: within ±1.5% the
// digit is detected, beyond ±3.5% never.
func TestFrequencyLimits(t *testing.T) {
	accept := []float64{-0.015, -0.014, -0.01, -0.005, 0.005, 0.01, 0.014, 0.015}
	reject := []float64{-0.10, -0.06, -0.045, -0.04, -0.036, 0.036, 0.04, 0.045, 0.06, 0.10}
	for _, rate := range []int{8000, 16000} {
		for g := 0; g < 8; g++ {
			for _, off := range append(accept, reject...) {
				want := math.Abs(off) < 0.02
				// Digit 5's other tone, or the digit of this row/column with 5's.
				d := byte('5')
				var tn tone
				if g < 4 {
					d = Keys[4*g+1]
					tn = key(t, d, -10, 0.1)
					tn.low *= 1 + off
				} else {
					d = Keys[4+g-4]
					tn = key(t, d, -10, 0.1)
					tn.high *= 1 + off
				}
				got := digits(mustDetect(t, rate, render(rate, 0.05, tn, pause(0.1))))
				// Far offsets may land near a neighbour frequency: that is its digit.
				if f := freqs[g] * (1 + off); !want && nearest(f, g) < 0.035 {
					if got != "" && got[0] == d || len(got) > 1 {
						t.Errorf("%d Hz: %g Hz %+.1f%% (digit %c) is a neighbour's: got %q", rate, freqs[g], 100*off, d, got)
					}
					continue
				}
				if want && got != string(d) || !want && got != "" {
					t.Errorf("%d Hz: %g Hz %+.1f%% (digit %c): got %q, want detected %v", rate, freqs[g], 100*off, d, got, want)
				}
			}
		}
	}
}

// nearest returns the relative distance from f to the nearest DTMF
// frequency of its group other than freqs[g].
func nearest(f float64, g int) float64 {
	best := math.Inf(1)
	for i := g / 4 * 4; i < g/4*4+4; i++ {
		if i != g {
			best = min(best, math.Abs(f/freqs[i]-1))
		}
	}
	return best
}

func mustDetect(t *testing.T, rate int, x []float32) []Event {
	t.Helper()
	p, _ := detect(t, rate, x)
	return p
}

// Twist: the high tone up to 4 dB above the low one or 8 dB below it is
// accepted; 4.5 dB above or 8.5 dB below is not.
func TestTwistLimits(t *testing.T) {
	cases := []struct {
		twist float64
		want  bool
	}{{0, true}, {3.9, true}, {-7.9, true}, {2, true}, {-6, true}, {4.5, false}, {-8.5, false}, {6, false}, {-12, false}}
	for _, rate := range rates {
		for _, c := range cases {
			for _, d := range []byte("1D*9") {
				tn := key(t, d, -12, 0.1)
				tn.lowDB, tn.highDB = -12-c.twist/2, -12+c.twist/2
				got := digits(mustDetect(t, rate, render(rate, 0.05, tn, pause(0.1))))
				if c.want && got != string(d) || !c.want && got != "" {
					t.Errorf("%d Hz digit %c twist %+.1f dB: got %q, want detected %v", rate, d, c.twist, got, c.want)
				}
			}
		}
	}
}

// Duration: 40 ms tones are detected, 20 and 23 ms ones never, whatever
// their alignment with the analysis windows; a 40 ms pause separates two
// presses of the same key and a 10 ms dropout does not.
func TestDurationAndPause(t *testing.T) {
	cases := []struct {
		name  string
		parts func(d byte) []tone
		want  int
	}{
		{"40ms", func(d byte) []tone { return []tone{key(t, d, -10, 0.040)} }, 1},
		{"23ms", func(d byte) []tone { return []tone{key(t, d, -10, 0.023)} }, 0},
		{"20ms", func(d byte) []tone { return []tone{key(t, d, -10, 0.020)} }, 0},
		{"pause 40ms", func(d byte) []tone {
			return []tone{key(t, d, -10, 0.05), pause(0.040), key(t, d, -10, 0.05)}
		}, 2},
		{"dropout 10ms", func(d byte) []tone {
			return []tone{key(t, d, -10, 0.05), pause(0.010), key(t, d, -10, 0.05)}
		}, 1},
	}
	for _, rate := range []int{8000, 48000} {
		for _, c := range cases {
			for lead := 0.0; lead < 0.005; lead += 0.0005 {
				for _, d := range []byte("0#") {
					parts := append(c.parts(d), pause(0.1))
					got := digits(mustDetect(t, rate, render(rate, 0.05+lead, parts...)))
					want := ""
					for range c.want {
						want += string(d)
					}
					if got != want {
						t.Errorf("%d Hz %s, lead %.1f ms, digit %c: got %q, want %q", rate, c.name, lead*1000, d, got, want)
					}
				}
			}
		}
	}
}

// A different digit right after another, without a pause, is a new press.
func TestDigitChangeWithoutPause(t *testing.T) {
	x := render(8000, 0.05, key(t, '1', -10, 0.08), key(t, '5', -10, 0.08), key(t, '9', -10, 0.08), pause(0.1))
	if got := digits(mustDetect(t, 8000, x)); got != "159" {
		t.Errorf("got %q, want 159", got)
	}
}

// Levels: tones of -33 dBm0 and above are detected, weaker than -35 dBm0
// never.
func TestLevels(t *testing.T) {
	for _, rate := range rates {
		for _, lvl := range []float64{3, 0, -10, -20, -25, -30, -33, -35.5, -40, -60} {
			want := lvl >= -33
			for _, d := range []byte("3A") {
				got := digits(mustDetect(t, rate, render(rate, 0.05, key(t, d, lvl, 0.1), pause(0.1))))
				if want && got != string(d) || !want && got != "" {
					t.Errorf("%d Hz digit %c at %g dBm0: got %q, want detected %v", rate, d, lvl, got, want)
				}
			}
		}
	}
}

// White noise at 15 dB below the two tones' power does not stop the
// detection, and does not add digits.
func TestNoise(t *testing.T) {
	for _, rate := range rates {
		var parts []tone
		want := ""
		for i := 0; i < len(Keys); i++ {
			parts = append(parts, key(t, Keys[i], -20, 0.06), pause(0.06))
			want += string(Keys[i])
		}
		x := render(rate, 0.1, parts...)
		a := Amplitude(-20)
		signal := a * a // two tones of power a²/2 each
		addNoise(x, math.Sqrt(signal/math.Pow(10, 15.0/10)), uint64(rate))
		if got := digits(mustDetect(t, rate, x)); got != want {
			t.Errorf("%d Hz with noise at 15 dB SNR: got %q, want %q", rate, got, want)
		}
	}
}

// Silence, pure noise and single tones give nothing.
func TestNothingFromNonDigits(t *testing.T) {
	for _, rate := range rates {
		sig := map[string][]float32{
			"silence":       make([]float32, rate),
			"697 Hz alone":  render(rate, 0, tone{low: 697, high: 1209, lowDB: -10, highDB: math.Inf(-1), dur: 1}),
			"1336 Hz alone": render(rate, 0, tone{low: 697, high: 1336, lowDB: math.Inf(-1), highDB: -10, dur: 1}),
			"1 kHz + 2 kHz": render(rate, 0, tone{low: 1000, high: 2000, lowDB: -10, highDB: -10, dur: 1}),
		}
		noise := make([]float32, rate)
		addNoise(noise, 0.1, 7)
		sig["noise"] = noise
		for name, x := range sig {
			if _, all := detect(t, rate, x); len(all) != 0 {
				t.Errorf("%d Hz %s: %v", rate, name, all)
			}
		}
	}
}

// A digit with its second harmonics as strong as itself is no digit: the
// harmonics lower the tones' share of the energy.
func TestHarmonicsRejected(t *testing.T) {
	rate := 16000
	lo, hi, _ := Frequencies('5')
	x := render(rate, 0.05, tone{low: lo, high: hi, lowDB: -10, highDB: -10, dur: 0.1})
	h := render(rate, 0.05, tone{low: 2 * lo, high: 2 * hi, lowDB: -12, highDB: -12, dur: 0.1})
	for i := range x {
		x[i] += h[i]
	}
	if got := digits(mustDetect(t, rate, x)); got != "" {
		t.Errorf("digit with strong harmonics: got %q", got)
	}
}

func ExampleDetector() {
	d, _ := New(8000)
	lo, hi, _ := Frequencies('7')
	x := make([]float32, 8000) // 100 ms silence, 100 ms of 7, then silence
	for i := 800; i < 1600; i++ {
		t := float64(i-800) / 8000
		x[i] = float32(0.2*math.Sin(2*math.Pi*lo*t) + 0.2*math.Sin(2*math.Pi*hi*t))
	}
	for _, e := range d.Write(x) {
		fmt.Printf("%c at %.3f s, end %v\n", e.Digit, float64(e.Start)/8000, e.End)
	}
	// Output:
	// 7 at 0.100 s, end false
	// 7 at 0.100 s, end true
}

// The corners of the acceptance region at once: every digit at the
// weakest accepted level (-25 dBm0 for the stronger tone), with 6 dB of
// normal twist or 3.9 dB of reverse twist, both tones 1.5% off in either
// direction, is detected; the same 3.6% off never is.
func TestAcceptanceCorners(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for i := 0; i < len(Keys); i++ {
			d := Keys[i]
			for _, tw := range []float64{-6, 3.9} {
				for _, off := range [][2]float64{{0.015, 0.015}, {-0.015, 0.015}, {0.015, -0.015}, {-0.015, -0.015}, {0.036, 0}, {0, -0.036}} {
					tn := key(t, d, -25, 0.06)
					tn.low *= 1 + off[0]
					tn.high *= 1 + off[1]
					if tw < 0 {
						tn.highDB = -25 + tw
					} else {
						tn.lowDB = -25 - tw
					}
					want := ""
					if math.Abs(off[0]) < 0.02 && math.Abs(off[1]) < 0.02 {
						want = string(d)
					}
					if got := digits(mustDetect(t, rate, render(rate, 0.05, tn, pause(0.06)))); got != want {
						t.Errorf("%d Hz digit %c twist %+g dB offsets %+.1f%%/%+.1f%%: got %q, want %q",
							rate, d, tw, 100*off[0], 100*off[1], got, want)
					}
				}
			}
		}
	}
}

// Non-finite and out-of-range samples disturb only the windows that hold
// them: a digit after them is found, and nothing is found in them.
func TestBadSamples(t *testing.T) {
	x := render(8000, 0.3, key(t, '6', -10, 0.1), pause(0.1))
	for i, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30} {
		x[100+i*50] = v
	}
	presses, all := detect(t, 8000, x)
	if digits(presses) != "6" || len(all) != 2 {
		t.Errorf("got %v, want one 6 and its end", all)
	}
	d, _ := New(8000)
	if evs := d.Write(nil); len(evs) != 0 {
		t.Errorf("Write(nil) = %v", evs)
	}
	if evs := d.Flush(); len(evs) != 0 {
		t.Errorf("Flush with no press = %v", evs)
	}
}

func TestEventString(t *testing.T) {
	if s := (Event{Digit: '#', Start: 800, Len: 400}).String(); s != "# at 800+400" {
		t.Errorf("String = %q", s)
	}
	if s := (Event{Digit: '1', Start: 8, Len: 4, End: true}).String(); s != "1 at 8+4 end" {
		t.Errorf("String = %q", s)
	}
	if l := Level(Amplitude(-25)); math.Abs(l+25) > 1e-9 {
		t.Errorf("Level(Amplitude(-25)) = %v", l)
	}
}

// A DC offset far larger than the tones does not stop the detection.
func TestDCOffset(t *testing.T) {
	for _, rate := range rates {
		x := render(rate, 0.2, key(t, '8', -25, 0.06), pause(0.1), key(t, 'C', -25, 0.06), pause(0.1))
		for i := range x {
			x[i] += 0.3
		}
		if got := digits(mustDetect(t, rate, x)); got != "8C" {
			t.Errorf("%d Hz with a DC offset of 0.3: got %q, want 8C", rate, got)
		}
	}
}

// A key held for 5 s is one press, whose End gives its length.
func TestLongPress(t *testing.T) {
	presses, all := detect(t, 16000, render(16000, 0.1, key(t, '*', -15, 5), pause(0.2)))
	if digits(presses) != "*" || len(all) != 2 || math.Abs(float64(all[1].Len)/16000-5) > 0.01 {
		t.Errorf("got %v, want one * lasting 5 s", all)
	}
}
