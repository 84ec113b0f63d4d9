package elkstest

import (
	"math"
	"slices"
	"time"
)

// Echo latency. When the caller speaks (Options.Say, Options.DTMF) and
// the application sends audio, the simulator finds out whether what the
// caller heard is what the caller said, later: an echo test
// (`caller | elks`), a delayed echo (`caller | pad before=500ms | elks`),
// or a program that plays the caller back. It keeps the energy of both
// in 5 ms blocks of call time — the caller's audio from the moment each
// sample was said, the heard audio from the moment it played — and looks
// for the delay, up to 2 s, at which the two correlate best, in windows of
// 2 s of what was said (a late message, a gap, shifts the echo for the
// rest of the call).

// Bounds of the echo measurement.
const (
	echoBlock   = 5 * time.Millisecond
	echoMaxLag  = 2 * time.Second
	echoMaxCall = 2 * time.Minute // only the first two minutes are compared
	echoMinCorr = 0.7             // below, what was heard is not an echo
	echoWindow  = 2 * time.Second // what was said, compared at a time
)

// Echo describes how what the caller said came back.
type Echo struct {
	// Latency is how long after the caller said something they heard it
	// back, in seconds (5 ms steps): the median over the windows of 2 s
	// of what was said that came back; Max the longest. It includes the
	// 20 ms the API takes to fill a message of caller audio, and any
	// lateness of the simulator in sending it (CallerAudio.Late).
	Latency float64 `json:"latency"`
	Max     float64 `json:"max"`
	// Correlation is how alike what was said and what was heard back are
	// at that delay (1: the same energy over time), the median over the
	// windows; Windows counts the windows that came back.
	Correlation float64 `json:"correlation"`
	Windows     int     `json:"windows"`
}

// envelope is the energy of audio in 5 ms blocks of call time.
type envelope []float32

// add adds the energy of pcm, at rate, whose first sample is at call
// time start.
func (e *envelope) add(start time.Duration, pcm []float32, rate int) {
	limit := int64(echoMaxCall / echoBlock)
	per := int64(rate) * int64(echoBlock) / int64(time.Second) // samples per block
	first := int64(start) * int64(rate) / int64(time.Second)   // the sample at start, from call time 0
	for i := 0; i < len(pcm); {
		pos := first + int64(i)
		b := pos / per
		if pos < 0 {
			i++
			continue
		}
		if b >= limit {
			return
		}
		if b >= int64(len(*e)) {
			*e = append(*e, make([]float32, b+1-int64(len(*e)))...)
		}
		n := min(len(pcm)-i, int(per-pos%per))
		var sum float32
		for _, v := range pcm[i : i+n] {
			sum += v * v
		}
		(*e)[b] += sum
		i += n
	}
}

// measureEcho returns the delay at which heard correlates best with
// said, window by window (echoWindow of what was said at a time): the
// median and the largest over the windows where they correlate well
// enough; nil when none does.
func measureEcho(said, heard envelope) *Echo {
	rms := func(e envelope) []float64 {
		out := make([]float64, len(e))
		for i, v := range e {
			out[i] = math.Sqrt(float64(v))
		}
		return out
	}
	s, h := rms(said), rms(heard)
	win, maxLag := int(echoWindow/echoBlock), int(echoMaxLag/echoBlock)
	var lags, corrs []float64
	x := make([]float64, win)
	for w := 0; w+win <= len(s); w += win {
		bestLag, bestCorr := -1, echoMinCorr
		// What was said is the same at every lag: centred once, each lag
		// takes one pass over what was heard. (With two passes for each,
		// this was 10% of the simulator's CPU in 500 echo calls of 20 s,
		// all of it as the calls end while others still run: 4.4 ms a
		// call, now 2.4 ms, BenchmarkMeasureEcho.)
		xx, sx := center(x, s[w:w+win])
		for lag := 0; xx > 0 && lag <= maxLag && w+lag+win <= len(h); lag++ {
			if c := correlationCentered(x, xx, sx, h[w+lag:w+lag+win]); c > bestCorr {
				bestLag, bestCorr = lag, c
			}
		}
		if bestLag >= 0 {
			lags = append(lags, (time.Duration(bestLag) * echoBlock).Seconds())
			corrs = append(corrs, bestCorr)
		}
	}
	if len(lags) == 0 {
		return nil
	}
	e := &Echo{Latency: median(lags), Max: slices.Max(lags), Correlation: math.Round(median(corrs)*1000) / 1000, Windows: len(lags)}
	return e
}

// median returns the median of v (the lower one of an even count),
// sorting v.
func median(v []float64) float64 {
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// center sets x to a less its mean, and returns the sum of x's squares
// and the sum of x (0 but for rounding); the sum of squares is 0 when a
// is constant, or as near as rounding tells (a steady tone).
func center(x, a []float64) (xx, sx float64) {
	var sum, sq float64
	for _, v := range a {
		sum += v
		sq += v * v
	}
	mean := sum / float64(len(a))
	for i, v := range a {
		x[i] = v - mean
		xx += x[i] * x[i]
		sx += x[i]
	}
	if xx <= 1e-12*sq {
		return 0, 0
	}
	return xx, sx
}

// correlationCentered returns the Pearson correlation of a and b (equal
// lengths) from x, a less its mean, xx, the sum of x's squares, and sx,
// the sum of x (center), in one pass over b, as the sums of x·b, b and
// b². 0 when b is constant, or as near as rounding tells.
func correlationCentered(x []float64, xx, sx float64, b []float64) float64 {
	var xb, sb, bb float64
	for i, v := range b[:len(x)] {
		xb += x[i] * v
		sb += v
		bb += v * v
	}
	n := float64(len(x))
	// Σ x·(b - mean b) = Σ x·b - Σ x·mean b; Σ (b - mean b)² = Σ b² - (Σ b)²/n.
	vb := bb - sb*sb/n
	if vb <= 1e-12*bb {
		return 0
	}
	return (xb - sx*sb/n) / math.Sqrt(xx*vb)
}
