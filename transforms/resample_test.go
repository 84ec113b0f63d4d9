package transforms

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/resample"
	"github.com/elkspipe/elkspipe/pipeline"
)

// sineSamples returns frames of a sine of the given frequency and amplitude at
// rate, starting at phase 0.
func sineSamples(rate, frames int, freq, amp float64) []float32 {
	x := make([]float32, frames)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// resampleAll resamples the interleaved samples x and returns the output.
func resampleAll(t testing.TB, x []float32, f pipeline.Format, rate int, q Quality) []float32 {
	t.Helper()
	src, err := ResampleSource(pipeline.FromSlice(f, x), rate, q)
	if err != nil {
		t.Fatal(err)
	}
	y, err := audiotest.ReadAll(src, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// steadyTone resamples a mono tone and returns the middle of the output,
// away from the edges.
func steadyTone(t testing.TB, in, out int, freq float64, q Quality) []float64 {
	t.Helper()
	y := audiotest.Channel(resampleAll(t, sineSamples(in, in/4, freq, 0.5), pipeline.Format{Rate: in, Channels: 1}, out, q), 1, 0)
	return y[len(y)/5 : len(y)*4/5]
}

// folded returns the frequency at which f appears after sampling at rate.
func folded(f float64, rate int) float64 {
	f = math.Mod(f, float64(rate))
	if f > float64(rate)/2 {
		f = float64(rate) - f
	}
	return f
}

func toDB(x float64) float64 { return 20 * math.Log10(x) }

var allQualities = []Quality{Quick, Low, Medium, High, VeryHigh}

func TestResamplePassbandIsFlat(t *testing.T) {
	pairs := [][2]int{{48000, 8000}, {44100, 8000}, {44100, 16000}, {8000, 16000}, {8000, 44100}, {44100, 48000}}
	for _, q := range allQualities {
		tol := 0.005 // dB
		if q == Quick {
			tol = 0.05
		}
		for _, p := range pairs {
			if q != High && p[0] != 44100 {
				continue // every quality on the 44.1k pairs, every pair at high
			}
			low := float64(min(p[0], p[1])) / 2
			for _, frac := range []float64{0.02, 0.25, 0.5, 0.75, 0.9, q.Spec().Passband} {
				if frac > q.Spec().Passband {
					continue
				}
				f := frac * low
				amp, _, _ := audiotest.SineFit(steadyTone(t, p[0], p[1], f, q), f, p[1])
				if g := toDB(amp / 0.5); math.Abs(g) > tol {
					t.Errorf("%v %d→%d: gain at %.0f Hz (%.2f of Nyquist) is %+.4f dB, want within ±%g dB", q, p[0], p[1], f, frac, g, tol)
				}
			}
		}
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	// Tones above the output Nyquist frequency must not come back folded.
	for _, q := range allQualities {
		att := q.Spec().Attenuation
		pairs := [][2]int{{44100, 8000}}
		if q == High {
			pairs = [][2]int{{48000, 8000}, {44100, 8000}, {44100, 16000}, {16000, 8000}, {22050, 16000}, {44100, 7999}}
		}
		for _, p := range pairs {
			in, out := p[0], p[1]
			nyq := float64(out) / 2
			freqs := []float64{nyq * 1.002, nyq * 1.01, nyq * 1.05, nyq * 1.3}
			for f := nyq * 1.5; f < float64(in)/2; f += float64(in) / 13.7 {
				freqs = append(freqs, f)
			}
			for _, f := range freqs {
				a := folded(f, out)
				if a < 30 || a > nyq-30 {
					continue
				}
				level := audiotest.Level(steadyTone(t, in, out, f, q), a, out) - toDB(0.5)
				if level > -att {
					t.Errorf("%v %d→%d: %.0f Hz comes back at %.0f Hz at %.1f dB, want ≤ -%g dB", q, in, out, f, a, level, att)
				}
			}
		}
	}
}

func TestResampleRejectsImages(t *testing.T) {
	// Upsampling must not create images of the input band.
	for _, q := range []Quality{Medium, High, VeryHigh} {
		att := q.Spec().Attenuation
		for _, p := range [][2]int{{8000, 16000}, {8000, 44100}, {44100, 48000}, {8000, 12000}, {7999, 44100}} {
			in, out := p[0], p[1]
			if q != High && p != [2]int{8000, 44100} {
				continue
			}
			for _, frac := range []float64{0.1, 0.45, 0.8, 0.95} {
				f := frac * float64(in) / 2
				y := steadyTone(t, in, out, f, q)
				// Remove the tone itself so that it does not leak into
				// the fits at the image frequencies.
				amp, ph, _ := audiotest.SineFit(y, f, out)
				w := 2 * math.Pi * f / float64(out)
				for i := range y {
					y[i] -= amp * math.Sin(w*float64(i)+ph)
				}
				for k := 1; k <= out/in+1; k++ {
					for _, img := range []float64{float64(k*in) - f, float64(k*in) + f} {
						a := folded(img, out)
						if a < 30 || a > float64(out)/2-30 || math.Abs(a-f) < 300 {
							continue
						}
						if level := audiotest.Level(y, a, out) - toDB(0.5); level > -att {
							t.Errorf("%v %d→%d: image of %.0f Hz at %.0f Hz is %.1f dB, want ≤ -%g dB", q, in, out, f, a, level, att)
						}
					}
				}
			}
		}
	}
}

func TestResample997HzKeeps16BitSNR(t *testing.T) {
	// SoX's `rate -h` benchmark: a 997 Hz tone at -6 dBFS, 48 kHz → 8 kHz,
	// written as 16-bit, keeps an SNR of 90 dB or more.
	const in, out, f = 48000, 8000, 997.0
	y := resampleAll(t, sineSamples(in, 2*in, f, 0.5), pipeline.Format{Rate: in, Channels: 1}, out, High)
	if len(y) != 2*out {
		t.Fatalf("%d frames, want %d", len(y), 2*out)
	}
	steady := audiotest.Channel(y, 1, 0)[out/4 : 2*out-out/4]
	_, _, raw := audiotest.SineFit(steady, f, out)
	q := make([]float64, len(steady))
	for i, v := range steady {
		q[i] = math.Max(-32768, math.Min(32767, math.Round(v*32768))) / 32768
	}
	amp, _, snr := audiotest.SineFit(q, f, out)
	t.Logf("SNR %.1f dB as float, %.1f dB as 16-bit; level %.4f dBFS", raw, snr, toDB(amp))
	if snr < 90 {
		t.Errorf("16-bit SNR %.1f dB, want ≥ 90 dB", snr)
	}
	if raw < 130 {
		t.Errorf("float SNR %.1f dB, want ≥ 130 dB", raw)
	}
}

func TestResampleKeepsFrequencyAndTime(t *testing.T) {
	// The tone keeps its frequency, and output frame k is the input at
	// time k/outRate: no delay.
	for _, p := range [][2]int{{8000, 16000}, {16000, 8000}, {44100, 8000}, {48000, 8000}, {22050, 16000}, {8000, 44100}, {44100, 48000}, {48000, 16000}, {8000, 48000}} {
		for _, q := range []Quality{Quick, High} {
			in, out := p[0], p[1]
			const f = 1000.3
			y := audiotest.Channel(resampleAll(t, sineSamples(in, in, f, 0.5), pipeline.Format{Rate: in, Channels: 1}, out, q), 1, 0)
			mid := y[out/4 : out*3/4]
			if got := audiotest.Frequency(mid, out, 900, 1100); math.Abs(got-f) > 0.01 {
				t.Errorf("%v %d→%d: frequency %.4f Hz, want %.4f", q, in, out, got, f)
			}
			_, ph, _ := audiotest.SineFit(mid, f, out)
			want := 2 * math.Pi * f * float64(out/4) / float64(out)
			if d := math.Remainder(ph-want, 2*math.Pi); math.Abs(d) > 1e-5 {
				t.Errorf("%v %d→%d: phase off by %.3g rad (%.3g output samples)", q, in, out, d, d/(2*math.Pi*f/float64(out)))
			}
		}
	}
}

func TestResampleExactLength(t *testing.T) {
	rates := [][2]int{{44100, 8000}, {8000, 44100}, {48000, 8000}, {8000, 48000}, {16000, 8000}, {8000, 16000},
		{22050, 16000}, {44100, 48000}, {48000, 44100}, {11025, 8000}, {44100, 7999}, {7, 3}, {1000, 256000}}
	for _, r := range rates {
		for _, n := range []int{0, 1, 2, 3, 5, 7, 100, 2047, 2048, 2049, 4096, 10007} {
			in, out := r[0], r[1]
			if n > 3000 && out > 16*in {
				continue // keep the output small
			}
			src, err := ResampleSource(pipeline.FromSlice(pipeline.Format{Rate: in, Channels: 2}, make([]float32, 2*n)), out, Quick)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(math.Floor(float64(n)*float64(out)/float64(in) + 0.5))
			if got := pipeline.FramesOf(src); got != want {
				t.Errorf("%d→%d, %d frames: Frames() = %d, want %d", in, out, n, got, want)
			}
			y, err := audiotest.ReadAll(src, 333)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(y)/2) != want {
				t.Errorf("%d→%d, %d frames: got %d frames, want %d", in, out, n, len(y)/2, want)
			}
		}
	}
}

// noLength hides the length of a source.
type noLength struct{ pipeline.Source }

func TestResampleUnknownLength(t *testing.T) {
	x := sineSamples(44100, 4410, 440, 0.5)
	f := pipeline.Format{Rate: 44100, Channels: 1}
	src, err := ResampleSource(noLength{pipeline.FromSlice(f, x)}, 8000, High)
	if err != nil {
		t.Fatal(err)
	}
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("Frames() = %d for a source of unknown length, want -1", n)
	}
	y := audiotest.MustReadAll(t, src)
	ref := resampleAll(t, x, f, 8000, High)
	if len(y) != 800 || audiotest.MaxDiff(y, ref) != 0 {
		t.Errorf("%d frames, want 800 identical to the known-length case", len(y))
	}
}

func TestResampleContract(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, c := range []struct {
		in, out, ch, frames int
		q                   Quality
	}{
		{44100, 8000, 1, 20000, High},
		{8000, 44100, 2, 3000, High},
		{48000, 16000, 3, 9000, Medium},
		{22050, 16000, 2, 5000, VeryHigh},
		{16000, 8000, 1, 1, High},
		{8000, 16000, 1, 0, High},
		{44100, 7999, 1, 5000, High},
		{8000, 12000, 2, 777, Quick},
	} {
		x := make([]float32, c.frames*c.ch)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		f := pipeline.Format{Rate: c.in, Channels: c.ch}
		y := audiotest.CheckContract(t, func() (pipeline.Source, error) {
			return ResampleSource(pipeline.FromSlice(f, x), c.out, c.q)
		})
		if want := resample.Scale(int64(c.frames), c.out, c.in) * int64(c.ch); int64(len(y)) != want {
			t.Errorf("%+v: %d samples, want %d", c, len(y), want)
		}
		// Upstream reads of odd sizes, ending with frames and io.EOF
		// together, change nothing.
		src, _ := ResampleSource(&chunky{Source: pipeline.FromSlice(f, x), rng: rand.New(rand.NewSource(3))}, c.out, c.q)
		z := audiotest.MustReadAll(t, src)
		if len(z) != len(y) || audiotest.MaxDiff(y, z) != 0 {
			t.Errorf("%+v: output depends on the upstream's read sizes", c)
		}
	}
}

// chunky returns reads of random small sizes and the last frames together
// with io.EOF.
type chunky struct {
	pipeline.Source
	rng  *rand.Rand
	done bool
}

func (c *chunky) Read(p []float32) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	ch := c.Format().Channels
	k := 1 + c.rng.Intn(len(p)/ch)
	if c.rng.Intn(4) == 0 {
		k = min(k, 3)
	}
	n, err := c.Source.Read(p[:k*ch])
	if err == io.EOF {
		c.done = true
		return n, err
	}
	if n == k || err != nil {
		return n, err
	}
	// Peek for the end so that the last frames come with io.EOF.
	m, err := c.Source.Read(p[n*ch : k*ch])
	if err == io.EOF {
		c.done = true
	}
	return n + m, err
}

func TestResampleChannelsAreIndependent(t *testing.T) {
	const in, out, frames = 44100, 16000, 22050
	freqs := []float64{440, 1250, 3100}
	x := make([]float32, frames*3)
	for c, f := range freqs {
		for i, v := range sineSamples(in, frames, f, 0.5) {
			x[i*3+c] = v
		}
	}
	y := resampleAll(t, x, pipeline.Format{Rate: in, Channels: 3}, out, High)
	for c := range freqs {
		ch := audiotest.Channel(y, 3, c)
		ch = ch[len(ch)/5 : len(ch)*4/5]
		for d, f := range freqs {
			amp, _, _ := audiotest.SineFit(ch, f, out)
			if d == c && math.Abs(toDB(amp/0.5)) > 0.001 {
				t.Errorf("channel %d: its %g Hz tone at %+.4f dB", c, f, toDB(amp/0.5))
			}
			if d != c && toDB(amp) > -120 {
				t.Errorf("channel %d: channel %d's %g Hz tone leaks in at %.1f dB", c, d, f, toDB(amp))
			}
		}
	}
}

// longTone is a long mono tone of whole-Hz frequency. Its samples repeat
// exactly every rate/gcd(rate, freq) frames, so it plays one period from a
// table: it cannot drift itself, and it is cheap.
type longTone struct {
	rate, freq int
	n, frames  int64
	period     []float32
}

func (s *longTone) Format() pipeline.Format { return pipeline.Format{Rate: s.rate, Channels: 1} }

func (s *longTone) Frames() int64 { return s.frames }

func (s *longTone) Read(p []float32) (int, error) {
	if s.period == nil {
		s.period = make([]float32, s.rate/gcd(s.rate, s.freq))
		for i := range s.period {
			ph := (s.freq * i) % s.rate
			s.period[i] = float32(0.5 * math.Sin(2*math.Pi*float64(ph)/float64(s.rate)))
		}
	}
	if s.n >= s.frames {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), s.frames-s.n))
	at := int(s.n % int64(len(s.period)))
	for i := 0; i < k; {
		c := copy(p[i:k], s.period[at:])
		i += c
		at = 0
	}
	s.n += int64(k)
	return k, nil
}

func TestResampleDoesNotDrift(t *testing.T) {
	// 10.5 minutes at 44.1 kHz → 8 kHz: the tone's phase at the end is
	// where the output's time base puts it.
	const in, out, f = 44100, 8000, 1000
	frames := int64(in * 630)
	if testing.Short() {
		frames = in * 60
	}
	src, err := ResampleSource(&longTone{rate: in, freq: f, frames: frames}, out, Quick)
	if err != nil {
		t.Fatal(err)
	}
	want := resample.Scale(frames, out, in)
	tail := make([]float64, 0, 2*out)
	buf := make([]float32, 4000)
	var k int64
	for {
		n, err := src.Read(buf)
		if k+int64(n) > want-2*out-out/2 {
			for i := 0; i < n; i++ {
				if j := k + int64(i); j >= want-2*out-out/2 && len(tail) < 2*out {
					tail = append(tail, float64(buf[i]))
				}
			}
		}
		k += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if k != want {
		t.Fatalf("%d frames, want %d", k, want)
	}
	first := want - 2*out - out/2
	amp, ph, snr := audiotest.SineFit(tail, f, out)
	wantPh := 2 * math.Pi * float64((f*first)%out) / out
	d := math.Remainder(ph-wantPh, 2*math.Pi)
	t.Logf("after %d s: amplitude %.6f, SNR %.1f dB, phase error %.2g rad", frames/in, amp, snr, d)
	if math.Abs(d) > 1e-5 || math.Abs(amp-0.5) > 1e-3 {
		t.Errorf("tone at the end: phase off by %.3g rad (%.3g samples), amplitude %.6f", d, d/(2*math.Pi*f/out), amp)
	}
}

func TestResampleConcurrentUse(t *testing.T) {
	// Resamplers share their filter designs: build them concurrently (a
	// rate pair no other test uses) and check every output is the same.
	f := pipeline.Format{Rate: 32000, Channels: 2}
	x := make([]float32, 2*8000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.01))
	}
	outs := make([][]float32, 8)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			src, err := ResampleSource(pipeline.FromSlice(f, x), 11025, Medium)
			if err != nil {
				t.Error(err)
				return
			}
			outs[i], err = audiotest.ReadAll(src, 500)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range outs {
		if len(outs[i]) != 2*2756 || audiotest.MaxDiff(outs[i], outs[0]) != 0 {
			t.Fatalf("resampler %d: %d samples, differs from the first", i, len(outs[i]))
		}
	}
}

func TestResampleSameRateIsPassthrough(t *testing.T) {
	src := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 10))
	got, err := ResampleSource(src, 8000, High)
	if err != nil || got != src {
		t.Errorf("ResampleSource to the same rate = %v, %v; want the source itself", got, err)
	}
}

func TestResampleErrors(t *testing.T) {
	ok := pipeline.FromSlice(pipeline.Format{Rate: 44100, Channels: 2}, nil)
	for _, c := range []struct {
		src  pipeline.Source
		rate int
		q    Quality
		want string
	}{
		{ok, 0, High, "out of range"},
		{ok, -8000, High, "out of range"},
		{ok, pipeline.MaxRate + 1, High, "out of range"},
		{ok, 100, High, "ratio"},
		{pipeline.FromSlice(pipeline.Format{Rate: 100, Channels: 1}, nil), 44100, High, "ratio"},
		{ok, 8000, Quality(42), "quality"},
		{pipeline.FromSlice(pipeline.Format{Rate: 0, Channels: 1}, nil), 8000, High, "sample rate"},
		{noLength{&badFormat{}}, 8000, High, "channel"},
	} {
		_, err := ResampleSource(c.src, c.rate, c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResampleSource(%v, %d, %v) error %v, want one about %q", c.src.Format(), c.rate, c.q, err, c.want)
		}
	}
}

type badFormat struct{}

func (badFormat) Format() pipeline.Format     { return pipeline.Format{Rate: 44100, Channels: 0} }
func (badFormat) Read([]float32) (int, error) { return 0, io.EOF }

// failingCloser delivers some frames, then fails; it counts Close calls.
type failingCloser struct {
	pipeline.Source
	left   int
	closed int
}

var errRSTest = errors.New("disk on fire")

func (s *failingCloser) Read(p []float32) (int, error) {
	if s.left <= 0 {
		return 0, errRSTest
	}
	n, _ := s.Source.Read(p[:min(len(p), s.left)])
	s.left -= n
	return n, nil
}

func (s *failingCloser) Close() error { s.closed++; return nil }

func TestResamplePassesErrorsAndCloses(t *testing.T) {
	up := &failingCloser{Source: pipeline.FromSlice(pipeline.Format{Rate: 44100, Channels: 1}, sineSamples(44100, 44100, 440, 0.5)), left: 30000}
	src, err := ResampleSource(up, 8000, High)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 100)
	total := 0
	for {
		n, err := src.Read(buf)
		total += n
		if err != nil {
			if !errors.Is(err, errRSTest) {
				t.Fatalf("Read error %v, want the upstream's", err)
			}
			break
		}
		if total > 10000 {
			t.Fatal("no error after the upstream failed")
		}
	}
	// Everything computable from the 30000 frames before the failure.
	if total < 3000 || total > 5443 {
		t.Errorf("%d frames before the error, want about 30000·8000/44100", total)
	}
	if n, err := src.Read(buf); n != 0 || !errors.Is(err, errRSTest) {
		t.Errorf("Read after the error = %d, %v; want the error again", n, err)
	}
	if err := src.(io.Closer).Close(); err != nil || up.closed != 1 {
		t.Errorf("Close = %v, upstream closed %d times; want nil, 1", err, up.closed)
	}
	if n, err := src.Read(buf[:0]); n != 0 || !errors.Is(err, pipeline.ErrShortBuffer) {
		t.Errorf("Read into an empty buffer = %d, %v", n, err)
	}
}

func TestResampleDoesNotAllocatePerRead(t *testing.T) {
	for _, p := range [][2]int{{44100, 8000}, {8000, 44100}, {48000, 16000}, {44100, 7999}} {
		src, err := ResampleSource(&longTone{rate: p[0], freq: 440, frames: 1 << 40}, p[1], High)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 160)
		for i := 0; i < 200; i++ { // warm up: buffers reach their size
			src.Read(buf)
		}
		if a := testing.AllocsPerRun(300, func() { src.Read(buf) }); a != 0 {
			t.Errorf("%d→%d: %.1f allocations per Read", p[0], p[1], a)
		}
	}
}

func TestResampleElement(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("resample", pipeline.KindTransform)
	if err != nil {
		t.Fatal(err)
	}
	args, err := pipeline.NewArgs(e, map[string]string{"rate": "8k", "quality": "LOW"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.NewTransform(args)
	if err != nil {
		t.Fatal(err)
	}
	x := sineSamples(44100, 4410, 1000, 0.5)
	src, err := tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 44100, Channels: 1}, x))
	if err != nil {
		t.Fatal(err)
	}
	if f := src.Format(); f != (pipeline.Format{Rate: 8000, Channels: 1}) {
		t.Errorf("format %v", f)
	}
	if y := audiotest.MustReadAll(t, src); audiotest.MaxDiff(y, resampleAll(t, x, pipeline.Format{Rate: 44100, Channels: 1}, 8000, Low)) != 0 {
		t.Error("the element's output differs from ResampleSource's at quality low")
	}
	if _, err := pipeline.NewArgs(e, map[string]string{"rate": "8k", "quality": "hihg"}); err == nil || !strings.Contains(err.Error(), `"high"`) {
		t.Errorf("bad quality: error %v, want a suggestion of high", err)
	}
	if _, err := pipeline.NewArgs(e, map[string]string{}); err == nil {
		t.Error("no rate: no error")
	}
	if args, _ := pipeline.NewArgs(e, map[string]string{"rate": "16k"}); args.String("quality") != "high" {
		t.Errorf("default quality %q, want high", args.String("quality"))
	}
	// Build and Concat convert with it.
	conv, done, err := pipeline.Convert(pipeline.FromSlice(pipeline.Format{Rate: 48000, Channels: 1}, sineSamples(48000, 4800, 997, 0.5)), pipeline.Format{Rate: 8000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Name != "resample 8000" || conv.Format().Rate != 8000 {
		t.Errorf("Convert inserted %v", done)
	}
	if n := len(audiotest.MustReadAll(t, conv)); n != 800 {
		t.Errorf("converted %d frames, want 800", n)
	}
}

func TestQualityNames(t *testing.T) {
	for _, q := range allQualities {
		p, err := ParseQuality(q.String())
		if err != nil || p != q {
			t.Errorf("ParseQuality(%q) = %v, %v", q.String(), p, err)
		}
		s := q.Spec()
		if s.Passband <= 0 || s.Passband >= 1 || s.Stopband != 1 || s.Attenuation < 50 {
			t.Errorf("%v: spec %+v", q, s)
		}
	}
	if Quality(0).String() != "high" || Quality(0).Spec() != High.Spec() {
		t.Error("the zero Quality is not High")
	}
	if _, err := ParseQuality("best"); err == nil {
		t.Error("ParseQuality(best): no error")
	}
	if s := Quality(9).String(); s != "quality(9)" {
		t.Errorf("Quality(9).String() = %q", s)
	}
}

// TestResampleQualityTable prints the measured figures of every quality
// (go test -run QualityTable -v): passband ripple up to the passband edge,
// worst alias level, for 44.1 kHz → 8 kHz, 16 kHz and 24 kHz (the rates of
// 46elks' formats, which run through different stages).
func TestResampleQualityTable(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("prints the quality table with -v")
	}
	const in = 44100
	for _, out := range []int{8000, 16000, 24000} {
		fmt.Printf("44100 Hz → %d Hz\n", out)
		nyq := float64(out) / 2
		for _, q := range allQualities {
			s := q.Spec()
			ripple := 0.0
			for frac := 0.01; frac <= s.Passband+1e-9; frac += 0.01 {
				f := frac * nyq
				amp, _, _ := audiotest.SineFit(steadyTone(t, in, out, f, q), f, out)
				ripple = math.Max(ripple, math.Abs(toDB(amp/0.5)))
			}
			worst := -400.0
			for f := nyq + 1; f < in/2; f += 97 {
				a := folded(f, out)
				if a < 30 || a > nyq-30 {
					continue
				}
				worst = math.Max(worst, audiotest.Level(steadyTone(t, in, out, f, q), a, out)-toDB(0.5))
			}
			fmt.Printf("| %-8v | %2.0f%% | ±%.5f dB | %.0f dB | %.1f dB |\n", q, 100*s.Passband, ripple, s.Attenuation, -worst)
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
