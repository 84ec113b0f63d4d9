package main

import (
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The demo's call, on a fake clock: its jingle looped through a Session
// with the elks sink's defaults (as `elks format=ulaw` serves it) against
// the simulator over elks.Pipe, at the demo's 50 ms round trip, for 4 s.
// The caller hears the jingle from the first instant to the hangup with
// no gap, sample for sample; TestDemo runs the command itself in real
// time, where a loaded machine may be late.
func TestDemoJingleNoGaps(t *testing.T) {
	g, err := pipeline.SourceGraph(demoJingle + " | loop")
	if err != nil {
		t.Fatal(err)
	}
	once := expected(t, demoJingle, 8000) // one jingle, 1.6 s
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		app, api := elks.Pipe()
		rec := filepath.Join(t.TempDir(), "heard.wav")
		reports := make(chan *elkstest.Report, 1)
		go func() {
			r, err := elkstest.Run(ctx, api, elkstest.Options{Speed: 4, RTT: 50 * time.Millisecond, Duration: 4 * time.Second, Record: rec})
			if err != nil {
				t.Error(err)
			}
			reports <- r
		}()
		s, err := elks.StartSession(ctx, app, elks.Config{Format: elks.ULaw, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.PlayGraph(ctx, g) // until the caller hangs up
		s.Close()
		r := <-reports
		if r == nil {
			t.FailNow()
		}
		if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonHangup || r.Duration != 4 || len(r.Violations) != 0 {
			t.Fatalf("end %+v after %v s, problems %v", r.End, r.Duration, r.Problems)
		}
		if r.Gaps.Count != 0 || r.FirstAudio != 0 || math.Abs(r.Played-4) > 1e-9 {
			t.Errorf("gaps %+v, first audio at %v s, played %v s", r.Gaps, r.FirstAudio, r.Played)
		}
		got, f := decodeFile(t, rec)
		if f.Rate != 8000 || len(got) != 4*8000 {
			t.Fatalf("heard %d samples at %d Hz, want 4 s at 8000", len(got), f.Rate)
		}
		// The jingle, again and again, within µ-law's step.
		want := make([]float32, len(got))
		for i := range want {
			want[i] = once[i%len(once)]
		}
		if d := audiotest.MaxDiff(got, want); d > 0.016 {
			t.Errorf("heard audio differs from the jingle looped by up to %g", d)
		}
	})
}
