package sources

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestToneFrequency(t *testing.T) {
	worst := 0.0
	for _, rate := range []int{8000, 16000, 44100, 48000} {
		for _, freq := range []float64{50, 440, 997, 1000.5, 3000} {
			o := mustGen(t, "tone", map[string]string{
				"freq": genFtoa(freq), "dur": "1s", "rate": genItoa(rate)})
			x := audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, o)), 1, 0)
			if len(x) != rate {
				t.Fatalf("%g Hz at %d Hz: %d frames, want %d", freq, rate, len(x), rate)
			}
			got := audiotest.Frequency(x, rate, freq-5, freq+5)
			worst = math.Max(worst, math.Abs(got-freq))
			if math.Abs(got-freq) > 0.01 {
				t.Errorf("%g Hz at %d Hz: measured %.4f Hz", freq, rate, got)
			}
		}
	}
	t.Logf("largest frequency error %.5f Hz", worst)
}

func TestToneLevel(t *testing.T) {
	for _, tc := range []struct {
		amp  string
		want float64
	}{{"0dB", 0}, {"-3dB", -3}, {"-6dB", -6}, {"-20.5", -20.5}, {"-60dB", -60}} {
		amp, want := tc.amp, tc.want
		params := map[string]string{"freq": "997", "dur": "1s", "rate": "48k"}
		if amp != "-6dB" { // -6 dB is the default
			params["amp"] = amp
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, mustGen(t, "tone", params))), 1, 0)
		if got := audiotest.Level(x, 997, 48000); math.Abs(got-want) > 0.05 {
			t.Errorf("amp=%s: level %.3f dBFS", amp, got)
		}
		peak := 0.0
		for _, v := range x {
			peak = math.Max(peak, math.Abs(v))
		}
		if peak > pipeline.DBToAmplitude(want)*(1+1e-6) {
			t.Errorf("amp=%s: peak %.6f above %.6f", amp, peak, pipeline.DBToAmplitude(want))
		}
	}
}

// A 16-bit-quantised sine must be as clean as 16 bits allow (≥ 95 dB SNR),
// so the generator adds nothing measurable.
func TestToneSineSNR(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		o, err := Tone(ToneOptions{Freq: 997, Amp: pipeline.DBToAmplitude(-0.1), Dur: time.Second, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, o)), 1, 0)
		_, _, snr16 := audiotest.SineFit(genQuantize16(x), 997, rate)
		_, _, snr := audiotest.SineFit(x, 997, rate)
		t.Logf("rate %d: SNR %.1f dB as float32, %.1f dB at 16 bits", rate, snr, snr16)
		if snr16 < 95 || snr < 130 {
			t.Errorf("rate %d: SNR %.1f dB (float32), %.1f dB (16 bits)", rate, snr, snr16)
		}
	}
}

// The oscillator must keep its phase exact over hours: compare it, ten
// hours in, with the phase computed in exact integer arithmetic.
func TestToneNoDrift(t *testing.T) {
	const rate, freq = 48000, 997
	for _, start := range []int64{0, 10 * 3600 * rate, 10*3600*rate + 517} {
		o := newToneOsc(freq, rate, 0.25)
		o.n = start - start%toneOscAnchor
		for o.n < start {
			o.next()
		}
		for n := start; n < start+5000; n++ {
			c, s := o.next()
			cyc := float64((n*freq)%rate)/rate + 0.25
			ws, wc := math.Sincos(2 * math.Pi * cyc)
			if math.Abs(s-ws) > 1e-12 || math.Abs(c-wc) > 1e-12 {
				t.Fatalf("frame %d: sin %.15f cos %.15f, want %.15f %.15f", n, s, c, ws, wc)
			}
		}
	}
}

func TestToneLength(t *testing.T) {
	cases := []struct {
		dur  string
		rate int
		want int
	}{
		{"1s", 48000, 48000},
		{"333ms", 44100, 14685}, // 14685.3
		{"0.00001", 8000, 0},    // 0.08 frames
		{"62.5us", 8000, 1},     // 0.5 frames rounds up
		{"2.5", 22050, 55125},
		{"100ms", 11025, 1103}, // 1102.5
	}
	for _, c := range cases {
		for _, ch := range []string{"1", "2"} {
			src := genOpen(t, mustGen(t, "tone", map[string]string{"freq": "100", "dur": c.dur, "rate": genItoa(c.rate), "channels": ch}))
			if got := pipeline.FramesOf(src); got != int64(c.want) {
				t.Errorf("dur=%s rate=%d: Frames() = %d, want %d", c.dur, c.rate, got, c.want)
			}
			x := audiotest.MustReadAll(t, src)
			n := len(x) / src.Format().Channels
			if n != c.want {
				t.Errorf("dur=%s rate=%d channels=%s: %d frames, want %d", c.dur, c.rate, ch, n, c.want)
			}
		}
	}
}

func TestToneEndless(t *testing.T) {
	src := genOpen(t, mustGen(t, "tone", map[string]string{"freq": "1k", "rate": "16k"}))
	if n := pipeline.FramesOf(src); n != -1 {
		t.Fatalf("Frames() = %d, want -1", n)
	}
	buf := make([]float32, 3*16000)
	if n, err := pipeline.ReadFull(src, buf); n != len(buf) || err != nil {
		t.Fatalf("ReadFull = %d, %v", n, err)
	}
	if got := audiotest.Frequency(audiotest.Channel(buf[32000:], 1, 0), 16000, 990, 1010); math.Abs(got-1000) > 0.01 {
		t.Errorf("third second: %.4f Hz", got)
	}
}

func TestToneChannelsAndPhase(t *testing.T) {
	src := genOpen(t, mustGen(t, "tone", map[string]string{"freq": "1k", "dur": "10ms", "rate": "8k", "channels": "3", "phase": "90", "amp": "0dB"}))
	x := audiotest.MustReadAll(t, src)
	if x[0] != 1 || x[1] != 1 || x[2] != 1 {
		t.Errorf("phase=90 starts at %v, want 1 on every channel", x[:3])
	}
	for i := 0; i < len(x); i += 3 {
		if x[i] != x[i+1] || x[i] != x[i+2] {
			t.Fatalf("frame %d: channels differ: %v", i/3, x[i:i+3])
		}
		want := math.Cos(2 * math.Pi * 1000 * float64(i/3) / 8000)
		if math.Abs(float64(x[i])-want) > 1e-6 {
			t.Fatalf("frame %d: %v, want %v", i/3, x[i], want)
		}
	}
}

// toneHarmonicLevels describes the ideal series of each wave: the amplitude of
// harmonic n relative to amp (0 for absent harmonics).
var toneHarmonicLevels = map[Wave]func(n int) float64{
	Square: func(n int) float64 {
		if n%2 == 0 {
			return 0
		}
		return 4 / (math.Pi * float64(n))
	},
	Saw: func(n int) float64 { return 2 / (math.Pi * float64(n)) },
	Triangle: func(n int) float64 {
		if n%2 == 0 {
			return 0
		}
		return 8 / (math.Pi * math.Pi * float64(n*n))
	},
}

// toneWorstAlias returns the strongest spectral component of x, in dB relative
// to ref, farther than 15 Hz from every multiple of f0..f1 (a steady tone
// when f0 == f1).
func toneWorstAlias(x []float64, rate int, f0, f1, ref float64) (level, at float64) {
	sp := audiotest.Spectrum(x)
	level = math.Inf(-1)
	for i, a := range sp {
		f := audiotest.BinHz(i, len(sp), rate)
		near := false
		for h := 1.0; h*f0 < float64(rate)/2+f1; h++ {
			if f > h*f0-15 && f < h*f1+15 {
				near = true
				break
			}
		}
		if !near && audiotest.DB(a/ref) > level {
			level, at = audiotest.DB(a/ref), f
		}
	}
	return level, at
}

// The band-limited waves have the shapes of the ideal ones away from their
// corners.
func TestToneShapes(t *testing.T) {
	const amp = 0.5
	// Values at 1/8, 1/4, 3/8, 5/8 and 3/4 of the period.
	want := map[Wave][5]float64{
		Sine:     {amp * math.Sqrt2 / 2, amp, amp * math.Sqrt2 / 2, -amp * math.Sqrt2 / 2, -amp},
		Square:   {amp, amp, amp, -amp, -amp},
		Saw:      {amp / 4, amp / 2, amp * 3 / 4, -amp * 3 / 4, -amp / 2},
		Triangle: {amp / 2, amp, amp / 2, -amp / 2, -amp},
	}
	for w, vals := range want {
		o, err := Tone(ToneOptions{Freq: 100, Wave: w, Amp: amp, Dur: 10 * time.Millisecond, Rate: 48000})
		if err != nil {
			t.Fatal(err)
		}
		x := audiotest.MustReadAll(t, genOpen(t, o))
		for i, at := range []int{60, 120, 180, 300, 360} {
			if d := math.Abs(float64(x[at]) - vals[i]); d > 0.005*amp {
				t.Errorf("%s: frame %d = %.4f, want %.4f", w, at, x[at], vals[i])
			}
		}
	}
}

func TestToneBandLimited(t *testing.T) {
	const rate, freq, amp = 48000, 1111.0, 0.5
	for _, w := range []Wave{Square, Saw, Triangle} {
		o, err := Tone(ToneOptions{Freq: freq, Wave: w, Amp: amp, Dur: time.Second, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, o)), 1, 0)
		// Every harmonic below Nyquist at its ideal level, the absent ones
		// absent.
		for n := 1; float64(n)*freq < rate/2; n++ {
			want := amp * toneHarmonicLevels[w](n)
			got := audiotest.Level(x, float64(n)*freq, rate)
			if want == 0 {
				if got > -120 {
					t.Errorf("%s: harmonic %d at %.1f dBFS, want none", w, n, got)
				}
			} else if math.Abs(got-audiotest.DB(want)) > 0.05 {
				t.Errorf("%s: harmonic %d at %.3f dBFS, want %.3f", w, n, got, audiotest.DB(want))
			}
		}
		// Nothing else: no aliases of the harmonics above Nyquist.
		level, at := toneWorstAlias(x, rate, freq, freq, amp)
		t.Logf("%s %g Hz: strongest component off the toneHarmonics %.1f dB (at %.0f Hz)", w, freq, level, at)
		if level > -90 {
			t.Errorf("%s: component at %.1f Hz, %.1f dB below the wave's level; want below -90 dB", w, at, -level)
		}
	}
	// The measurement sees aliasing: a naive square wave fails it.
	naive := make([]float64, rate)
	for i := range naive {
		if math.Mod(float64(i)*freq/rate, 1) < 0.5 {
			naive[i] = amp
		} else {
			naive[i] = -amp
		}
	}
	if level, _ := toneWorstAlias(naive, rate, freq, freq, amp); level < -60 {
		t.Errorf("a naive square wave measures %.1f dB of aliasing; the check cannot see aliasing", level)
	}
}

// A slowly sweeping square wave fades harmonics out near Nyquist instead of
// letting them alias.
func TestToneSweepBandLimited(t *testing.T) {
	const rate = 48000
	for _, w := range []Wave{Square, Saw} {
		o, err := Tone(ToneOptions{Freq: 1500, To: 1520, Wave: w, Amp: 0.5, Dur: time.Second, Rate: rate, Sweep: SweepLinear})
		if err != nil {
			t.Fatal(err)
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, o)), 1, 0)
		level, at := toneWorstAlias(x, rate, 1500, 1520, 0.5)
		t.Logf("%s sweep: strongest component off the toneHarmonics %.1f dB (at %.0f Hz)", w, level, at)
		if level > -90 {
			t.Errorf("%s sweep: component at %.1f Hz, %.1f dB below the wave's level", w, at, -level)
		}
	}
}

// toneSweepWindow measures the frequency of x[from:to] and returns it with
// the mean frequency the sweep law predicts over that window.
func toneSweepWindow(t *testing.T, x []float64, rate, from, to int, predict func(t float64) float64) (got, want float64) {
	t.Helper()
	t0, t1 := float64(from)/float64(rate), float64(to)/float64(rate)
	want = (predict(t1) - predict(t0)) / (t1 - t0)
	return audiotest.Frequency(x[from:to], rate, want*0.9, want*1.1), want
}

func TestToneSweep(t *testing.T) {
	const rate, dur = 48000, 2.0
	for _, c := range []struct {
		law    string
		f0, f1 float64
		mid    float64 // the frequency half way: √(f0·f1) for log, (f0+f1)/2 for linear
	}{{"log", 100, 6400, 800}, {"linear", 1000, 6000, 3500}} {
		law, f0, f1 := c.law, c.f0, c.f1
		o := mustGen(t, "tone", map[string]string{"freq": genFtoa(f0), "to": genFtoa(f1), "dur": "2s", "sweep": law, "rate": "48k"})
		src := genOpen(t, o)
		if n := pipeline.FramesOf(src); n != 2*rate {
			t.Fatalf("%s: Frames() = %d", law, n)
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, src), 1, 0)
		if len(x) != 2*rate {
			t.Fatalf("%s: %d frames", law, len(x))
		}
		// Phase in cycles at time t, as the law defines it.
		cycles := func(t float64) float64 {
			if law == "log" {
				k := math.Log(f1 / f0)
				return f0 * dur / k * (math.Exp(k*t/dur) - 1)
			}
			return f0*t + (f1-f0)*t*t/(2*dur)
		}
		// Windows short enough for the sweep to look steady there (the
		// frequency moves by less than the window's resolution), long
		// enough to resolve its frequency.
		slope := func(t float64) float64 { // Hz per second
			if law == "log" {
				return f0 * math.Exp(math.Log(f1/f0)*t/dur) * math.Log(f1/f0) / dur
			}
			return (f1 - f0) / dur
		}
		window := func(t float64) int { return int(0.7 * rate / math.Sqrt(slope(t))) }
		ws, wm, we := window(0), window(1), window(2)
		for _, w := range []struct {
			name     string
			from, to int
		}{{"start", 0, ws}, {"middle", rate - wm/2, rate + wm/2}, {"end", len(x) - we, len(x)}} {
			got, want := toneSweepWindow(t, x, rate, w.from, w.to, cycles)
			t.Logf("%s sweep %g-%g Hz, %s (%d frames): %.2f Hz, law says %.2f", law, f0, f1, w.name, w.to-w.from, got, want)
			if math.Abs(got-want) > want*0.005 {
				t.Errorf("%s sweep, %s: %.2f Hz, want %.2f", law, w.name, got, want)
			}
		}
		// The laws differ in the middle.
		got := audiotest.Frequency(x[rate-240:rate+240], rate, 50, 8000)
		if mid := c.mid; math.Abs(got-mid) > mid*0.01 {
			t.Errorf("%s sweep: %.1f Hz at the middle, want about %.0f", law, got, mid)
		}
		// Sample by sample, the sweep is the law's sine at -6 dBFS.
		for n, v := range x {
			want := DefaultAmp * math.Sin(2*math.Pi*cycles(float64(n)/rate))
			if math.Abs(v-want) > 1e-6 {
				t.Fatalf("%s sweep: frame %d = %v, want %v", law, n, v, want)
			}
		}
	}
}

func TestToneContract(t *testing.T) {
	for _, params := range []map[string]string{
		{"freq": "440", "dur": "250ms"},
		{"freq": "440", "dur": "250ms", "wave": "square", "channels": "2", "rate": "8k"},
		{"freq": "300", "dur": "100ms", "wave": "triangle", "rate": "22050"},
		{"freq": "20", "dur": "100ms", "wave": "saw", "rate": "8k"},
		{"freq": "200", "to": "3k", "dur": "300ms", "wave": "saw"},
		{"freq": "3k", "to": "200", "dur": "300ms", "sweep": "linear", "channels": "2"},
	} {
		x := audiotest.CheckContract(t, genContract(mustGen(t, "tone", params)))
		for _, v := range x {
			if v < -1 || v > 1 {
				t.Fatalf("%v: sample %v out of range", params, v)
			}
		}
	}
}

// Full-scale band-limited squares overshoot (Gibbs) and are clipped, never
// beyond full scale.
func TestToneClipsOvershoot(t *testing.T) {
	x := audiotest.MustReadAll(t, genOpen(t, mustGen(t, "tone", map[string]string{"freq": "1k", "dur": "50ms", "wave": "square", "amp": "0"})))
	clipped := 0
	for _, v := range x {
		if v > 1 || v < -1 {
			t.Fatalf("sample %v beyond full scale", v)
		}
		if math.Abs(float64(v)) == 1 {
			clipped++
		}
	}
	if clipped == 0 {
		t.Errorf("a full-scale square never reached full scale")
	}
}

func TestToneErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"freq": "24k"}, "half the sample rate"},
		{map[string]string{"freq": "5k", "rate": "8k"}, "half the sample rate"},
		{map[string]string{"freq": "440", "to": "30k", "dur": "1s"}, "half the sample rate"},
		{map[string]string{"freq": "440", "to": "880"}, "needs a duration"},
		{map[string]string{"freq": "0"}, "above 0"},
		{map[string]string{"freq": "-5"}, "above 0"},
		{map[string]string{"freq": "440", "to": "0", "dur": "1s"}, "above 0"},
		{map[string]string{"freq": "440", "dur": "0"}, "above zero"},
		{map[string]string{"freq": "440", "amp": "3dB"}, "out of range"},
		{map[string]string{"freq": "440", "phase": "400"}, "out of range"},
		{map[string]string{"freq": "440", "wave": "sqare"}, `did you mean "square"`},
		{map[string]string{"freq": "440", "channels": "0"}, "out of range"},
	} {
		_, err := genElement("tone", c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tone %v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
	for _, opt := range []ToneOptions{
		{Freq: 440, Wave: "sawtooth"},
		{Freq: 440, Sweep: "cubic"},
		{Freq: 440, Amp: 1.5},
		{Freq: 440, Amp: -0.5},
		{Freq: math.NaN()},
		{Freq: math.Inf(1)},
		{Freq: 440, Rate: -1},
		{Freq: 440, Channels: pipeline.MaxChannels + 1},
	} {
		if _, err := Tone(opt); err == nil {
			t.Errorf("Tone(%+v) accepted", opt)
		}
	}
}

func TestToneAdapt(t *testing.T) {
	// Without rate= and channels= the tone takes the format asked of it.
	src := genOpen(t, mustGen(t, "tone", map[string]string{"freq": "440", "dur": "1s"}))
	if f := src.Format(); f != (pipeline.Format{Rate: DefaultRate, Channels: 1}) {
		t.Fatalf("default format %v", f)
	}
	a, ok := src.(pipeline.Adaptable)
	if !ok {
		t.Fatal("a tone without rate= is not Adaptable")
	}
	out, err := a.Adapt(pipeline.Format{Rate: 8000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f := out.Format(); f != (pipeline.Format{Rate: 8000, Channels: 2}) {
		t.Fatalf("adapted format %v", f)
	}
	x := audiotest.MustReadAll(t, out)
	if len(x) != 16000 {
		t.Fatalf("adapted: %d samples, want 16000", len(x))
	}
	if got := audiotest.Frequency(audiotest.Channel(x, 2, 1), 8000, 430, 450); math.Abs(got-440) > 0.01 {
		t.Errorf("adapted: %.4f Hz", got)
	}
	// A frequency the new rate cannot carry is an error.
	hi := genOpen(t, mustGen(t, "tone", map[string]string{"freq": "6k", "dur": "1s"}))
	if _, err := hi.(pipeline.Adaptable).Adapt(pipeline.Format{Rate: 8000, Channels: 1}); err == nil {
		t.Error("6 kHz tone adapted to 8 kHz without an error")
	}
	// With rate= or channels= it keeps its format.
	for _, p := range []map[string]string{{"rate": "48k"}, {"channels": "1"}} {
		p["freq"] = "440"
		if _, ok := genOpen(t, mustGen(t, "tone", p)).(pipeline.Adaptable); ok {
			t.Errorf("tone %v is Adaptable", p)
		}
	}
}

// In a concatenation, an adaptable tone is generated at its neighbour's
// rate rather than resampled.
func TestToneAdaptInConcat(t *testing.T) {
	beep, err := Tone(ToneOptions{Freq: 1000, Dur: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	file := func(context.Context) (pipeline.Source, error) {
		return pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 800)), nil
	}
	src, err := pipeline.Concat(context.Background(), []pipeline.Opener{beep, file}, pipeline.ConcatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if f := src.Format(); f.Rate != 8000 {
		t.Fatalf("concat format %v, want 8000 Hz", f)
	}
	x := audiotest.MustReadAll(t, src)
	if len(x) != 1600 {
		t.Fatalf("%d frames, want 1600", len(x))
	}
	want := float32(DefaultAmp * math.Sin(2*math.Pi*1000*3/8000))
	if x[3] != want {
		t.Errorf("frame 3 = %v, want %v (generated at 8 kHz)", x[3], want)
	}
}

func BenchmarkToneSine(b *testing.B) {
	toneBench(b, ToneOptions{Freq: 997, Rate: 48000})
}

func BenchmarkToneSquare(b *testing.B) {
	toneBench(b, ToneOptions{Freq: 440, Wave: Square, Rate: 48000})
}

func BenchmarkToneSweep(b *testing.B) {
	toneBench(b, ToneOptions{Freq: 20, To: 20000, Dur: 1000 * time.Hour, Rate: 48000})
}

// toneBench reads one second of audio per iteration, in 4096-frame reads.
func toneBench(b *testing.B, opt ToneOptions) {
	o, err := Tone(opt)
	if err != nil {
		b.Fatal(err)
	}
	src, err := o(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]float32, 4096)
	b.SetBytes(48000 * 4)
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < 48000; n += 4096 {
			if _, err := src.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// genOpen opens o, failing the test on error.
func genOpen(t testing.TB, o pipeline.Opener) pipeline.Source {
	t.Helper()
	src, err := o(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return src
}

// genElement builds the registered source element name from named parameter
// values, as the pipe syntax would.
func genElement(name string, params map[string]string) (pipeline.Opener, error) {
	e, err := pipeline.DefaultRegistry.Lookup(name, pipeline.KindSource)
	if err != nil {
		return nil, err
	}
	a, err := pipeline.NewArgs(e, params)
	if err != nil {
		return nil, err
	}
	return e.NewSource(a)
}

// mustGen is genElement that fails the test on error.
func mustGen(t testing.TB, name string, params map[string]string) pipeline.Opener {
	t.Helper()
	o, err := genElement(name, params)
	if err != nil {
		t.Fatalf("%s %v: %v", name, params, err)
	}
	return o
}

// genContract adapts an Opener to audiotest.CheckContract.
func genContract(o pipeline.Opener) func() (pipeline.Source, error) {
	return func() (pipeline.Source, error) { return o(context.Background()) }
}

// genQuantize16 rounds samples to 16 bits by the project's convention.
func genQuantize16(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		s := math.Max(-32768, math.Min(32767, math.Round(v*32768)))
		out[i] = s / 32768
	}
	return out
}

func genItoa(n int) string { return strconv.Itoa(n) }

func genFtoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
