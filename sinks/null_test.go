package sinks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestNullReadsEverything(t *testing.T) {
	s := Null()
	src := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, audiotest.Pattern(12345, 2))
	if err := s.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if s.Frames() != 12345 {
		t.Errorf("Frames = %d, want 12345", s.Frames())
	}
	if n, _ := src.Read(make([]float32, 2)); n != 0 {
		t.Error("source not read to its end")
	}
}

func TestNullStopsOnCancelAndPassesErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0}
	s := Null()
	start := time.Now()
	if err := s.Run(ctx, src); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to notice the cancel", d)
	}
	if s.Frames() != src.Delivered() || s.Frames() == 0 {
		t.Errorf("Frames = %d, source delivered %d", s.Frames(), src.Delivered())
	}
	err := s.Run(context.Background(), failSource{pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, nil)})
	if err == nil || !strings.Contains(err.Error(), "decoder broke") {
		t.Errorf("source failure: %v", err)
	}
}

func TestNullElement(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("null", pipeline.KindSink)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := pipeline.NewArgs(e, nil)
	sink, err := e.NewSink(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 10))); err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.(pipeline.Negotiator); ok {
		t.Error("null should take any format")
	}
}
