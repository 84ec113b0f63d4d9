//go:build !amd64 || purego

package resample

// forwardPass runs the radix-4 pass p of a forward transform.
func forwardPass(re, im []float64, p *cfftPass) { radix4Forward(re, im, p.m, &p.tw) }

// inversePass runs the radix-4 pass p of an inverse transform.
func inversePass(re, im []float64, p *cfftPass) { radix4Inverse(re, im, p.m, &p.tw) }
