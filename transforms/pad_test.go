package transforms

import (
	"io"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestPadAddsExactSilence(t *testing.T) {
	f := pipeline.Format{Rate: 1000, Channels: 2}
	data := audiotest.Pattern(100, 2)
	for _, tc := range []struct {
		before, after time.Duration
		b, a          int
	}{
		{10 * time.Millisecond, 20 * time.Millisecond, 10, 20},
		{0, 5 * time.Millisecond, 0, 5},
		{1500 * time.Microsecond, 0, 2, 0}, // 1.5 frames round to 2
		{0, 0, 0, 0},
	} {
		tr, err := Pad(tc.before, tc.after)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := tr.Apply(pipeline.FromSlice(f, data))
		want := append(append(make([]float32, tc.b*2), data...), make([]float32, tc.a*2)...)
		equalSamples(t, "pad", audiotest.MustReadAll(t, s), want)
		if l := pipeline.FramesOf(s); l != int64(100+tc.b+tc.a) {
			t.Errorf("pad %v %v: Frames = %d, want %d", tc.before, tc.after, l, 100+tc.b+tc.a)
		}
		s, _ = tr.Apply(audiotest.Unsized(pipeline.FromSlice(f, data)))
		if l := pipeline.FramesOf(s); l != -1 {
			t.Errorf("Frames of a padded stream of unknown length = %d, want -1", l)
		}
		equalSamples(t, "pad of unsized", audiotest.MustReadAll(t, s), want)
	}
}

func TestPadErrorsContractElement(t *testing.T) {
	if _, err := Pad(-time.Second, 0); err == nil {
		t.Error("negative pad accepted")
	}
	f := pipeline.Format{Rate: 1000, Channels: 3}
	data := audiotest.Pattern(777, 3)
	audiotest.CheckContract(t, func() (pipeline.Source, error) {
		tr, _ := Pad(333*time.Millisecond, 444*time.Millisecond)
		return tr.Apply(pipeline.FromSlice(f, data))
	})
	tr, err := newTransform(t, "pad", map[string]string{"before": "5ms", "after": "0.01"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tr.Apply(pipeline.FromSlice(f, data))
	if got := audiotest.MustReadAll(t, s); len(got) != (5+777+10)*3 {
		t.Errorf("pad before=5ms after=0.01: %d frames", len(got)/3)
	}
	// An upstream error is passed on, and silence does not follow it.
	s, _ = tr.Apply(&failing{Source: pipeline.FromSlice(f, data), after: 100})
	if got, err := audiotest.ReadAll(s, 64); err != io.ErrUnexpectedEOF || len(got) != 105*3 {
		t.Errorf("after an upstream error: %d frames, err %v", len(got)/3, err)
	}
	e := &audiotest.Endless{F: f, Value: 1}
	s, _ = tr.Apply(e)
	buf := make([]float32, 30)
	if allocs := testing.AllocsPerRun(100, func() { s.Read(buf) }); allocs != 0 {
		t.Errorf("Read allocates %v times", allocs)
	}
	if err := pipeline.Close(s); err != nil || !e.Closed() {
		t.Errorf("Close = %v, upstream closed %v", err, e.Closed())
	}
}
