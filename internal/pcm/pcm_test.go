package pcm

import (
	"math"
	"testing"
)

func TestRoundTrips(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 1, -1, 0.25, -0.75, 1 / 32768.0}
	for _, enc := range []Encoding{S16LE, F32LE, ULaw, ALaw} {
		b := Append([]byte("x"), in, enc)
		if len(b) != 1+len(in)*enc.Size() || b[0] != 'x' {
			t.Fatalf("%v: appended %d bytes", enc, len(b)-1)
		}
		out := make([]float32, len(in))
		Decode(out, b[1:], enc)
		for i := range in {
			d, x := math.Abs(float64(out[i]-in[i])), math.Abs(float64(in[i]))
			tol := 1.0 / 32768 // one 16-bit step
			if enc == ULaw || enc == ALaw {
				tol = math.Max(16.0/32768, x/16) // G.711's 4-bit mantissa
			}
			if d > tol {
				t.Errorf("%v: %v came back as %v", enc, in[i], out[i])
			}
		}
		name := enc.String()
		if back, err := Parse(name); err != nil || back != enc {
			t.Errorf("Parse(%q) = %v, %v", name, back, err)
		}
	}
	if _, err := Parse("s24le"); err == nil {
		t.Error("Parse accepted s24le")
	}
}

func TestS16Convention(t *testing.T) {
	cases := map[float32]int16{0: 0, 1: 32767, -1: -32768, 0.5: 16384, 2: 32767, -2: -32768, 1.0 / 65536: 1, float32(math.NaN()): 0}
	for x, want := range cases {
		if got := S16(x); got != want {
			t.Errorf("S16(%v) = %d, want %d", x, got, want)
		}
	}
}
