package resample

import (
	"math"
	"math/bits"
)

// cfft is a plan for complex FFTs of size n, a power of two of at least 4,
// on split real and imaginary slices. They serve fast convolution, where
// the order of the spectrum does not matter: forward transforms by
// decimation in frequency, from natural order to bit-reversed order, and
// inverse transforms by decimation in time, from bit-reversed order back
// to natural order, so that neither ever permutes its data. The inverse is
// not normalised: inverse(forward(x)) = n·x.
//
// Both run radix-4 passes (three complex products per four points) from
// precomputed twiddles, with a radix-2 pass at the full size when log2 n is
// odd; the passes with twiddles run in assembly where there is some
// (forwardPass, inversePass). The loops are marked //go:norace like those
// of kernel.go.
type cfft struct {
	n      int
	hr, hi []float64  // radix-2 pass (odd log2 n): W_n^k for k < n/2
	passes []cfftPass // radix-4 passes with twiddles, largest first; the last (size 4) has none
}

// cfftPass holds the twiddles of a radix-4 pass over groups of m points:
// W^k, W^2k and W^3k, W = e^{-2πi/m}, for k < m/4.
type cfftPass struct {
	m  int
	tw [6][]float64 // re and im of W^k, W^2k, W^3k
	// packed holds the same for the assembly passes, by pairs of k: W^k
	// re, W^k im, W^2k re, W^2k im, W^3k re, W^3k im, two values each.
	packed []float64
}

func newCFFT(n int) *cfft {
	f := &cfft{n: n}
	lg := bits.Len(uint(n)) - 1
	m := n
	if lg%2 == 1 {
		f.hr, f.hi = make([]float64, n/2), make([]float64, n/2)
		for k := range f.hr {
			a := -2 * math.Pi * float64(k) / float64(n)
			f.hr[k], f.hi[k] = math.Cos(a), math.Sin(a)
		}
		m = n / 2
	}
	for ; m > 4; m /= 4 {
		q := m / 4
		p := cfftPass{m: m}
		for j := range p.tw {
			p.tw[j] = make([]float64, q)
		}
		for k := 0; k < q; k++ {
			for j := 1; j <= 3; j++ {
				a := -2 * math.Pi * float64(j*k) / float64(m)
				p.tw[2*j-2][k], p.tw[2*j-1][k] = math.Cos(a), math.Sin(a)
			}
		}
		p.packed = make([]float64, 6*q)
		for k := 0; k < q; k++ {
			for j := range p.tw {
				p.packed[12*(k/2)+2*j+k%2] = p.tw[j][k]
			}
		}
		f.passes = append(f.passes, p)
	}
	return f
}

// forward transforms re + i·im (n long) in place; the spectrum comes out in
// bit-reversed order.
func (f *cfft) forward(re, im []float64) {
	re, im = re[:f.n], im[:f.n]
	if f.hr != nil {
		radix2Forward(re, im, f.hr, f.hi)
	}
	for i := range f.passes {
		forwardPass(re, im, &f.passes[i])
	}
	radix4Plain(re, im, false)
}

// inverse transforms the bit-reversed spectrum re + i·im (n long) in place
// back to natural order, scaled by n.
func (f *cfft) inverse(re, im []float64) {
	re, im = re[:f.n], im[:f.n]
	radix4Plain(re, im, true)
	for i := len(f.passes) - 1; i >= 0; i-- {
		inversePass(re, im, &f.passes[i])
	}
	if f.hr != nil {
		radix2Inverse(re, im, f.hr, f.hi)
	}
}

// radix2Forward is the decimation-in-frequency radix-2 pass over the whole
// of re, im: (a, b) → (a+b, (a-b)·W^k).
//
//go:norace
func radix2Forward(re, im, twr, twi []float64) {
	h := len(re) / 2
	r0, r1 := re[:h], re[h:2*h]
	i0, i1 := im[:h], im[h:2*h]
	r1, i0, i1 = r1[:len(r0)], i0[:len(r0)], i1[:len(r0)]
	twr, twi = twr[:len(r0)], twi[:len(r0)]
	for k := range r0 {
		wr, wi := twr[k], twi[k]
		ar, ai, br, bi := r0[k], i0[k], r1[k], i1[k]
		dr, di := ar-br, ai-bi
		r0[k], i0[k] = ar+br, ai+bi
		r1[k], i1[k] = dr*wr-di*wi, dr*wi+di*wr
	}
}

// radix2Inverse undoes radix2Forward (times 2): (u, v) → (u+v·conj(W^k),
// u-v·conj(W^k)).
//
//go:norace
func radix2Inverse(re, im, twr, twi []float64) {
	h := len(re) / 2
	r0, r1 := re[:h], re[h:2*h]
	i0, i1 := im[:h], im[h:2*h]
	r1, i0, i1 = r1[:len(r0)], i0[:len(r0)], i1[:len(r0)]
	twr, twi = twr[:len(r0)], twi[:len(r0)]
	for k := range r0 {
		wr, wi := twr[k], twi[k]
		vr, vi := r1[k], i1[k]
		br, bi := vr*wr+vi*wi, vi*wr-vr*wi
		ur, ui := r0[k], i0[k]
		r0[k], i0[k] = ur+br, ui+bi
		r1[k], i1[k] = ur-br, ui-bi
	}
}

// radix4Forward is a decimation-in-frequency radix-4 pass over groups of m
// points. Of a group's four quarters a0..a3, at each k < m/4 (q = m/4) it
// stores what two radix-2 passes would, with three complex products:
//
//	x[k]      = s0 + s1            s0 = a0+a2, s1 = a1+a3
//	x[k+q]    = (s0 - s1)·W^2k     d0 = a0-a2, d1 = -i·(a1-a3)
//	x[k+2q]   = (d0 + d1)·W^k
//	x[k+3q]   = (d0 - d1)·W^3k
//
// which keeps the bit-reversed order of radix 2.
//
//go:norace
func radix4Forward(re, im []float64, m int, tw *[6][]float64) {
	q := m / 4
	for g := 0; g+m <= len(re) && g+m <= len(im); g += m {
		r0, r1, r2, r3 := re[g:g+q], re[g+q:g+2*q], re[g+2*q:g+3*q], re[g+3*q:g+m]
		i0, i1, i2, i3 := im[g:g+q], im[g+q:g+2*q], im[g+2*q:g+3*q], im[g+3*q:g+m]
		r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
		i0, i1, i2, i3 = i0[:len(r0)], i1[:len(r0)], i2[:len(r0)], i3[:len(r0)]
		w1r, w1i := tw[0][:len(r0)], tw[1][:len(r0)]
		w2r, w2i := tw[2][:len(r0)], tw[3][:len(r0)]
		w3r, w3i := tw[4][:len(r0)], tw[5][:len(r0)]
		for k := range r0 {
			a0r, a0i, a1r, a1i := r0[k], i0[k], r1[k], i1[k]
			a2r, a2i, a3r, a3i := r2[k], i2[k], r3[k], i3[k]
			s0r, s0i, d0r, d0i := a0r+a2r, a0i+a2i, a0r-a2r, a0i-a2i
			s1r, s1i, d1r, d1i := a1r+a3r, a1i+a3i, a1i-a3i, a3r-a1r
			r0[k], i0[k] = s0r+s1r, s0i+s1i
			xr, xi := s0r-s1r, s0i-s1i
			r1[k], i1[k] = xr*w2r[k]-xi*w2i[k], xr*w2i[k]+xi*w2r[k]
			xr, xi = d0r+d1r, d0i+d1i
			r2[k], i2[k] = xr*w1r[k]-xi*w1i[k], xr*w1i[k]+xi*w1r[k]
			xr, xi = d0r-d1r, d0i-d1i
			r3[k], i3[k] = xr*w3r[k]-xi*w3i[k], xr*w3i[k]+xi*w3r[k]
		}
	}
}

// radix4Inverse undoes radix4Forward (times 4), with the conjugate
// twiddles: b1 = x1·conj(W^2k), b2 = x2·conj(W^k), b3 = x3·conj(W^3k), then
// a0, a2 = (x0+b1) ± (b2+b3) and a1, a3 = (x0-b1) ± i·(b2-b3).
//
//go:norace
func radix4Inverse(re, im []float64, m int, tw *[6][]float64) {
	q := m / 4
	for g := 0; g+m <= len(re) && g+m <= len(im); g += m {
		r0, r1, r2, r3 := re[g:g+q], re[g+q:g+2*q], re[g+2*q:g+3*q], re[g+3*q:g+m]
		i0, i1, i2, i3 := im[g:g+q], im[g+q:g+2*q], im[g+2*q:g+3*q], im[g+3*q:g+m]
		r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
		i0, i1, i2, i3 = i0[:len(r0)], i1[:len(r0)], i2[:len(r0)], i3[:len(r0)]
		w1r, w1i := tw[0][:len(r0)], tw[1][:len(r0)]
		w2r, w2i := tw[2][:len(r0)], tw[3][:len(r0)]
		w3r, w3i := tw[4][:len(r0)], tw[5][:len(r0)]
		for k := range r0 {
			xr, xi := r1[k], i1[k]
			b1r, b1i := xr*w2r[k]+xi*w2i[k], xi*w2r[k]-xr*w2i[k]
			xr, xi = r2[k], i2[k]
			b2r, b2i := xr*w1r[k]+xi*w1i[k], xi*w1r[k]-xr*w1i[k]
			xr, xi = r3[k], i3[k]
			b3r, b3i := xr*w3r[k]+xi*w3i[k], xi*w3r[k]-xr*w3i[k]
			x0r, x0i := r0[k], i0[k]
			u0r, u0i, u1r, u1i := x0r+b1r, x0i+b1i, x0r-b1r, x0i-b1i
			v0r, v0i, v1r, v1i := b2r+b3r, b2i+b3i, b2r-b3r, b2i-b3i
			r0[k], i0[k] = u0r+v0r, u0i+v0i
			r2[k], i2[k] = u0r-v0r, u0i-v0i
			r1[k], i1[k] = u1r-v1i, u1i+v1r
			r3[k], i3[k] = u1r+v1i, u1i-v1r
		}
	}
}

// radix4Plain is the radix-4 pass over groups of 4 points, whose twiddles
// are all 1: the last pass of forward (inverse false) or the first of
// inverse.
//
//go:norace
func radix4Plain(re, im []float64, inverse bool) {
	for g := 0; g+4 <= len(re) && g+4 <= len(im); g += 4 {
		r := re[g : g+4 : g+4]
		m := im[g : g+4 : g+4]
		if !inverse {
			s0r, s0i, d0r, d0i := r[0]+r[2], m[0]+m[2], r[0]-r[2], m[0]-m[2]
			s1r, s1i, d1r, d1i := r[1]+r[3], m[1]+m[3], m[1]-m[3], r[3]-r[1]
			r[0], m[0] = s0r+s1r, s0i+s1i
			r[1], m[1] = s0r-s1r, s0i-s1i
			r[2], m[2] = d0r+d1r, d0i+d1i
			r[3], m[3] = d0r-d1r, d0i-d1i
			continue
		}
		u0r, u0i, u1r, u1i := r[0]+r[1], m[0]+m[1], r[0]-r[1], m[0]-m[1]
		v0r, v0i, v1r, v1i := r[2]+r[3], m[2]+m[3], r[2]-r[3], m[2]-m[3]
		r[0], m[0] = u0r+v0r, u0i+v0i
		r[2], m[2] = u0r-v0r, u0i-v0i
		r[1], m[1] = u1r-v1i, u1i+v1r
		r[3], m[3] = u1r+v1i, u1i-v1r
	}
}
