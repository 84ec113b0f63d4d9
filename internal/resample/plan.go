package resample

import (
	"math"
	"math/bits"
	"sync"
)

// Costs in nanoseconds, fitted to measurements on this project's 2-core
// Xeon (Go 1.26): a direct-form output of a sharp filter costs costOut plus
// costMAC per tap (Go code); a polyphase output costs costPolyOut plus
// costPolyMAC per tap (SSE2 on amd64); a fast-convolution block costs
// costButterfly per radix-2 butterfly (or equivalent work) of its
// transforms (SSE2 on amd64). Elsewhere the choices they make are still
// sound, if not the best.
const (
	costOut       = 7
	costMAC       = 0.3
	costPolyOut   = 3
	costPolyMAC   = 0.3
	costButterfly = 1.0
)

// plan chooses the stages converting inRate to outRate with spec.
//
// Upsampling: a sharp lowpass at the input's Nyquist frequency that
// doubles the rate, then a polyphase stage to outRate whose filter can be
// relaxed (it only has to reject the images of the band). Downsampling has
// two orders, and plan takes the cheaper by its cost model:
//
//   - a relaxed polyphase stage from inRate to 2·outRate (it only has to
//     keep out what would alias into the output band), then the sharp
//     lowpass at the output's Nyquist frequency halving the rate;
//   - the sharp lowpass at the input rate, then a polyphase stage to
//     outRate that only has to reject the images of the band kept, which
//     start at inRate - outRate/2: a short filter, for a longer sharp one.
//
// The sharp filter runs as fast convolution or in direct form, whichever
// the cost model finds cheaper.
func plan(inRate, outRate int, spec Spec) []stage {
	low := float64(min(inRate, outRate)) / 2 // the band kept
	fp := spec.Passband * low
	fs := spec.Stopband * low
	// Kaiser's formulas land up to two dB short of the target at the
	// highest attenuations; design 3 dB above the published figure so that
	// it is a guaranteed minimum.
	att := spec.Attenuation + 3
	if outRate > inRate {
		mid := 2 * inRate
		stages := []stage{sharp(fftDouble, mid, fp, fs, att)}
		if mid != outRate {
			// The sharp stage left nothing but its stopband residue above
			// low, so this stage only has to reject the images of the band,
			// which start at mid - low.
			stages = append(stages, newPoly(mid, outRate, fp, float64(mid)-low, att))
		}
		return stages
	}
	mid := 2 * outRate
	halving := sharpCost(fftHalve, mid, fp, fs, att).perOut * float64(outRate)
	if mid != inRate {
		halving += polyCost(inRate, mid, fp, float64(mid)-low, att) * float64(mid)
	}
	first := sharpCost(fftKeep, inRate, fp, fs, att).perOut*float64(inRate) +
		polyCost(inRate, outRate, fp, float64(inRate)-low, att)*float64(outRate)
	if first < halving {
		return []stage{
			sharp(fftKeep, inRate, fp, fs, att),
			newPoly(inRate, outRate, fp, float64(inRate)-low, att),
		}
	}
	var stages []stage
	if mid != inRate {
		stages = append(stages, newPoly(inRate, mid, fp, float64(mid)-low, att))
	}
	return append(stages, sharp(fftHalve, mid, fp, fs, att))
}

// polyCost returns the modelled cost, in nanoseconds per output, of a
// polyphase stage from rate a to rate b with edges fp and fs in Hz.
func polyCost(a, b int, fp, fs, att float64) float64 {
	L := b / gcd(a, b)
	taps := float64(polyTaps(L, fp/float64(a), fs/float64(a), att))
	if L == 1 {
		taps /= 2 // symmetric: the samples sharing a tap are added first
	}
	return costPolyOut + taps*costPolyMAC
}

// designCache shares filter designs between resamplers: tables and kernel
// spectra are read-only once built. It holds a bounded number of entries so
// that a server fed files at many odd rates does not accumulate them.
type designCache struct {
	mu sync.Mutex
	m  map[any]any
}

const designCacheMax = 64

var designs = designCache{m: map[any]any{}}

// get returns the design for key, building it with build if it is not
// cached.
func (c *designCache) get(key any, build func() any) any {
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	if w, ok := c.m[key]; ok {
		v = w
	} else if len(c.m) < designCacheMax {
		c.m[key] = v
	}
	c.mu.Unlock()
	return v
}

type tableKey struct {
	L, M   int
	fp, fs float64
	att    float64
}

// newPoly builds a polyphase stage from rate a to rate b with passband
// edge fp and stopband edge fs in Hz.
func newPoly(a, b int, fp, fs, att float64) *polyStage {
	g := gcd(a, b)
	return newPolyHz(b/g, a/g, fp/float64(a), fs/float64(a), att)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// maxStep bounds, in seconds, the audio that one fast-convolution step
// yields at once: about what a single block of 8 kHz output gave before the
// stages filtered two at a time.
const maxStep = 0.2

// sharpPlan is how the sharp filter of a stage runs: in direct form
// (F = 0) or as fast convolution with FFTs of size F.
type sharpPlan struct {
	half   int     // the filter has 2·half+1 taps
	F      int     // FFT size; 0 for direct form
	perOut float64 // modelled cost in nanoseconds per output
}

// sharpCost plans the sharp filter of a stage that changes the rate as r
// says; rate is the higher of its two rates, fp and fs in Hz.
func sharpCost(r fftRate, rate int, fp, fs, att float64) sharpPlan {
	tw := (fs - fp) / float64(rate)
	half := int(math.Ceil(kaiserSpan(att, tw)/2)) + 1
	N := 2*half + 1
	// Direct form: N MACs per output when decimating or filtering, N/2
	// per output (per phase) when interpolating.
	taps := float64(N)
	if r == fftDouble {
		taps /= 2
	}
	best := sharpPlan{half: half, perOut: costOut + taps*costMAC}
	// Blocks of 2N to 8N samples: smaller wastes the overlap, larger only
	// adds latency and cache misses for a slowly falling cost. A step
	// yields 2V samples at rate at once, as two blocks; past maxStep of
	// audio (unless the smallest block already does), the output of a live
	// source would come in bursts that the sink must bridge.
	for F := 64; F <= 8*N; F <<= 1 {
		if F < 2*N {
			continue
		}
		V := F - 2*half
		if best.F != 0 && float64(2*V) > maxStep*float64(rate) {
			break
		}
		// Two blocks at a time, as one complex signal. Halving: forward
		// F, inverse F/2, V outputs; doubling: forward F/2, inverse F, 2V
		// outputs; keeping: forward F and inverse F, 2V outputs. A complex
		// FFT of size n is n/2·log2(n) butterflies; add the products and
		// the folding or repeating of the spectrum.
		lg := float64(bits.Len(uint(F)) - 1)
		big := float64(F) / 2 * lg
		small := float64(F) / 4 * (lg - 1)
		work := big + small + 1.5*float64(F)
		outs := 2 * float64(V)
		switch r {
		case fftHalve:
			outs = float64(V)
		case fftKeep:
			work = 2*big + float64(F)
		}
		if c := work * costButterfly / outs; c < best.perOut {
			best.F, best.perOut = F, c
		}
	}
	return best
}

// sharp builds the stage that halves, doubles or keeps the rate with the
// sharp filter; rate is the higher of its two rates, fp and fs in Hz.
func sharp(r fftRate, rate int, fp, fs, att float64) stage {
	p := sharpCost(r, rate, fp, fs, att)
	if p.F == 0 {
		switch r {
		case fftHalve:
			return newPolyHz(1, 2, fp/float64(rate), fs/float64(rate), att)
		case fftKeep:
			return newPolyHz(1, 1, fp/float64(rate), fs/float64(rate), att)
		}
		// Interpolating by 2: the filter runs at the output rate; in
		// input samples its edges are twice as high.
		return newPolyHz(2, 1, 2*fp/float64(rate), 2*fs/float64(rate), att)
	}
	gain := 1.0
	if r == fftDouble {
		gain = 2
	}
	key := lowpassKey{p.half, fp / float64(rate), fs / float64(rate), att, gain, p.F, r}
	st := designs.get(key, func() any {
		return newFFTStage(r, lowpass(p.half, key.fp, key.fs, att, gain), p.F)
	})
	return st.(*fftStage).clone()
}

// newPolyHz builds a polyphase stage with edges given as fractions of
// its input rate.
func newPolyHz(L, M int, fp, fs, att float64) *polyStage {
	t := designs.get(tableKey{L, M, fp, fs, att}, func() any {
		tab := designPoly(L, M, fp, fs, att)
		return &tab
	})
	return &polyStage{L: L, M: M, t: t.(*polyTable)}
}

type lowpassKey struct {
	half        int
	fp, fs, att float64
	gain        float64
	F           int
	rate        fftRate
}

// clone returns a stage sharing s's kernel spectrum and FFT plans but with
// its own work space and position.
func (s *fftStage) clone() *fftStage {
	c := *s
	c.re, c.im = make([]float64, s.F), make([]float64, s.F)
	return &c
}
