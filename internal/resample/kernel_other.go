//go:build !amd64 || purego

package resample

// dotPair returns Σ h1[i]·x1[i] and Σ h2[i]·x2[i] over len(h1) terms
// (h2 at least as long): two outputs computed together.
func dotPair(h1, x1, h2, x2 []float64) (float64, float64) { return dotPairGo(h1, x1, h2, x2) }

// mulSpectrum multiplies the spectrum a by b in place.
func mulSpectrum(ar, ai, br, bi []float64) { mulSpectrumGo(ar, ai, br, bi) }
