package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tone describes a DTMF-like signal part with exact parameters: two sines
// (or silence when both levels are -inf), for dur seconds.
type tone struct {
	low, high     float64 // Hz
	lowDB, highDB float64 // dBm0
	dur           float64 // seconds
}

// key returns the tone of digit at levelDB per tone, lasting dur seconds.
func key(t testing.TB, digit byte, levelDB, dur float64) tone {
	t.Helper()
	lo, hi, ok := Frequencies(digit)
	if !ok {
		t.Fatalf("no digit %q", digit)
	}
	return tone{low: lo, high: hi, lowDB: levelDB, highDB: levelDB, dur: dur}
}

// pause returns dur seconds of silence.
func pause(dur float64) tone { return tone{lowDB: math.Inf(-1), highDB: math.Inf(-1), dur: dur} }

// render writes the parts one after another at rate, each tone starting at
// phase 0 (as elkspipe's dtmf source does), after lead seconds of silence.
func render(rate int, lead float64, parts ...tone) []float32 {
	out := make([]float32, int(math.Round(lead*float64(rate))))
	for _, p := range parts {
		n := int(math.Round(p.dur * float64(rate)))
		al, ah := Amplitude(p.lowDB), Amplitude(p.highDB)
		for i := 0; i < n; i++ {
			t := float64(i) / float64(rate)
			out = append(out, float32(al*math.Sin(2*math.Pi*p.low*t)+ah*math.Sin(2*math.Pi*p.high*t)))
		}
	}
	return out
}

// addNoise adds white Gaussian noise of RMS rms to x, seeded.
func addNoise(x []float32, rms float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range x {
		x[i] += float32(r.NormFloat64() * rms)
	}
}

// detect runs a new Detector over x, written in pieces of irregular sizes,
// and returns the presses, then all events including the final Flush.
func detect(t testing.TB, rate int, x []float32) (presses []Event, all []Event) {
	t.Helper()
	d, err := New(rate)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{1, 7, 160, 333, 1000, 20}
	for k := 0; len(x) > 0; k++ {
		n := min(len(x), sizes[k%len(sizes)])
		all = append(all, d.Write(x[:n])...)
		x = x[n:]
	}
	all = append(all, d.Flush()...)
	for _, e := range all {
		if !e.End {
			presses = append(presses, e)
		}
	}
	return presses, all
}

// digits returns the digits of the presses as a string.
func digits(evs []Event) string {
	b := make([]byte, 0, len(evs))
	for _, e := range evs {
		if !e.End {
			b = append(b, e.Digit)
		}
	}
	return string(b)
}
