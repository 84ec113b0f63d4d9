package sinks

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// TestSinksStopOnNoProgress checks that every sink gives up with
// io.ErrNoProgress on a source that returns no frames and no error forever,
// instead of spinning.
func TestSinksStopOnNoProgress(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		sink func() (pipeline.Sink, error)
	}{
		{"null", func() (pipeline.Sink, error) { return Null(), nil }},
		{"raw", func() (pipeline.Sink, error) { return Raw(filepath.Join(dir, "out.raw"), RawOptions{}) }},
		{"wav", func() (pipeline.Sink, error) { return WAV(filepath.Join(dir, "out.wav"), WAVOptions{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink, err := tc.sink()
			if err != nil {
				t.Fatal(err)
			}
			src := &audiotest.Stuck{F: pipeline.Format{Rate: 8000, Channels: 1}}
			err = audiotest.Within(t, 10*time.Second, func() error { return sink.Run(context.Background(), src) })
			if !errors.Is(err, io.ErrNoProgress) {
				t.Fatalf("Run = %v, want io.ErrNoProgress", err)
			}
			if n := src.Reads(); n != pipeline.MaxEmptyReads {
				t.Fatalf("%d reads, want %d", n, pipeline.MaxEmptyReads)
			}
		})
	}
}
