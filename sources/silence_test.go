package sources

import (
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestSilence(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		format pipeline.Format
		frames int
	}{
		{map[string]string{"dur": "300ms"}, pipeline.Format{Rate: 48000, Channels: 1}, 14400},
		{map[string]string{"dur": "1.5", "rate": "8k", "channels": "2"}, pipeline.Format{Rate: 8000, Channels: 2}, 12000},
		{map[string]string{"dur": "10ms", "rate": "44.1k"}, pipeline.Format{Rate: 44100, Channels: 1}, 441},
		{map[string]string{"dur": "1ms", "rate": "22050"}, pipeline.Format{Rate: 22050, Channels: 1}, 22}, // 22.05
	} {
		src := genOpen(t, mustGen(t, "silence", c.params))
		if src.Format() != c.format || pipeline.FramesOf(src) != int64(c.frames) {
			t.Errorf("silence %v: %v, %d frames; want %v, %d", c.params, src.Format(), pipeline.FramesOf(src), c.format, c.frames)
		}
		x := audiotest.MustReadAll(t, src)
		if len(x) != c.frames*c.format.Channels {
			t.Errorf("silence %v: %d samples, want %d", c.params, len(x), c.frames*c.format.Channels)
		}
		for i, v := range x {
			if v != 0 {
				t.Fatalf("silence %v: sample %d = %v", c.params, i, v)
			}
		}
	}
}

func TestSilenceEndless(t *testing.T) {
	src := genOpen(t, mustGen(t, "silence", map[string]string{"rate": "8k", "channels": "2"}))
	if n := pipeline.FramesOf(src); n != -1 {
		t.Fatalf("Frames() = %d, want -1", n)
	}
	buf := make([]float32, 3*8000*2)
	for i := range buf {
		buf[i] = 1
	}
	if n, err := pipeline.ReadFull(src, buf); n != 24000 || err != nil {
		t.Fatalf("ReadFull = %d, %v", n, err)
	}
	for i, v := range buf {
		if v != 0 {
			t.Fatalf("sample %d = %v", i, v)
		}
	}
}

func TestSilenceContract(t *testing.T) {
	audiotest.CheckContract(t, genContract(mustGen(t, "silence", map[string]string{"dur": "100ms", "channels": "3", "rate": "16k"})))
	o, err := Silence(SilenceOptions{Dur: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	audiotest.CheckContract(t, genContract(o))
}

func TestSilenceAdapt(t *testing.T) {
	src := genOpen(t, mustGen(t, "silence", map[string]string{"dur": "250ms"}))
	a, ok := src.(pipeline.Adaptable)
	if !ok {
		t.Fatal("silence without rate= is not Adaptable")
	}
	out, err := a.Adapt(pipeline.Format{Rate: 16000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if out.Format() != (pipeline.Format{Rate: 16000, Channels: 2}) || pipeline.FramesOf(out) != 4000 {
		t.Errorf("adapted: %v, %d frames", out.Format(), pipeline.FramesOf(out))
	}
	if _, err := a.Adapt(pipeline.Format{Rate: 0, Channels: 1}); err == nil {
		t.Error("adapted to rate 0")
	}
	if _, ok := genOpen(t, mustGen(t, "silence", map[string]string{"channels": "2"})).(pipeline.Adaptable); ok {
		t.Error("silence channels=2 is Adaptable")
	}
}

func TestSilenceErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"dur": "0"}, "above zero"},
		{map[string]string{"dur": "-1s"}, "negative"},
		{map[string]string{"dur": "soon"}, "not a duration"},
		{map[string]string{"rate": "0"}, "sample rate"},
		{map[string]string{"channels": "65"}, "out of range"},
	} {
		_, err := genElement("silence", c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("silence %v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
}
