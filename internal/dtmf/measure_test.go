package dtmf

import (
	"math"
	"os"
	"testing"
)

// TestMeasureLimits prints the limits the detector actually has, found by
// sweeps, for docs/dtmf.md. It runs only with DTMF_MEASURE=1.
func TestMeasureLimits(t *testing.T) {
	if os.Getenv("DTMF_MEASURE") == "" {
		t.Skip("set DTMF_MEASURE=1 to measure")
	}
	found := func(parts func(v float64) tone, from, to, step float64, rate int, d byte) (first, last float64) {
		first, last = math.NaN(), math.NaN()
		for v := from; v <= to+1e-9; v += step {
			if digits(mustDetect(t, rate, render(rate, 0.05, parts(v), pause(0.1)))) == string(d) {
				if math.IsNaN(first) {
					first = v
				}
				last = v
			}
		}
		return first, last
	}
	for _, rate := range rates {
		for g := 0; g < 8; g++ {
			d := Keys[4+g-4]
			if g < 4 {
				d = Keys[4*g+1]
			}
			lo, hi := found(func(off float64) tone {
				tn := key(t, d, -10, 0.1)
				if g < 4 {
					tn.low *= 1 + off/100
				} else {
					tn.high *= 1 + off/100
				}
				return tn
			}, -4, 4, 0.05, rate, d)
			t.Logf("%5d Hz: %4g Hz accepted from %+.2f%% to %+.2f%%", rate, freqs[g], lo, hi)
		}
		for _, d := range []byte("1D*9") {
			lo, hi := found(func(tw float64) tone {
				tn := key(t, d, -12, 0.1)
				tn.lowDB, tn.highDB = -12-tw/2, -12+tw/2
				return tn
			}, -10, 6, 0.05, rate, d)
			lv, _ := found(func(l float64) tone { return key(t, d, l, 0.1) }, -40, -20, 0.05, rate, d)
			du, _ := found(func(ms float64) tone { return key(t, d, -10, ms/1000) }, 15, 45, 0.5, rate, d)
			t.Logf("%5d Hz digit %c: twist accepted from %+.2f to %+.2f dB, level from %.2f dBm0, duration from %.1f ms", rate, d, lo, hi, lv, du)
		}
	}
	for _, rate := range []int{8000, 16000} {
		for _, snr := range []float64{20, 15, 12, 10, 9, 8, 6} {
			var parts []tone
			for i := 0; i < len(Keys); i++ {
				parts = append(parts, key(t, Keys[i], -20, 0.06), pause(0.06))
			}
			ok := 0
			for seed := uint64(0); seed < 10; seed++ {
				x := render(rate, 0.1, parts...)
				a := Amplitude(-20)
				addNoise(x, math.Sqrt(a*a/math.Pow(10, snr/10)), seed)
				if digits(mustDetect(t, rate, x)) == Keys {
					ok++
				}
			}
			t.Logf("%5d Hz: white noise at %g dB SNR: %d of 10 runs of 16 digits all right", rate, snr, ok)
		}
	}
	for _, rate := range []int{8000, 48000} {
		two, one := math.Inf(1), 0.0 // shortest pause that always separates, longest always bridged
		for gap := 5.0; gap <= 45; gap += 1 {
			all2, all1 := true, true
			for lead := 0.0; lead < 5; lead += 0.5 {
				got := digits(mustDetect(t, rate, render(rate, 0.05+lead/1000, key(t, '8', -10, 0.05), pause(gap/1000), key(t, '8', -10, 0.05), pause(0.1))))
				all2 = all2 && got == "88"
				all1 = all1 && got == "8"
			}
			if all2 {
				two = min(two, gap)
			}
			if all1 {
				one = gap
			}
		}
		t.Logf("%5d Hz: pauses up to %g ms always bridged, from %g ms always separate", rate, one, two)
	}
}
