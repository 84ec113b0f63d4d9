package transforms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// ramp returns an Opener for n frames counting 0, 1, 2, ... (scaled), and
// counts how often it was opened and closed.
func rampOpener(n, channels int, opened, closed *int) pipeline.Opener {
	return func(context.Context) (pipeline.Source, error) {
		*opened++
		data := make([]float32, n*channels)
		for i := range data {
			data[i] = float32(i/channels) / 1000
		}
		return &closeCounter{Source: pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: channels}, data), closed: closed}, nil
	}
}

type closeCounter struct {
	pipeline.Source
	closed *int
}

func (c *closeCounter) Close() error { *c.closed++; return nil }
func (c *closeCounter) Frames() int64 {
	return pipeline.FramesOf(c.Source)
}

func TestLoopIsSampleExactAndReopens(t *testing.T) {
	var opened, closed int
	up := rampOpener(37, 2, &opened, &closed)
	var events []string
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) { events = append(events, e.String()) })
	open := must(t)(Loop(3)).(pipeline.Reopener).Wrap(up)
	got := audiotest.CheckContract(t, func() (pipeline.Source, error) {
		events = nil
		return open(ctx)
	})
	if len(got) != 3*37*2 {
		t.Fatalf("%d samples, want %d", len(got), 3*37*2)
	}
	for i := range got {
		if want := float32((i/2)%37) / 1000; got[i] != want {
			t.Fatalf("sample %d = %v, want %v", i, got[i], want)
		}
	}
	if opened != closed || opened != 5*3 {
		t.Errorf("opened %d, closed %d; want 15 each (3 per run, 5 runs)", opened, closed)
	}
	want := "loop: iteration started #1,loop: iteration ended #1,loop: iteration started #2," +
		"loop: iteration ended #2,loop: iteration started #3,loop: iteration ended #3"
	if strings.Join(events, ",") != want {
		t.Errorf("events: %s", strings.Join(events, ","))
	}
	src, _ := open(ctx)
	if n := pipeline.FramesOf(src); n != 3*37 {
		t.Errorf("Frames = %d", n)
	}
	pipeline.Close(src)
}

func TestLoopForeverStopsOnClose(t *testing.T) {
	var opened, closed int
	src, err := must(t)(Loop(0)).(pipeline.Reopener).Wrap(rampOpener(10, 1, &opened, &closed))(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pipeline.FramesOf(src) != -1 {
		t.Error("an endless loop claims a length")
	}
	buf := make([]float32, 7)
	total := 0
	for total < 10000 {
		n, err := src.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	pipeline.Close(src)
	if opened != closed {
		t.Errorf("opened %d, closed %d", opened, closed)
	}
}

func TestLoopErrors(t *testing.T) {
	empty := func(context.Context) (pipeline.Source, error) {
		return pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, nil), nil
	}
	src, _ := must(t)(Loop(0)).(pipeline.Reopener).Wrap(empty)(context.Background())
	if _, err := src.Read(make([]float32, 4)); err == nil || !strings.Contains(err.Error(), "no audio") {
		t.Errorf("looping nothing: %v", err)
	}
	n := 0
	flaky := func(context.Context) (pipeline.Source, error) {
		n++
		if n > 1 {
			return nil, errors.New("file vanished")
		}
		return pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, []float32{1}), nil
	}
	src, _ = must(t)(Loop(2)).(pipeline.Reopener).Wrap(flaky)(context.Background())
	_, err := audiotest.ReadAll(src, 4)
	if err == nil || err.Error() != "re-opening for iteration 2: file vanished" {
		t.Errorf("re-open failure: %v", err)
	}
	if _, err := must(t)(Loop(2)).Apply(nil); !errors.Is(err, ErrLoopNeedsOpener) {
		t.Errorf("Apply: %v", err)
	}
}
