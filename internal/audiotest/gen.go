package audiotest

import (
	"math"
	"math/cmplx"
)

// Spectrum returns the amplitude spectrum of x, windowed with a 4-term
// Blackman-Harris window (side lobes below -92 dB) and zero-padded to a
// power of two. It is scaled so that a sine of amplitude A reads A at its
// peak bin (within the window's 0.8 dB scalloping loss between bins). Bin i
// lies at i·rate/(2·(len-1)) Hz, where len is the length returned; BinHz
// computes it.
func Spectrum(x []float64) []float64 {
	n := 1
	for n < len(x) {
		n *= 2
	}
	buf := make([]complex128, n)
	var wsum float64
	for i, v := range x {
		t := 2 * math.Pi * float64(i) / float64(len(x))
		w := 0.35875 - 0.48829*math.Cos(t) + 0.14128*math.Cos(2*t) - 0.01168*math.Cos(3*t)
		wsum += w
		buf[i] = complex(v*w, 0)
	}
	fft(buf)
	out := make([]float64, n/2+1)
	for i := range out {
		out[i] = 2 * cmplx.Abs(buf[i]) / wsum
	}
	return out
}

// BinHz returns the frequency of bin i of a spectrum of nbins bins (as
// Spectrum returns) at the given sample rate.
func BinHz(i, nbins, rate int) float64 {
	return float64(i) * float64(rate) / float64(2*(nbins-1))
}

// fft transforms x in place (radix-2, len(x) a power of two).
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Rect(1, -2*math.Pi/float64(size))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

// FitSines fits x to a sum of sines at the known frequencies plus a
// constant, by least squares, and returns each sine's amplitude and the RMS
// of what the fit leaves over. It separates close tones (such as the two of
// a DTMF digit) over short windows, where a one-frequency fit would leak.
func FitSines(x []float64, freqs []float64, rate int) (amps []float64, residualRMS float64) {
	k := 2*len(freqs) + 1
	basis := func(n int, b []float64) {
		for i, f := range freqs {
			s, c := math.Sincos(2 * math.Pi * f * float64(n) / float64(rate))
			b[2*i], b[2*i+1] = s, c
		}
		b[k-1] = 1
	}
	m := make([][]float64, k)
	for i := range m {
		m[i] = make([]float64, k+1)
	}
	b := make([]float64, k)
	for n, v := range x {
		basis(n, b)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				m[i][j] += b[i] * b[j]
			}
			m[i][k] += b[i] * v
		}
	}
	coef := solve(m)
	amps = make([]float64, len(freqs))
	for i := range freqs {
		amps[i] = math.Hypot(coef[2*i], coef[2*i+1])
	}
	var res float64
	for n, v := range x {
		basis(n, b)
		fit := 0.0
		for i := range coef {
			fit += coef[i] * b[i]
		}
		res += (v - fit) * (v - fit)
	}
	if len(x) > 0 {
		res = math.Sqrt(res / float64(len(x)))
	}
	return amps, res
}

// solve solves the augmented system m (k rows of k+1) by Gaussian
// elimination with partial pivoting.
func solve(m [][]float64) []float64 {
	k := len(m)
	for i := 0; i < k; i++ {
		p := i
		for r := i + 1; r < k; r++ {
			if math.Abs(m[r][i]) > math.Abs(m[p][i]) {
				p = r
			}
		}
		m[i], m[p] = m[p], m[i]
		if m[i][i] == 0 {
			continue
		}
		for r := 0; r < k; r++ {
			if r == i {
				continue
			}
			f := m[r][i] / m[i][i]
			for c := i; c <= k; c++ {
				m[r][c] -= f * m[i][c]
			}
		}
	}
	out := make([]float64, k)
	for i := range out {
		if m[i][i] != 0 {
			out[i] = m[i][k] / m[i][i]
		}
	}
	return out
}

// DB converts an amplitude ratio to decibels.
func DB(ratio float64) float64 { return 20 * math.Log10(ratio) }
