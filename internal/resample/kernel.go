package resample

// DSP kernels of the resampler, as pure functions over slices: Kaiser
// windowed-sinc design, polyphase coefficient tables, the dot products of
// the inner loops. The FFT of the fast-convolution stages is in fft.go, the
// streaming machinery that uses them in stages.go.
//
// The inner loops are marked //go:norace: they only do arithmetic on slices
// their caller owns, and the race detector's instrumentation of every load
// made race-enabled builds (CI) five times slower. The code that fills and
// drains those slices stays instrumented.

import (
	"math"
	"math/bits"
)

// besselI0 returns the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1.0; k < 500; k++ {
		term *= q / (k * k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// kaiserBeta returns the Kaiser window parameter β giving a stopband
// attenuation of att dB (Kaiser's empirical formula).
func kaiserBeta(att float64) float64 {
	switch {
	case att > 50:
		return 0.1102 * (att - 8.7)
	case att > 21:
		return 0.5842*math.Pow(att-21, 0.4) + 0.07886*(att-21)
	}
	return 0
}

// kaiserSpan returns the length, in samples of the rate the filter runs
// at, that a Kaiser-windowed sinc needs for an attenuation of att dB over a
// transition band of width tw (a fraction of that rate).
func kaiserSpan(att, tw float64) float64 {
	return (att - 7.95) / (2.285 * 2 * math.Pi * tw)
}

// kernel is a Kaiser-windowed sinc lowpass in continuous time t (in input
// samples): g·sinc(g·t)·w(t/half), zero for |t| > half. g is twice the
// cutoff as a fraction of the input rate, so that the kernel's samples at
// integer spacing sum to about 1.
type kernel struct {
	g, half, beta, i0beta float64
}

func newKernel(g, half, beta float64) kernel {
	return kernel{g: g, half: half, beta: beta, i0beta: besselI0(beta)}
}

func (k kernel) at(t float64) float64 {
	if t < 0 {
		t = -t
	}
	if t > k.half {
		return 0
	}
	r := t / k.half
	w := besselI0(k.beta*math.Sqrt(math.Max(0, 1-r*r))) / k.i0beta
	x := k.g * t
	s := 1.0
	if x != 0 {
		s = math.Sin(math.Pi*x) / (math.Pi * x)
	}
	return k.g * s * w
}

// polyTable is the coefficient table of a polyphase FIR stage.
//
// Output sample j of a stage with ratio M/L (input samples per output
// sample) sits at input time j·M/L = q + r/L. It is
//
//	y[j] = Σ_i c_r[i] · x[q-off+i],  i = 0..T-1
//
// with c_r the T coefficients of phase r. The exact phases are stored in
// the order the outputs visit them: output j has phase r = j·M mod L and
// reads row j mod L, coef[(j mod L)·T : (j mod L)·T+T], so that a run of
// outputs streams through the table instead of jumping around it (it is
// often larger than the L1 cache). A single phase (L = 1) is symmetric and
// stored whole, but only its first half and centre are read.
//
// With interp > 0 the table is not exact per phase: it holds interp+1
// finely spaced phases, each T coefficients followed by the T differences
// to the next phase, and a phase's coefficients are interpolated linearly.
type polyTable struct {
	taps   int // T
	off    int // input index of tap 0 relative to q
	interp int // 0: L exact phases; >0: interp+1 interpolated phases
	coef   []float64
	// adv[row], for an exact table of several phases, is how far the input
	// position advances from an output that reads row to the next output:
	// floor(M/L) or one more. Looking it up spares the inner loop a branch
	// on the phase that the processor cannot predict.
	adv []int32
}

// maxExactCoefs bounds the size of an exact polyphase table (L·T
// coefficients, 8 bytes each); larger ratios interpolate between finely
// spaced phases instead.
const maxExactCoefs = 1 << 18

// designPoly designs the polyphase table of a stage that converts rate
// ratio M/L (L output samples for every M input samples, gcd 1) with a
// lowpass whose passband ends at fp and stopband starts at fs, both as
// fractions of the input rate, attenuating att dB.
func designPoly(L, M int, fp, fs, att float64) polyTable {
	T := polyTaps(L, fp, fs, att)
	g := fp + fs // 2 × cutoff, cutoff midway
	beta := kaiserBeta(att)
	if L == 1 {
		// One phase: an odd, symmetric filter centred on x[q].
		off := T / 2
		k := newKernel(g, float64(off), beta)
		c := make([]float64, T)
		var sum float64
		for i := range c {
			c[i] = k.at(float64(i - off))
			sum += c[i]
		}
		for i := range c {
			c[i] /= sum
		}
		return polyTable{taps: T, off: off, coef: c}
	}
	off := T/2 - 1
	if L*T <= maxExactCoefs {
		// L exact phases; the window spans T-1/L·2 input samples so that
		// the taps m = -off..T/2 cover it for every phase.
		k := newKernel(g, float64(T)/2-1/float64(L), beta)
		c := make([]float64, L*T)
		var sum float64
		for row := 0; row < L; row++ {
			r := row * M % L // the phase of the outputs that read row
			for i := 0; i < T; i++ {
				v := k.at(float64(r)/float64(L) - float64(i-off))
				c[row*T+i] = v
				sum += v
			}
		}
		scale := float64(L) / sum
		for i := range c {
			c[i] *= scale
		}
		adv := make([]int32, L)
		for row := range adv {
			r := row * M % L
			adv[row] = int32((r + M) / L)
		}
		return polyTable{taps: T, off: off, coef: c, adv: adv}
	}
	// Interpolated phases: the error of linear interpolation between
	// phases 1/P apart is about (π·g/P)²/8 of the kernel; keep it well
	// below the stopband.
	tol := math.Pow(10, -(att+12)/20)
	P := 1 << bits.Len(uint(math.Ceil(math.Pi*g/math.Sqrt(8*tol))))
	P = max(P, 64)
	for P > 64 && (P+1)*2*T > 1<<19 {
		P >>= 1
	}
	k := newKernel(g, float64(T)/2-1, beta)
	c := make([]float64, (P+1)*2*T)
	var sum float64
	for p := 0; p <= P; p++ {
		for i := 0; i < T; i++ {
			v := k.at(float64(p)/float64(P) - float64(i-off))
			c[p*2*T+i] = v
			if p < P {
				sum += v
			}
		}
	}
	scale := float64(P) / sum
	for p := 0; p <= P; p++ {
		for i := 0; i < T; i++ {
			c[p*2*T+i] *= scale
		}
	}
	for p := 0; p < P; p++ {
		for i := 0; i < T; i++ {
			c[p*2*T+T+i] = c[(p+1)*2*T+i] - c[p*2*T+i]
		}
	}
	return polyTable{taps: T, off: off, interp: P, coef: c}
}

// polyTaps returns the number of taps T of the polyphase table of designPoly.
func polyTaps(L int, fp, fs, att float64) int {
	span := kaiserSpan(att, fs-fp) // in input samples
	if L == 1 {
		T := int(math.Ceil(span)) | 1
		T = max(T, 3)
		if T%8 > 1 {
			T = (T+7)&^7 + 1 // 8k+1: one tap after the unrolled loop
		}
		return T
	}
	// T is rounded up to a multiple of 4 for the unrolled dot products; the
	// window widens with it, so the extra taps improve the filter.
	return (int(math.Ceil(span)) + 2 + 3) &^ 3
}

// lowpass returns a symmetric lowpass of odd length 2·half+1 at some rate,
// cutoff midway between fp and fs (fractions of that rate), Kaiser β for att
// dB, scaled so that its taps sum to gain.
func lowpass(half int, fp, fs, att, gain float64) []float64 {
	k := newKernel(fp+fs, float64(half), kaiserBeta(att))
	h := make([]float64, 2*half+1)
	var sum float64
	for i := range h {
		h[i] = k.at(float64(i - half))
		sum += h[i]
	}
	for i := range h {
		h[i] *= gain / sum
	}
	return h
}

// dot returns Σ h[i]·x[i] over len(h) terms, with eight partial sums to
// keep the floating-point units busy.
//
//go:norace
func dot(h, x []float64) float64 {
	x = x[:len(h)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	i := 0
	for ; i+8 <= len(h); i += 8 {
		hh := h[i : i+8 : i+8]
		xx := x[i : i+8 : i+8]
		s0 += hh[0] * xx[0]
		s1 += hh[1] * xx[1]
		s2 += hh[2] * xx[2]
		s3 += hh[3] * xx[3]
		s4 += hh[4] * xx[4]
		s5 += hh[5] * xx[5]
		s6 += hh[6] * xx[6]
		s7 += hh[7] * xx[7]
	}
	for ; i < len(h); i++ {
		s0 += h[i] * x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotSym returns Σ c[i]·x[i] over the 2H+1 taps of a symmetric filter c
// given by its first half and centre h = c[0..H]: it adds the samples that
// share a coefficient before multiplying.
//
//go:norace
func dotSym(h, x []float64) float64 {
	H := len(h) - 1
	x = x[:2*H+1]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= H; i += 4 {
		hh := h[i : i+4 : i+4]
		a := x[i : i+4 : i+4]
		b := x[2*H-i-3 : 2*H-i+1 : 2*H-i+1]
		s0 += hh[0] * (a[0] + b[3])
		s1 += hh[1] * (a[1] + b[2])
		s2 += hh[2] * (a[2] + b[1])
		s3 += hh[3] * (a[3] + b[0])
	}
	for ; i < H; i++ {
		s0 += h[i] * (x[i] + x[2*H-i])
	}
	return (s0 + s1) + (s2 + s3) + h[H]*x[H]
}

// dotPairGo returns Σ h1[i]·x1[i] and Σ h2[i]·x2[i] over len(h1) terms
// (h2 at least as long): two outputs computed together. It is dotPair
// where there is no assembly.
//
//go:norace
func dotPairGo(h1, x1, h2, x2 []float64) (float64, float64) {
	n := len(h1)
	x1, h2, x2 = x1[:n], h2[:n], x2[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		c := h1[i : i+4 : i+4]
		u := x1[i : i+4 : i+4]
		d := h2[i : i+4 : i+4]
		v := x2[i : i+4 : i+4]
		a0 += c[0] * u[0]
		a1 += c[1] * u[1]
		a2 += c[2] * u[2]
		a3 += c[3] * u[3]
		b0 += d[0] * v[0]
		b1 += d[1] * v[1]
		b2 += d[2] * v[2]
		b3 += d[3] * v[3]
	}
	for ; i < n; i++ {
		a0 += h1[i] * x1[i]
		b0 += h2[i] * x2[i]
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// dotSym2 is dotSym for two outputs at once.
//
//go:norace
func dotSym2(h, x1, x2 []float64) (float64, float64) {
	H := len(h) - 1
	x1, x2 = x1[:2*H+1], x2[:2*H+1]
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= H; i += 2 {
		hh := h[i : i+2 : i+2]
		a0 += hh[0] * (x1[i] + x1[2*H-i])
		a1 += hh[1] * (x1[i+1] + x1[2*H-i-1])
		b0 += hh[0] * (x2[i] + x2[2*H-i])
		b1 += hh[1] * (x2[i+1] + x2[2*H-i-1])
	}
	for ; i < H; i++ {
		a0 += h[i] * (x1[i] + x1[2*H-i])
		b0 += h[i] * (x2[i] + x2[2*H-i])
	}
	return (a0 + a1) + h[H]*x1[H], (b0 + b1) + h[H]*x2[H]
}

// dot2 returns Σ c[i]·x[i] + mu·Σ d[i]·x[i], reading x once: one output of
// an interpolated-phase table (coefficients c, differences d).
//
//go:norace
func dot2(c, d, x []float64, mu float64) float64 {
	x = x[:len(c)]
	d = d[:len(c)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(c); i += 4 {
		cc := c[i : i+4 : i+4]
		dd := d[i : i+4 : i+4]
		xx := x[i : i+4 : i+4]
		a0 += cc[0] * xx[0]
		a1 += cc[1] * xx[1]
		a2 += cc[2] * xx[2]
		a3 += cc[3] * xx[3]
		b0 += dd[0] * xx[0]
		b1 += dd[1] * xx[1]
		b2 += dd[2] * xx[2]
		b3 += dd[3] * xx[3]
	}
	for ; i < len(c); i++ {
		a0 += c[i] * x[i]
		b0 += d[i] * x[i]
	}
	return ((a0 + a1) + (a2 + a3)) + mu*((b0+b1)+(b2+b3))
}

// polyRun computes n outputs of a polyphase stage into out, starting at
// the output whose input position is q + r/L and whose row of an exact
// table is row, where x[0] is input sample base. It returns the position
// after the last output. The caller guarantees that x holds every tap read.
//
//go:norace
func polyRun(t *polyTable, L, M int, out, x []float64, base, q int64, r, row int, n int) (int64, int) {
	T := t.taps
	step, rem := int64(M/L), M%L
	lo := q - int64(t.off) - base
	switch {
	case L == 1:
		// Integer decimation: one symmetric phase, no phase arithmetic.
		h := t.coef[:T/2+1]
		k := 0
		for ; k+1 < n; k += 2 {
			out[k], out[k+1] = dotSym2(h, x[lo:], x[lo+int64(M):])
			lo += 2 * int64(M)
		}
		if k < n {
			out[k] = dotSym(h, x[lo:])
		}
		return q + int64(n)*int64(M), 0
	case t.interp == 0:
		// Two outputs at a time: twice the independent work per loop
		// iteration, which short filters need to keep the FPUs busy.
		// Output j reads row j mod L, and its phase is that row's: r =
		// row·M mod L. Two outputs at a time: twice the independent work
		// per loop iteration, which short filters need to keep the FPUs
		// busy.
		adv := t.adv[:L]
		coef := t.coef[:L*T]
		k := 0
		for ; k+1 < n; k += 2 {
			h1, x1 := coef[row*T:row*T+T], x[lo:]
			lo += int64(adv[row])
			if row++; row == L {
				row = 0
			}
			h2, x2 := coef[row*T:row*T+T], x[lo:]
			lo += int64(adv[row])
			if row++; row == L {
				row = 0
			}
			out[k], out[k+1] = dotPair(h1, x1, h2, x2)
		}
		if k < n {
			out[k] = dot(coef[row*T:row*T+T], x[lo:])
			lo += int64(adv[row])
			if row++; row == L {
				row = 0
			}
		}
		r = row * M % L
	default:
		P := t.interp
		scale := float64(P) / float64(L)
		for k := 0; k < n; k++ {
			pos := float64(r) * scale
			p := int(pos)
			c := t.coef[p*2*T : p*2*T+2*T]
			out[k] = dot2(c[:T], c[T:], x[lo:], pos-float64(p))
			lo += step
			if r += rem; r >= L {
				r -= L
				lo++
			}
		}
	}
	return lo + int64(t.off) + base, r
}
