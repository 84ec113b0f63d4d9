package transforms

import (
	"math"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// toneSamples returns a mono sine of the given amplitude and frequency.
func toneSamples(frames, rate int, freq, amp float64) []float32 {
	out := make([]float32, frames)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

func TestGainMinus6dBScales(t *testing.T) {
	data := audiotest.Pattern(1000, 2)
	src, err := must(t)(Gain(-6)).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, data))
	if err != nil {
		t.Fatal(err)
	}
	got := audiotest.MustReadAll(t, src)
	if len(got) != len(data) {
		t.Fatalf("%d samples, want %d", len(got), len(data))
	}
	for i := range data {
		if d := math.Abs(float64(got[i]) - float64(data[i])*0.501187); d > 1e-6 {
			t.Fatalf("sample %d: %v, want %v × 0.501187", i, got[i], data[i])
		}
	}
}

func TestGainChangesMeasuredLevel(t *testing.T) {
	const rate = 8000
	data := toneSamples(rate, rate, 997, 0.25)
	for _, db := range []float64{-20, -6, -0.5, 3, 12} {
		src, err := must(t)(Gain(db)).Apply(pipeline.FromSlice(pipeline.Format{Rate: rate, Channels: 1}, data))
		if err != nil {
			t.Fatal(err)
		}
		got := audiotest.MustReadAll(t, src)
		before := audiotest.Level(audiotest.Channel(data, 1, 0), 997, rate)
		after := audiotest.Level(audiotest.Channel(got, 1, 0), 997, rate)
		if d := after - before; math.Abs(d-db) > 1e-4 {
			t.Errorf("gain %v dB changed the level by %.5f dB", db, d)
		}
	}
}

func TestGainDoesNotClip(t *testing.T) {
	src, _ := must(t)(Gain(6)).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, []float32{0.9, -0.9}))
	got := audiotest.MustReadAll(t, src)
	if math.Abs(float64(got[0])-1.7957) > 1e-4 || math.Abs(float64(got[1])+1.7957) > 1e-4 {
		t.Errorf("+6 dB of ±0.9 = %v; want ±1.7957, unclipped", got)
	}
}

func TestGainZeroIsIdentityAndBadLevelsFail(t *testing.T) {
	up := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, []float32{0.5})
	if src, err := must(t)(Gain(0)).Apply(up); err != nil || src != up {
		t.Errorf("0 dB = %v, %v; want the upstream itself", src, err)
	}
	for _, db := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 61, -121} {
		if tr, err := Gain(db); err == nil || tr != nil || !strings.Contains(err.Error(), "dB") {
			t.Errorf("gain %v: %v, %v", db, tr, err)
		}
	}
}

func TestGainContractLengthClose(t *testing.T) {
	data := audiotest.Pattern(3000, 3)
	audiotest.CheckContract(t, func() (pipeline.Source, error) {
		return must(t)(Gain(-3)).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 3}, data))
	})
	src, _ := must(t)(Gain(-3)).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 3}, data))
	if n := pipeline.FramesOf(src); n != 3000 {
		t.Errorf("Frames = %d, want 3000", n)
	}
	up := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 2}, Value: 1}
	src, _ = must(t)(Gain(-6)).Apply(up)
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("Frames of an endless stream = %d, want -1", n)
	}
	buf := make([]float32, 64)
	if allocs := testing.AllocsPerRun(100, func() { src.Read(buf) }); allocs != 0 {
		t.Errorf("Read allocates %v times", allocs)
	}
	if err := pipeline.Close(src); err != nil || !up.Closed() {
		t.Errorf("Close = %v, upstream closed %v", err, up.Closed())
	}
}

func TestGainElement(t *testing.T) {
	for text, want := range map[string]float64{"-6dB": -6, "+3": 3, "-120dB": -120, "60": 60} {
		tr, err := newTransform(t, "gain", map[string]string{"db": text})
		if err != nil {
			t.Fatalf("gain %s: %v", text, err)
		}
		src, _ := tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, []float32{0.5}))
		got := audiotest.MustReadAll(t, src)
		if w := 0.5 * math.Pow(10, want/20); math.Abs(float64(got[0])-w) > 1e-7*math.Max(1, w) {
			t.Errorf("gain %s: 0.5 became %v, want %v", text, got[0], w)
		}
	}
	for _, bad := range []string{"61dB", "-121", "loud"} {
		if _, err := newTransform(t, "gain", map[string]string{"db": bad}); err == nil {
			t.Errorf("gain %s accepted", bad)
		}
	}
}
