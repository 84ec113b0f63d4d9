//go:build !purego

package resample

// The radix-4 passes with twiddles run in SSE2 assembly (fft_amd64.s) on
// amd64, where every processor has SSE2: two values of k per instruction,
// with the same operations as the Go code and so the same results.

//go:noescape
func radix4ForwardGroup(r0, i0 *float64, q int, tw *float64)

//go:noescape
func radix4InverseGroup(r0, i0 *float64, q int, tw *float64)

// forwardPass runs the radix-4 pass p of a forward transform.
func forwardPass(re, im []float64, p *cfftPass) {
	m := p.m
	for g := 0; g+m <= len(re) && g+m <= len(im); g += m {
		radix4ForwardGroup(&re[g], &im[g], m/4, &p.packed[0])
	}
}

// inversePass runs the radix-4 pass p of an inverse transform.
func inversePass(re, im []float64, p *cfftPass) {
	m := p.m
	for g := 0; g+m <= len(re) && g+m <= len(im); g += m {
		radix4InverseGroup(&re[g], &im[g], m/4, &p.packed[0])
	}
}
