package vad

import (
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
)

const rate = 16000

// noise returns n samples of white noise at about lvl dBFS.
func noise(r *rand.Rand, n int, lvl float64) []float32 {
	a := math.Pow(10, lvl/20) * math.Sqrt(3) // uniform: rms = a/√3
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(a * (2*r.Float64() - 1))
	}
	return x
}

// voiced returns n samples of a synthetic vowel-like signal: a 120 Hz
// buzz with its first 20 harmonics, falling 6 dB per octave, in
// syllables of 200 ms (a 5 Hz envelope that never falls silent), at about
// lvl dBFS.
func voiced(n int, lvl float64) []float32 {
	x := make([]float32, n)
	var sum float64
	for i := range x {
		t := float64(i) / rate
		var v float64
		for h := 1; h <= 20; h++ {
			v += math.Sin(2*math.Pi*120*float64(h)*t) / float64(h)
		}
		v *= 0.6 + 0.4*math.Sin(2*math.Pi*5*t)
		x[i] = float32(v)
		sum += v * v
	}
	g := math.Pow(10, lvl/20) / math.Sqrt(sum/float64(n))
	for i := range x {
		x[i] *= float32(g)
	}
	return x
}

// run feeds x in 20 ms writes with echo reference ref and returns the
// events, their At in frames of x.
func run(t *testing.T, x []float32, ref float64) []Event {
	t.Helper()
	d, err := New(rate)
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for i := 0; i < len(x); i += 320 {
		evs = append(evs, d.Write(x[i:min(len(x), i+320)], ref)...)
	}
	return evs
}

func concat(parts ...[]float32) []float32 {
	var x []float32
	for _, p := range parts {
		x = append(x, p...)
	}
	return x
}

// Speech after a second of line noise starts within the onset (100 ms)
// plus a frame of its beginning, dated from its first frame, and ends
// within the hangover (300 ms) plus a frame of its end.
func TestSpeechStartsAndEnds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lvl := range []float64{-10, -20, -30} {
		x := concat(noise(r, rate, -55), voiced(rate, lvl), noise(r, rate, -55))
		evs := run(t, x, math.Inf(-1))
		if len(evs) != 2 || !evs[0].Start || evs[1].Start {
			t.Fatalf("%g dBFS: events %+v, want a start and an end", lvl, evs)
		}
		if at := evs[0].At; at < rate-320 || at > rate+320 {
			t.Errorf("%g dBFS: speech starts at frame %d, want %d ± a frame", lvl, at, rate)
		}
		if at := evs[1].At; at < 2*rate-320 || at > 2*rate+320 {
			t.Errorf("%g dBFS: speech ends at frame %d, want %d ± a frame", lvl, at, 2*rate)
		}
	}
}

// Silence, quiet line noise and steady loud noise (the floor follows it)
// are not speech.
func TestNoSpeechInNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, x := range map[string][]float32{
		"silence":          make([]float32, 5*rate),
		"noise -60 dBFS":   noise(r, 5*rate, -60),
		"noise -30 dBFS":   noise(r, 5*rate, -30),
		"a -50 dBFS hum":   voiced(5*rate, -50),
		"noise -50 to -42": concat(noise(r, 2*rate, -50), noise(r, 3*rate, -42)),
	} {
		if evs := run(t, x, math.Inf(-1)); len(evs) != 0 {
			t.Errorf("%s: events %+v, want none", name, evs)
		}
	}
}

// The echo of what was played (20 dB or more below it) is not speech;
// the same audio with quieter audio played is.
func TestEchoIsNotSpeech(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := concat(noise(r, rate, -60), voiced(2*rate, -30))
	if evs := run(t, x, -8); len(evs) != 0 {
		t.Errorf("an echo 22 dB below what was played: events %+v", evs)
	}
	if evs := run(t, x, -20); len(evs) != 1 || !evs[0].Start {
		t.Errorf("speech louder than the echo guard: events %+v", evs)
	}
}

// Real speech (espeak-ng) starts within 150 ms of its first sound.
func TestRealSpeech(t *testing.T) {
	audiotest.NeedTool(t, "espeak-ng")
	out, err := exec.Command("espeak-ng", "--stdout", "-s", "150", "Hello, I would like to talk to someone about my bill.").Output()
	if err != nil {
		t.Skipf("espeak-ng: %v", err)
	}
	// espeak-ng writes a 22050 Hz 16-bit WAV with a 44-byte header.
	sp := audiotest.S16LE(out[44:])
	first := -1
	for i, v := range sp {
		if math.Abs(float64(v)) > 0.05 {
			first = i
			break
		}
	}
	d, err := New(22050)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	lead := len(noise(r, 22050, -60))
	x := concat(noise(r, 22050, -60), sp)
	var evs []Event
	for i := 0; i < len(x); i += 441 {
		evs = append(evs, d.Write(x[i:min(len(x), i+441)], math.Inf(-1))...)
	}
	if len(evs) == 0 || !evs[0].Start {
		t.Fatalf("no speech found: %+v", evs)
	}
	// Decided at the onset's last frame: that is the latency.
	decided := float64(evs[0].At-int64(lead+first))/22050 + OnsetMs/1000.0
	if decided > 0.15 {
		t.Errorf("speech found %.0f ms after its first sound, want at most 150 ms", decided*1000)
	}
	t.Logf("espeak-ng speech: found %.0f ms after its first sound; %d events", decided*1000, len(evs))
}
