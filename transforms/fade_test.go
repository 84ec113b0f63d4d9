package transforms

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// constFrames returns frames of a constant, so that a fade's output is its gain
// curve times v.
func constFrames(frames int, v float32) []float32 {
	out := make([]float32, frames)
	for i := range out {
		out[i] = v
	}
	return out
}

func fadeAll(t *testing.T, src pipeline.Source, in, out time.Duration, shape FadeShape) []float32 {
	t.Helper()
	tr, err := Fade(in, out, shape)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tr.Apply(src)
	if err != nil {
		t.Fatal(err)
	}
	return audiotest.MustReadAll(t, s)
}

// The gain halfway through a fade, for each shape.
var halfway = map[FadeShape]float64{
	FadeHalfSine:         0.5,
	FadeLinear:           0.5,
	FadeQuarterSine:      math.Sqrt2 / 2,
	FadeInvertedParabola: 0.75,
	FadeLog:              math.Pow(10, -2.5), // -50 dB
}

func TestFadeShapesAtExactFrames(t *testing.T) {
	const rate = 1000 // 100 ms = 100 frames
	for shape, mid := range halfway {
		// Fade in over 100 frames of a 1000-frame stream.
		got := fadeAll(t, pipeline.FromSlice(pipeline.Format{Rate: rate, Channels: 1}, constFrames(1000, 1)),
			100*time.Millisecond, 0, shape)
		if len(got) != 1000 {
			t.Fatalf("%v: %d frames, want 1000", shape, len(got))
		}
		check := func(what string, i int, want float64) {
			t.Helper()
			if d := math.Abs(float64(got[i]) - want); d > 1e-7 {
				t.Errorf("%v %s: frame %d = %v, want %v", shape, what, i, got[i], want)
			}
		}
		check("fade-in", 0, 0)
		check("fade-in", 50, mid)
		check("fade-in", 99, shape.Gain(0.99))
		check("fade-in", 100, 1)
		check("fade-in", 999, 1)
		for i := 1; i < 100; i++ {
			if !(got[i] > got[i-1]) {
				t.Errorf("%v fade-in not rising at frame %d: %v after %v", shape, i, got[i], got[i-1])
			}
		}

		// Fade out over the last 100 frames: the mirror image.
		got = fadeAll(t, pipeline.FromSlice(pipeline.Format{Rate: rate, Channels: 1}, constFrames(1000, 1)),
			0, 100*time.Millisecond, shape)
		check("fade-out", 0, 1)
		check("fade-out", 899, 1)
		check("fade-out", 900, shape.Gain(0.99))
		check("fade-out", 949, mid)
		check("fade-out", 999, 0)
	}
}

func TestFadeOverlapMultiplies(t *testing.T) {
	// 100 frames, fade in and out over 80 each: the gains multiply where
	// they overlap.
	got := fadeAll(t, pipeline.FromSlice(pipeline.Format{Rate: 1000, Channels: 1}, constFrames(100, 1)),
		80*time.Millisecond, 80*time.Millisecond, FadeLinear)
	for i := range got {
		want := 1.0
		if i < 80 {
			want *= float64(i) / 80
		}
		if i >= 20 {
			want *= float64(99-i) / 80
		}
		if math.Abs(float64(got[i])-want) > 1e-7 {
			t.Fatalf("frame %d: %v, want %v", i, got[i], want)
		}
	}
}

func TestFadeAppliesToEveryChannel(t *testing.T) {
	data := []float32{}
	for i := 0; i < 10; i++ {
		data = append(data, 1, -0.5)
	}
	got := fadeAll(t, pipeline.FromSlice(pipeline.Format{Rate: 100, Channels: 2}, data),
		40*time.Millisecond, 0, FadeLinear)
	for i := 0; i < 10; i++ {
		g := math.Min(float64(i)/4, 1)
		if math.Abs(float64(got[2*i])-g) > 1e-7 || math.Abs(float64(got[2*i+1])+0.5*g) > 1e-7 {
			t.Fatalf("frame %d: %v %v, want gain %v", i, got[2*i], got[2*i+1], g)
		}
	}
}

func TestFadeOutNeedsLength(t *testing.T) {
	tr, _ := Fade(0, time.Second, FadeHalfSine)
	up := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 1}
	_, err := tr.Apply(up)
	if err == nil || !strings.Contains(err.Error(), "unknown") || !strings.Contains(err.Error(), "trim dur=") {
		t.Fatalf("fade out= on an endless stream: err %v; want one that says the length is unknown and suggests trim dur=", err)
	}
	// Fade-in works on anything; trim makes the length known.
	tr, _ = Fade(time.Second, 0, FadeHalfSine)
	if _, err := tr.Apply(up); err != nil {
		t.Errorf("fade in= on an endless stream: %v", err)
	}
	trim, _ := Trim(0, 2*time.Second)
	bounded, _ := trim.Apply(audiotest.Unsized(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, constFrames(30000, 1))))
	if pipeline.FramesOf(bounded) != -1 {
		t.Fatal("trim of an unsized stream claims a length")
	}
	bounded, _ = trim.Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, constFrames(30000, 1)))
	got := fadeAll(t, bounded, 0, time.Second, FadeLinear)
	if len(got) != 16000 || got[15999] != 0 || got[7999] != 1 {
		t.Errorf("trim then fade out: %d frames, last %v, frame 7999 %v", len(got), got[len(got)-1], got[7999])
	}
}

func TestFadeErrorsAndElement(t *testing.T) {
	if _, err := Fade(-time.Second, 0, FadeLinear); err == nil {
		t.Error("negative fade accepted")
	}
	if _, err := Fade(time.Second, 0, FadeShape(99)); err == nil {
		t.Error("unknown shape accepted")
	}
	if _, err := newTransform(t, "fade", nil); err == nil {
		t.Error("fade without in= or out= accepted")
	}
	if _, err := newTransform(t, "fade", map[string]string{"in": "1s", "shape": "cubic"}); err == nil {
		t.Error("unknown shape name accepted")
	}
	tr, err := newTransform(t, "fade", map[string]string{"in": "20ms", "shape": "qsin"})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 1000, Channels: 1}, constFrames(40, 1)))
	got := audiotest.MustReadAll(t, src)
	if math.Abs(float64(got[10])-math.Sqrt2/2) > 1e-7 || got[0] != 0 {
		t.Errorf("fade in=20ms shape=qsin: frame 0 %v, frame 10 %v", got[0], got[10])
	}
	for name, want := range map[string]FadeShape{"": FadeHalfSine, "hsin": FadeHalfSine, "LINEAR": FadeLinear,
		"qsin": FadeQuarterSine, "ipar": FadeInvertedParabola, "log": FadeLog} {
		if got, err := ParseFadeShape(name); err != nil || got != want {
			t.Errorf("ParseFadeShape(%q) = %v, %v", name, got, err)
		}
	}
}

func TestFadeContractAndLength(t *testing.T) {
	data := audiotest.Pattern(4000, 2)
	audiotest.CheckContract(t, func() (pipeline.Source, error) {
		tr, _ := Fade(300*time.Millisecond, 700*time.Millisecond, FadeHalfSine)
		return tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 1000, Channels: 2}, data))
	})
	tr, _ := Fade(100*time.Millisecond, 100*time.Millisecond, FadeHalfSine)
	up := pipeline.FromSlice(pipeline.Format{Rate: 1000, Channels: 2}, data)
	src, _ := tr.Apply(up)
	if n := pipeline.FramesOf(src); n != 4000 {
		t.Errorf("Frames = %d, want 4000", n)
	}
	e := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 1}
	tr, _ = Fade(time.Second, 0, FadeHalfSine)
	src, _ = tr.Apply(e)
	buf := make([]float32, 100)
	if allocs := testing.AllocsPerRun(100, func() { src.Read(buf) }); allocs != 0 {
		t.Errorf("Read allocates %v times", allocs)
	}
	if err := pipeline.Close(src); err != nil || !e.Closed() {
		t.Errorf("Close = %v, upstream closed %v", err, e.Closed())
	}
}

// TestFadeMatchesSoX compares every shape with SoX's fade effect on a
// constant signal: fade-ins agree frame for frame; SoX's fade-out ends one
// frame later (its last frame is at 1/N, ours at 0), so ours is SoX's
// shifted one frame earlier.
func TestFadeMatchesSoX(t *testing.T) {
	audiotest.NeedTool(t, "sox")
	const rate, frames = 1000, 600
	dir := t.TempDir()
	in := filepath.Join(dir, "dc.f32")
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, constFrames(frames, 0.5))
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	letters := map[FadeShape]string{FadeHalfSine: "h", FadeLinear: "t", FadeQuarterSine: "q",
		FadeInvertedParabola: "p", FadeLog: "l"}
	for shape, letter := range letters {
		out := audiotest.Run(t, "sox", "-t", "f32", "-r", "1000", "-c", "1", in, "-t", "f32", "-",
			"fade", letter, "0.2", "-0", "0.3")
		ref := make([]float32, len(out)/4)
		binary.Read(bytes.NewReader(out), binary.LittleEndian, ref)
		if len(ref) != frames {
			t.Fatalf("sox gave %d frames", len(ref))
		}
		got := fadeAll(t, pipeline.FromSlice(pipeline.Format{Rate: rate, Channels: 1}, constFrames(frames, 0.5)),
			200*time.Millisecond, 300*time.Millisecond, shape)
		for i := 1; i < 200; i++ { // frame 0: SoX's log curve starts at -100 dB, ours at silence
			if d := math.Abs(float64(got[i] - ref[i])); d > 1e-6 {
				t.Fatalf("%v fade-in frame %d: %v, sox %v", shape, i, got[i], ref[i])
			}
		}
		for i := 299; i < frames-1; i++ {
			if d := math.Abs(float64(got[i] - ref[i+1])); d > 1e-6 {
				t.Fatalf("%v fade-out frame %d: %v, sox frame %d %v", shape, i, got[i], i+1, ref[i+1])
			}
		}
		if got[0] != 0 || got[frames-1] != 0 {
			t.Errorf("%v: first %v, last %v; want silence at both ends", shape, got[0], got[frames-1])
		}
	}
}
