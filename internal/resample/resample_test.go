package resample

import (
	"math"
	"math/big"
	"math/bits"
	"math/rand"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// TestScale checks the rounding and the range of Scale.
func TestScale(t *testing.T) {
	// Halves round up: 1 frame at 16 kHz is half a frame at 8 kHz.
	if got := Scale(1, 8000, 16000); got != 1 {
		t.Errorf("Scale(1, 8000, 16000) = %d, want 1", got)
	}
	// No overflow on long streams.
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1000; i++ {
		n := rng.Int63n(1 << 50)
		num, den := 1+rng.Intn(pipeline.MaxRate), 1+rng.Intn(pipeline.MaxRate)
		w := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(2*num)))
		w.Add(w, big.NewInt(int64(den)))
		w.Div(w, big.NewInt(int64(2*den)))
		if got := Scale(n, num, den); got != w.Int64() {
			t.Fatalf("Scale(%d, %d, %d) = %d, want %d", n, num, den, got, w.Int64())
		}
	}
}

// TestFFTMatchesDFT checks cfft against the definition of the DFT: forward
// gives the spectrum in bit-reversed order, inverse takes it back scaled by
// the size.
func TestFFTMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, N := range []int{4, 8, 16, 32, 64, 128, 512, 2048} {
		f := newCFFT(N)
		xr, xi := make([]float64, N), make([]float64, N)
		for i := range xr {
			xr[i], xi[i] = rng.Float64()-0.5, rng.Float64()-0.5
		}
		re, im := append([]float64(nil), xr...), append([]float64(nil), xi...)
		f.forward(re, im)
		lg := bits.Len(uint(N)) - 1
		for p := 0; p < N; p++ {
			k := int(bits.Reverse32(uint32(p)) >> (32 - lg))
			var sr, si float64
			for n := range xr {
				a := -2 * math.Pi * float64(k*n%N) / float64(N)
				c, s := math.Cos(a), math.Sin(a)
				sr += xr[n]*c - xi[n]*s
				si += xr[n]*s + xi[n]*c
			}
			if e := math.Hypot(sr-re[p], si-im[p]); e > 1e-12 {
				t.Fatalf("N=%d: bin %d (at %d) off by %g", N, k, p, e)
			}
		}
		f.inverse(re, im)
		for n := range xr {
			if e := math.Hypot(re[n]/float64(N)-xr[n], im[n]/float64(N)-xi[n]); e > 1e-14 {
				t.Fatalf("N=%d: inverse off by %g at %d", N, e, n)
			}
		}
	}
}

// TestFFTPassesMatchGo checks the passes that run in assembly against the
// Go code: the same operations, so the same results to the bit.
func TestFFTPassesMatchGo(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, n := range []int{16, 64, 256, 2048, 4096} {
		f := newCFFT(n)
		for i := range f.passes {
			p := &f.passes[i]
			re, im := make([]float64, n), make([]float64, n)
			for k := range re {
				re[k], im[k] = rng.Float64()-0.5, rng.Float64()-0.5
			}
			r2, i2 := append([]float64(nil), re...), append([]float64(nil), im...)
			same := func(dir string) {
				for k := range re {
					if re[k] != r2[k] || im[k] != i2[k] {
						t.Fatalf("n=%d %s pass m=%d: at %d %g%+gi, want %g%+gi", n, dir, p.m, k, re[k], im[k], r2[k], i2[k])
					}
				}
			}
			forwardPass(re, im, p)
			radix4Forward(r2, i2, p.m, &p.tw)
			same("forward")
			inversePass(re, im, p)
			radix4Inverse(r2, i2, p.m, &p.tw)
			same("inverse")
		}
	}
}

// TestStagesMatchTheirDefinition checks the stages against their
// definition: polyphase y[j] = Σ_n x[n]·h(j·M/L - n) with the windowed sinc
// h; fast convolution against direct convolution.
func TestStagesMatchTheirDefinition(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	x := make([]float64, 3000)
	for i := range x {
		x[i] = rng.Float64() - 0.5
	}
	run := func(st stage, outLen int64) []float64 {
		st.start(0)
		in := &signal{ch: make([][]float64, 1)}
		out := &signal{ch: make([][]float64, 1)}
		in.start = st.firstIn()
		in.padTo(0)
		in.grow(len(x))
		copy(in.ch[0][in.off+in.n:], x)
		in.n += len(x)
		in.final = true
		st.setEnd(outLen)
		for st.run(in, out) {
		}
		return out.ch[0][out.off : out.off+out.n]
	}
	at := func(i int64) float64 {
		if i < 0 || i >= int64(len(x)) {
			return 0
		}
		return x[i]
	}
	// Polyphase stages, exact and interpolated tables, against the
	// windowed sinc evaluated at every tap.
	for _, c := range []struct{ L, M int }{{1, 1}, {1, 3}, {2, 1}, {160, 441}, {441, 160}, {7999, 22050}} {
		st := newPolyHz(c.L, c.M, 0.1, 0.35, 100)
		tab := st.t
		half := float64(tab.taps)/2 - 1/float64(c.L)
		if c.L == 1 {
			half = float64(tab.off)
		} else if tab.interp > 0 {
			half = float64(tab.taps)/2 - 1
		}
		k := newKernel(0.45, half, kaiserBeta(100))
		outLen := int64(len(x)) * int64(c.L) / int64(c.M)
		y := run(st, outLen)
		if int64(len(y)) != outLen {
			t.Fatalf("L=%d M=%d: %d outputs, want %d", c.L, c.M, len(y), outLen)
		}
		// The table is normalised to unity gain; so is the reference.
		phases := c.L
		if tab.interp > 0 {
			phases = tab.interp
		}
		var gain float64
		for r := 0; r < phases; r++ {
			for m := -tab.taps; m <= tab.taps; m++ {
				gain += k.at(float64(r)/float64(phases) - float64(m))
			}
		}
		gain /= float64(phases)
		tol := 1e-12
		if tab.interp > 0 {
			tol = 1e-6
		}
		for j := int64(0); j < outLen; j += 7 {
			// Position j·M/L = q + r/L, split exactly (the window's edge
			// taps sit exactly at ±half for some phases).
			q := j * int64(c.M) / int64(c.L)
			frac := float64(j*int64(c.M)-q*int64(c.L)) / float64(c.L)
			var want float64
			for n := q - int64(tab.taps); n <= q+int64(tab.taps); n++ {
				want += at(n) * k.at(frac+float64(q-n))
			}
			want /= gain
			if e := math.Abs(y[j] - want); e > tol {
				t.Fatalf("L=%d M=%d: output %d = %g, want %g (error %g)", c.L, c.M, j, y[j], want, e)
			}
		}
	}
	// Fast-convolution stages against direct convolution with their filter.
	for _, r := range []fftRate{fftHalve, fftDouble, fftKeep} {
		h := lowpass(40, 0.2, 0.25, 100, 1)
		st := newFFTStage(r, h, 256)
		outLen := map[fftRate]int64{fftHalve: int64(len(x) / 2), fftDouble: int64(len(x) * 2), fftKeep: int64(len(x))}[r]
		y := run(st, outLen)
		if int64(len(y)) != outLen {
			t.Fatalf("rate %d: %d outputs, want %d", r, len(y), outLen)
		}
		for j := int64(0); j < outLen; j++ {
			var want float64
			for i, v := range h {
				switch r {
				case fftHalve:
					want += v * at(2*j-40+int64(i))
				case fftDouble:
					if m := j - 40 + int64(i); m%2 == 0 {
						want += v * at(m/2)
					}
				default:
					want += v * at(j-40+int64(i))
				}
			}
			if e := math.Abs(y[j] - want); e > 1e-13 {
				t.Fatalf("rate %d: output %d = %g, want %g", r, j, y[j], want)
			}
		}
	}
}

func TestDot(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for n := 0; n < 40; n++ {
		h, x, d := make([]float64, n), make([]float64, n+3), make([]float64, n)
		var want, want2 float64
		for i := range h {
			h[i], x[i], d[i] = rng.Float64(), rng.Float64(), rng.Float64()
			want += h[i] * x[i]
			want2 += (h[i] + 0.3*d[i]) * x[i]
		}
		if got := dot(h, x); math.Abs(got-want) > 1e-12 {
			t.Errorf("dot over %d = %g, want %g", n, got, want)
		}
		if got := dot2(h, d, x, 0.3); math.Abs(got-want2) > 1e-12 {
			t.Errorf("dot2 over %d = %g, want %g", n, got, want2)
		}
		if a, b := dotPair(h, x, d, x[1:]); math.Abs(a-want) > 1e-12 || math.Abs(b-dot(d, x[1:])) > 1e-12 {
			t.Errorf("dotPair over %d = %g, %g", n, a, b)
		}
		if a, b := dotPairGo(h, x, d, x[1:]); math.Abs(a-want) > 1e-12 || math.Abs(b-dot(d, x[1:])) > 1e-12 {
			t.Errorf("dotPairGo over %d = %g, %g", n, a, b)
		}
		// mulSpectrum is exact: the same operations as mulSpectrumGo.
		ar, ai := append([]float64(nil), h...), append([]float64(nil), d...)
		br, bi := append([]float64(nil), ar...), append([]float64(nil), ai...)
		mulSpectrum(ar, ai, x[:n], x[1:n+1])
		mulSpectrumGo(br, bi, x[:n], x[1:n+1])
		for i := range ar {
			if ar[i] != br[i] || ai[i] != bi[i] {
				t.Errorf("mulSpectrum over %d at %d: %g%+gi, want %g%+gi", n, i, ar[i], ai[i], br[i], bi[i])
			}
		}
		// Symmetric filters of 2H+1 taps, from their first half.
		if n%2 == 1 {
			s := make([]float64, n)
			for i := range s {
				s[i] = h[min(i, n-1-i)]
			}
			a, b := dotSym2(h[:n/2+1], x, x[1:])
			if w := dot(s, x); math.Abs(dotSym(h[:n/2+1], x)-w) > 1e-12 || math.Abs(a-w) > 1e-12 || math.Abs(b-dot(s, x[1:])) > 1e-12 {
				t.Errorf("dotSym over %d taps = %g, dotSym2 = %g, %g; want %g", n, dotSym(h[:n/2+1], x), a, b, w)
			}
		}
	}
}

// TestConverterChunking checks that the output does not depend on the
// sizes of writes and reads, and that it has Scale(n) frames.
func TestConverterChunking(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	const ch, frames = 2, 5000
	in := make([]float32, ch*frames)
	for i := range in {
		in[i] = float32(rng.Float64() - 0.5)
	}
	spec := Spec{Passband: 0.9, Stopband: 1, Attenuation: 100}
	run := func(inRate, outRate, wchunk, rchunk int) []float32 {
		c := New(inRate, outRate, ch, spec)
		var out []float32
		buf := make([]float32, rchunk*ch)
		drain := func() {
			for {
				n := c.Read(buf)
				out = append(out, buf[:n*ch]...)
				if n < rchunk {
					return
				}
			}
		}
		for i := 0; i < frames; i += wchunk {
			c.Write(in[i*ch : min(i+wchunk, frames)*ch])
			drain()
		}
		c.End()
		drain()
		if !c.Done() {
			t.Errorf("%d→%d: not done after the last read", inRate, outRate)
		}
		return out
	}
	for _, r := range [][2]int{{44100, 8000}, {8000, 48000}, {16000, 8000}, {22050, 16000}} {
		ref := run(r[0], r[1], frames, 1<<16)
		if want := Scale(frames, r[1], r[0]); int64(len(ref)/ch) != want {
			t.Errorf("%d→%d: %d frames, want %d", r[0], r[1], len(ref)/ch, want)
		}
		for _, c := range [][2]int{{1, 1}, {7, 160}, {333, 13}} {
			got := run(r[0], r[1], c[0], c[1])
			if len(got) != len(ref) {
				t.Fatalf("%d→%d, writes of %d, reads of %d: %d samples, want %d", r[0], r[1], c[0], c[1], len(got), len(ref))
			}
			for i := range got {
				if got[i] != ref[i] {
					t.Fatalf("%d→%d, writes of %d, reads of %d: sample %d = %v, want %v", r[0], r[1], c[0], c[1], i, got[i], ref[i])
				}
			}
		}
	}
}
