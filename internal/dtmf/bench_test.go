package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkWrite measures the detector's cost per sample on speech-like
// noise with digits in it, written in 20 ms pieces as a call's audio
// arrives, and reports how many times faster than real time it runs.
func BenchmarkWrite(b *testing.B) {
	for _, rate := range []int{8000, 16000, 48000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			x := render(rate, 0.2, key(b, '5', -10, 0.1), pause(0.2), key(b, '#', -20, 0.1), pause(0.4))
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x {
				x[i] += float32(0.05 * r.NormFloat64() * math.Sin(float64(i)/float64(rate)*7))
			}
			d, err := New(rate)
			if err != nil {
				b.Fatal(err)
			}
			piece := rate / 50
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for p := x; len(p) > 0; {
					n := min(len(p), piece)
					d.Write(p[:n])
					p = p[n:]
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(x))
			b.ReportMetric(ns, "ns/sample")
			b.ReportMetric(1e9/(ns*float64(rate)), "x-realtime")
		})
	}
}
