package elkstest

import (
	"math"
	"math/rand/v2"
	"testing"
)

// correlationTwoPass is the Pearson correlation as the textbook has it,
// the reference for correlationCentered.
func correlationTwoPass(a, b []float64) float64 {
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

// The one-pass correlation agrees with the two-pass one to 1e-9 on
// envelopes like those of speech (levels from silence to loud, a pause of
// exact zeros), and is 0 when either window is constant (a steady tone:
// its mean is rounded, and the two-pass formula gives ±1 or noise).
func TestCorrelationCentered(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 400
	x := make([]float64, n)
	for trial := range 2000 {
		a, b := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i] = r.Float64() * r.Float64()
			b[i] = 0.5*a[i] + 0.1*r.Float64()
		}
		switch trial % 5 {
		case 1: // a pause: exact zeros in b
			clear(b[n/3 : 2*n/3])
		case 2: // b unrelated to a
			for i := range b {
				b[i] = r.Float64()
			}
		case 3: // b constant
			for i := range b {
				b[i] = 0.3
			}
		case 4: // a constant (a steady tone), b its echo
			for i := range a {
				a[i], b[i] = 0.37, 0.37/4
			}
		}
		xx, sx := center(x, a)
		got, want := correlationCentered(x, xx, sx, b), correlationTwoPass(a, b)
		if trial%5 >= 3 {
			want = 0 // a constant window correlates with nothing
		}
		if math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: correlation %v, want %v", trial, got, want)
		}
	}
}

// The echo of what was said, 240 ms later and quieter, is found at 240 ms
// with a correlation near 1; a steady tone, whose level says nothing of
// its delay, gives no measurement rather than a wrong one.
func TestMeasureEchoFindsTheDelay(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	said := make(envelope, 4000) // 20 s of 5 ms blocks
	for i := range said {
		if (i/100)%3 != 2 { // speech with pauses
			said[i] = float32(r.Float64())
		}
	}
	const delay = 48 // blocks: 240 ms
	heard := make(envelope, len(said)+delay)
	for i, v := range said {
		heard[i+delay] = v / 4
	}
	e := measureEcho(said, heard)
	if e == nil || math.Abs(e.Latency-0.24) > 1e-9 || e.Correlation < 0.99 || e.Correlation > 1 {
		t.Fatalf("echo %+v, want 0.24 s at a correlation near 1", e)
	}
	for i := range said {
		said[i] = 0.37
		heard[i+delay] = 0.37 / 4
	}
	if e := measureEcho(said, heard); e != nil {
		t.Errorf("echo of a steady tone %+v, want none", e)
	}
}

// Measuring the echo of a 20 s call, as the simulator does when each
// echo call ends.
func BenchmarkMeasureEcho(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	said := make(envelope, 4000)
	for i := range said {
		said[i] = float32(r.Float64())
	}
	heard := make(envelope, len(said)+48)
	for i, v := range said {
		heard[i+48] = v / 4
	}
	for b.Loop() {
		measureEcho(said, heard)
	}
}
