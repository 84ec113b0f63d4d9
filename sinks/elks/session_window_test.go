package elks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A looped pipeline: what the caller hears is exactly the pipeline's
// audio; a sync goes out at every iteration end and at least every
// checkpoint; the API never buffers more than window + checkpoint; the
// call ends with a final sync, its answer, then bye.
func TestSessionWindowAndCheckpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 300 * time.Millisecond
		cfg := Config{Format: PCM16000, Window: 2 * time.Second, Checkpoint: 500 * time.Millisecond}
		s, p, logs := sessCall(t, cfg, func(p *sessPeer) { p.rtt = rtt })
		g := sessGraph(t, "tone 440 dur=1.33s rate=16k | loop 6")
		defer func() {
			// The stream's events are in the call's log, at debug level.
			if l := logs.String(); !strings.Contains(l, `msg="stream event"`) || !strings.Contains(l, `event="loop: iteration ended #6"`) {
				t.Errorf("no stream events in the log:\n%s", l)
			}
		}()
		start := time.Now()
		srvRunCall(context.Background(), s, GraphHandler(g), false)
		elapsed := time.Since(start)
		<-p.done
		r := p.snapshot()

		sessSameAudio(t, r.heard, sessExpect(t, g, PCM16000))
		total := 6 * 1330 * time.Millisecond
		if r.gaps != 0 {
			t.Errorf("%d gaps (%v) at rtt %v", r.gaps, r.gapTime, rtt)
		}
		if lim := cfg.Window + cfg.Checkpoint; r.maxBuf > lim {
			t.Errorf("API buffered %v, more than window+checkpoint %v", r.maxBuf, lim)
		}
		if r.maxBuf < cfg.Window {
			t.Errorf("API buffered at most %v: the window of %v was not used", r.maxBuf, cfg.Window)
		}
		// Checkpoints: at every iteration end, and never more than
		// checkpoint of audio apart.
		at := map[time.Duration]bool{}
		prev := time.Duration(0)
		for _, d := range r.syncAt {
			at[d.Round(time.Millisecond)] = true
			if d-prev > cfg.Checkpoint+time.Millisecond {
				t.Errorf("%v of audio between syncs at %v and %v", d-prev, prev, d)
			}
			prev = d
		}
		for i := 1; i <= 6; i++ {
			if b := time.Duration(i) * 1330 * time.Millisecond; !at[b] {
				t.Errorf("no sync at the end of iteration %d (%v); syncs at %v", i, b, r.syncAt)
			}
		}
		// The end: final sync answered after the audio played, then bye.
		if !r.appBye || r.byeLate > 0 {
			t.Errorf("bye: sent %v, %v of audio still unplayed", r.appBye, r.byeLate)
		}
		types := r.types()
		if n := len(types); n < 3 || types[n-1] != "bye" || types[n-2] != "sync" {
			t.Errorf("the call does not end with sync, bye: %v", types[max(0, n-4):])
		}
		if r.replies != len(r.syncAt) {
			t.Errorf("%d syncs, %d replies before bye", len(r.syncAt), r.replies)
		}
		// Bye came right after the last audio played plus the round trip.
		if want := total + rtt; elapsed < want || elapsed > want+10*time.Millisecond {
			t.Errorf("call took %v, want %v (audio + one round trip)", elapsed, want)
		}
		st := s.Stats()
		if st.MaxInFlight > cfg.Window+cfg.Checkpoint || st.Syncs != len(r.syncAt) || st.SyncReplies != st.Syncs {
			t.Errorf("stats %+v", st)
		}
		if end := s.End(); end.By != ByApp {
			t.Errorf("end %+v", end)
		}
		if len(r.violations) > 0 {
			t.Errorf("violations: %v", r.violations)
		}
	})
}

// No gap while the window exceeds the round trip; gaps when it does not
// (which shows the measurement works).
func TestSessionNoGapAtRoundTrips(t *testing.T) {
	for _, c := range []struct {
		rtt      time.Duration
		wantGaps bool
	}{
		{0, false}, {100 * time.Millisecond, false}, {700 * time.Millisecond, false},
		{1500 * time.Millisecond, false}, {1900 * time.Millisecond, false}, {2600 * time.Millisecond, true},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{Format: ULaw} // defaults: window 2s, checkpoint 500ms, chunk 100ms
				s, p, _ := sessCall(t, cfg, func(p *sessPeer) { p.rtt = c.rtt })
				g := sessGraph(t, "tone 440 dur=2.7s rate=8k | loop 8")
				srvRunCall(context.Background(), s, GraphHandler(g), false)
				<-p.done
				r := p.snapshot()
				if got := len(r.heard); got != 8*2.7*8000 {
					t.Errorf("heard %d samples", got)
				}
				if (r.gaps > 0) != c.wantGaps {
					t.Errorf("rtt %v: %d gaps (%v), want gaps: %v", c.rtt, r.gaps, r.gapTime, c.wantGaps)
				}
				if r.maxBuf > 2500*time.Millisecond {
					t.Errorf("buffered %v", r.maxBuf)
				}
			})
		})
	}
}

// Interrupt: Play stops, the API is told, pending checkpoints are void,
// a new sending precedes the next audio, replies to the voided checkpoints
// are discarded however late they come (never taken for ours, which could
// cut the end of a prompt). If the API drops the voided syncs instead, the
// replies it discarded were ours: the session finds out from a stall (one
// gap of window + checkpoint + 2s) and recovers.
func TestSessionInterrupt(t *testing.T) {
	for _, c := range []struct {
		name      string
		drop      bool
		rtt       time.Duration
		speed     float64
		allStale  bool // every voided checkpoint's reply is discarded
		gaps      int
		maxBuffer time.Duration
	}{
		{"answered", false, 400 * time.Millisecond, 1, true, 0, 2500 * time.Millisecond},
		{"answered-late", false, 1500 * time.Millisecond, 1, true, 0, 2500 * time.Millisecond},
		{"dropped", true, 400 * time.Millisecond, 1, true, 1, 2500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, p, logs := sessCall(t, Config{Format: PCM8000}, func(p *sessPeer) { p.rtt, p.dropStale, p.speed = c.rtt, c.drop, c.speed })
				src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0.5}
				errc := make(chan error, 1)
				go func() { errc <- s.Play(context.Background(), src) }()
				time.Sleep(3 * time.Second)
				before := s.Stats()
				if err := s.Interrupt(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; !errors.Is(err, ErrInterrupted) {
					t.Fatalf("Play: %v", err)
				}
				pendingAt := before.Syncs - before.SyncReplies
				if pendingAt == 0 {
					t.Fatal("no sync pending at the interrupt: the test proves nothing")
				}
				// The next prompt: 6 s, played in full, then the call ends.
				g := sessGraph(t, "tone 1k dur=6s rate=8k")
				srvRunCall(context.Background(), s, GraphHandler(g), false)
				<-p.done
				r := p.snapshot()
				at := slices.Index(r.msgs, string(sessMsgInterrupt))
				if at < 0 {
					t.Fatal("no interrupt message")
				}
				types := (&sessPeer{msgs: r.msgs[at:]}).types()
				if types[0] != "interrupt" || types[1] != "sending" || !strings.HasPrefix(types[2], "audio") {
					t.Errorf("after the interrupt: %v", types[:3])
				}
				want := sessExpect(t, g, PCM8000)
				if tail := r.heard[len(r.heard)-len(want):]; !slicesEqual(tail, want) {
					t.Error("the prompt after the interrupt was not heard in full")
				}
				if c.gaps > 0 && r.gapTime > 5*time.Second {
					t.Errorf("stalled for %v", r.gapTime)
				}
				if len(r.violations) > 0 || r.gaps != c.gaps || r.maxBuf > c.maxBuffer {
					t.Errorf("violations %v, gaps %d (%v), buffered up to %v", r.violations, r.gaps, r.gapTime, r.maxBuf)
				}
				st := s.Stats()
				if c.allStale != (st.StaleReplies == pendingAt) {
					t.Errorf("%d stale replies, %d syncs were pending", st.StaleReplies, pendingAt)
				}
				if c.gaps > 0 && !strings.Contains(logs.String(), "crediting its replies") {
					t.Error("the stall was not logged")
				}
				if r.byeLate > 0 || !r.appBye {
					t.Errorf("bye with %v unplayed", r.byeLate)
				}
			})
		})
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Messages stay small whatever the chunk.
func TestSessionMessageSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: PCM24000, Chunk: 2 * time.Second, Window: 10 * time.Second}, nil)
		srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "tone 440 dur=5s rate=24k")), false)
		<-p.done
		r := p.snapshot()
		for _, m := range r.msgs {
			if len(m) > MaxMessageSize {
				t.Fatalf("a message of %d bytes", len(m))
			}
		}
		if len(r.heard) != 5*24000 {
			t.Errorf("heard %d samples", len(r.heard))
		}
	})
}

// A looped file plays for 10 virtual minutes: no gap, a bounded buffer, a
// checkpoint per iteration, and the caller's hangup ends it.
func TestSessionLongLoop(t *testing.T) {
	dir := t.TempDir()
	path, _ := passWAV(t, dir, "hold.wav", 8000, 1, 7300*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: ULaw}, func(p *sessPeer) { p.rtt = 150 * time.Millisecond })
		done := make(chan struct{})
		go func() {
			srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "file "+path+" | loop")), false)
			close(done)
		}()
		time.Sleep(10 * time.Minute)
		p.hangup()
		<-done
		r := p.snapshot()
		if r.gaps != 0 || r.maxBuf > 2500*time.Millisecond || len(r.violations) > 0 {
			t.Errorf("gaps %d, buffered up to %v, %v", r.gaps, r.maxBuf, r.violations)
		}
		if got := time.Duration(len(r.heard)) * time.Second / 8000; got < 10*time.Minute || got > 10*time.Minute+2500*time.Millisecond {
			t.Errorf("heard %v in 30 minutes", got)
		}
		if st := s.Stats(); st.MaxBytesInFlight > 20000 || st.Syncs < int(10*time.Minute/(500*time.Millisecond)) {
			t.Errorf("stats %+v", st)
		}
	})
}
