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
	for w := 0; w+win <= len(s); w += win {
		bestLag, bestCorr := -1, echoMinCorr
		for lag := 0; lag <= maxLag && w+lag+win <= len(h); lag++ {
			if c := correlation(s[w:w+win], h[w+lag:w+lag+win]); c > bestCorr {
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

// correlation returns the Pearson correlation of a and b (equal lengths);
// 0 when either is constant.
func correlation(a, b []float64) float64 {
	var sa, sb float64
	for i := range a {
		sa += a[i]
		sb += b[i]
	}
	ma, mb := sa/float64(len(a)), sb/float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		x, y := a[i]-ma, b[i]-mb
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
