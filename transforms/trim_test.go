package transforms

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func trimAll(t *testing.T, src pipeline.Source, start, dur time.Duration) (pipeline.Source, []float32) {
	t.Helper()
	tr, err := Trim(start, dur)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tr.Apply(src)
	if err != nil {
		t.Fatal(err)
	}
	return s, audiotest.MustReadAll(t, s)
}

func equalSamples(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: sample %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestTrimExactFrames(t *testing.T) {
	const rate = 44100
	f := pipeline.Format{Rate: rate, Channels: 2}
	data := audiotest.Pattern(2*rate, 2) // 2 s
	for _, tc := range []struct {
		start, dur time.Duration
		from, n    int // expected frames
	}{
		{1500 * time.Millisecond, 10 * time.Millisecond, 66150, 441},
		{time.Millisecond, time.Millisecond, 44, 44}, // 44.1 frames round to 44
		{0, 250 * time.Millisecond, 0, 11025},
		{500 * time.Millisecond, ToEnd, 22050, 2*rate - 22050},
		{1900 * time.Millisecond, time.Second, 83790, 2*rate - 83790}, // dur runs past the end
		{3 * time.Second, time.Second, 0, 0},                          // start past the end
		{2 * time.Second, ToEnd, 0, 0},                                // start exactly at the end
		{0, 0, 0, 0},
	} {
		s, got := trimAll(t, pipeline.FromSlice(f, data), tc.start, tc.dur)
		equalSamples(t, "trim", got, data[tc.from*2:(tc.from+tc.n)*2])
		if l := pipeline.FramesOf(s); l != int64(tc.n) {
			t.Errorf("trim start=%v dur=%v: Frames = %d, want %d", tc.start, tc.dur, l, tc.n)
		}
	}
}

func TestTrimUnknownLength(t *testing.T) {
	f := pipeline.Format{Rate: 8000, Channels: 1}
	data := audiotest.Pattern(8000, 1)
	s, got := trimAll(t, audiotest.Unsized(pipeline.FromSlice(f, data)), 250*time.Millisecond, 500*time.Millisecond)
	if l := pipeline.FramesOf(s); l != -1 {
		t.Errorf("Frames of a trimmed stream of unknown length = %d, want -1", l)
	}
	equalSamples(t, "trim of unsized", got, data[2000:6000])

	// An endless stream becomes finite, of exactly dur.
	e := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 3}, Value: 0.25}
	_, got = trimAll(t, e, time.Second, 1500*time.Millisecond)
	if len(got) != 12000*3 {
		t.Errorf("trim of an endless stream gave %d frames, want 12000", len(got)/3)
	}
	if e.Delivered() != 20000 {
		t.Errorf("read %d frames from upstream, want 20000", e.Delivered())
	}
}

// countReads counts the Read calls reaching a source.
type countReads struct {
	pipeline.Source
	reads int
}

func (c *countReads) Read(p []float32) (int, error) { c.reads++; return c.Source.Read(p) }

func TestTrimSkipsInLargeReads(t *testing.T) {
	up := &countReads{Source: &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 1}}
	tr, _ := Trim(10*time.Second, ToEnd)
	s, _ := tr.Apply(up)
	buf := make([]float32, 1)
	if n, err := s.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if up.reads > 80000/transformChunk+2 {
		t.Errorf("skipping 80000 frames took %d upstream reads", up.reads)
	}
	if allocs := testing.AllocsPerRun(100, func() { s.Read(buf) }); allocs != 0 {
		t.Errorf("Read allocates %v times", allocs)
	}
}

// failing delivers frames, then fails.
type failing struct {
	pipeline.Source
	after int
}

func (f *failing) Read(p []float32) (int, error) {
	if f.after <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := f.Source.Read(p[:min(len(p), f.after*f.Format().Channels)])
	f.after -= n
	return n, err
}

func TestTrimPassesErrors(t *testing.T) {
	f := pipeline.Format{Rate: 1000, Channels: 1}
	for _, start := range []time.Duration{0, time.Second} {
		tr, _ := Trim(start, ToEnd)
		s, _ := tr.Apply(&failing{Source: pipeline.FromSlice(f, audiotest.Pattern(5000, 1)), after: 500})
		if _, err := audiotest.ReadAll(s, 100); err != io.ErrUnexpectedEOF {
			t.Errorf("start=%v: err %v, want the upstream's", start, err)
		}
	}
	if _, err := Trim(-time.Second, ToEnd); err == nil {
		t.Error("negative start accepted")
	}
}

func TestTrimContractElementClose(t *testing.T) {
	f := pipeline.Format{Rate: 1000, Channels: 2}
	data := audiotest.Pattern(5000, 2)
	audiotest.CheckContract(t, func() (pipeline.Source, error) {
		tr, _ := Trim(1234*time.Millisecond, 2345*time.Millisecond)
		return tr.Apply(pipeline.FromSlice(f, data))
	})
	tr, err := newTransform(t, "trim", map[string]string{"start": "1s", "dur": "0.5"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tr.Apply(pipeline.FromSlice(f, data))
	equalSamples(t, "trim start=1s dur=0.5", audiotest.MustReadAll(t, s), data[2000:3000])
	tr, _ = newTransform(t, "trim", map[string]string{"start": "4s"})
	s, _ = tr.Apply(pipeline.FromSlice(f, data))
	equalSamples(t, "trim start=4s", audiotest.MustReadAll(t, s), data[8000:])
	e := &audiotest.Endless{F: f, Value: 1}
	s, _ = tr.Apply(e)
	if err := pipeline.Close(s); err != nil || !e.Closed() {
		t.Errorf("Close = %v, upstream closed %v", err, e.Closed())
	}
}

func TestTrimStopsOnNoProgress(t *testing.T) {
	tr, err := Trim(time.Second, -1)
	if err != nil {
		t.Fatal(err)
	}
	stuck := &audiotest.Stuck{F: pipeline.Format{Rate: 8000, Channels: 1}}
	src, err := tr.Apply(stuck)
	if err != nil {
		t.Fatal(err)
	}
	err = audiotest.Within(t, 10*time.Second, func() error {
		_, err := src.Read(make([]float32, 160))
		return err
	})
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("Read = %v, want io.ErrNoProgress", err)
	}
}
