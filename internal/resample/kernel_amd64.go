//go:build !purego

package resample

// Inner loops in SSE2 assembly (kernel_amd64.s), which every amd64
// processor has: two float64s per instruction.

//go:noescape
func dotPairSSE2(h1, x1, h2, x2 *float64, n int) (a, b float64)

//go:noescape
func mulSpectrumSSE2(ar, ai, br, bi *float64, n int)

// dotPair returns Σ h1[i]·x1[i] and Σ h2[i]·x2[i] over len(h1) terms
// (h2 at least as long): two outputs computed together.
func dotPair(h1, x1, h2, x2 []float64) (float64, float64) {
	n := len(h1)
	x1, h2, x2 = x1[:n], h2[:n], x2[:n]
	m := n &^ 3
	var a, b float64
	if m > 0 {
		a, b = dotPairSSE2(&h1[0], &x1[0], &h2[0], &x2[0], m)
	}
	for i := m; i < n; i++ {
		a += h1[i] * x1[i]
		b += h2[i] * x2[i]
	}
	return a, b
}

// mulSpectrum multiplies the spectrum a by b in place: the same operations
// as mulSpectrumGo, so the same results.
func mulSpectrum(ar, ai, br, bi []float64) {
	n := len(ar)
	ai, br, bi = ai[:n], br[:n], bi[:n]
	m := n &^ 1
	if m > 0 {
		mulSpectrumSSE2(&ar[0], &ai[0], &br[0], &bi[0], m)
	}
	if m < n {
		mulSpectrumGo(ar[m:], ai[m:], br[m:], bi[m:])
	}
}
