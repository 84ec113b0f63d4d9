package elkstest_test

import (
	"errors"
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
	"github.com/elkspipe/elkspipe/sources"
)

// startSession starts the simulator with opt on one end of an elks.Pipe
// and a real elks.Session with cfg on the other; wait returns the
// simulator's report once the call is over. Call it inside a synctest
// bubble: the clocks of both are the bubble's, and the figures exact.
func startSession(t *testing.T, cfg elks.Config, opt elkstest.Options) (s *elks.Session, wait func() *elkstest.Report) {
	t.Helper()
	ctx := t.Context()
	app, api := elks.Pipe()
	type result struct {
		r   *elkstest.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := elkstest.Run(ctx, api, opt)
		done <- result{r, err}
	}()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := elks.StartSession(ctx, app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, func() *elkstest.Report {
		t.Helper()
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.r
	}
}

// sessionCall plays chain through a real elks.Session with cfg against
// the simulator (see startSession), drains and hangs up.
func sessionCall(t *testing.T, chain string, cfg elks.Config, opt elkstest.Options) (*elkstest.Report, elks.Stats, elks.End) {
	t.Helper()
	open, err := pipeline.OpenerText(chain)
	if err != nil {
		t.Fatal(err)
	}
	s, wait := startSession(t, cfg, opt)
	ctx := t.Context()
	if err := s.PlayOpener(ctx, open); err != nil {
		t.Errorf("play: %v", err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Errorf("drain: %v", err)
	}
	if err := s.Hangup(); err != nil {
		t.Errorf("hangup: %v", err)
	}
	return wait(), s.Stats(), s.End()
}

// A looped tone played by a Session whose window exceeds the round trip:
// the caller hears it without a gap, every checkpoint is answered, and
// the API never buffers more than the window and a checkpoint. On the
// bubble's clock the figures are exact.
func TestSessionLoopNoGaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "heard.wav")
		cfg := elks.Config{Format: elks.PCM16000, Window: time.Second, Checkpoint: 250 * time.Millisecond}
		r, st, end := sessionCall(t, "tone 440 dur=1s rate=16000 | loop 5", cfg,
			elkstest.Options{RTT: 300 * time.Millisecond, CallID: "loop", Record: rec})
		if r.Gaps.Count != 0 || len(r.Violations) != 0 {
			t.Errorf("gaps %+v, problems %v", r.Gaps, r.Problems)
		}
		if math.Abs(r.Played-5) > 1e-9 || r.Dropped != 0 || r.FirstAudio != 0 {
			t.Errorf("played %v, dropped %v, first audio at %v; want 5 s from 0", r.Played, r.Dropped, r.FirstAudio)
		}
		// A checkpoint every 250 ms of audio (the loop's iteration ends
		// fall on them): 20, each answered, and as many as the session
		// sent and matched.
		if r.Syncs.Requests != 20 || r.Syncs.Answered != 20 || st.Syncs != 20 || st.SyncReplies != 20 {
			t.Errorf("simulator syncs %+v, session stats %+v", r.Syncs, st)
		}
		// Each answer waits for the audio before it and the round trip.
		if r.Syncs.MinLatency < 0.3 || r.Syncs.MaxLatency > 1.25+0.3+1e-9 {
			t.Errorf("sync latencies %+v, want between the RTT and window + checkpoint + RTT", r.Syncs)
		}
		// At most window + checkpoint in flight, in whole 100 ms chunks:
		// 1.2 s, 38400 bytes of pcm_16000, as the session counted too.
		if r.MaxBuffered != (elkstest.Amount{Seconds: 1.2, Bytes: 38400}) || st.MaxInFlight != 1200*time.Millisecond || st.MaxBytesInFlight != 38400 {
			t.Errorf("max buffered %+v, session's max in flight %v, %d bytes", r.MaxBuffered, st.MaxInFlight, st.MaxBytesInFlight)
		}
		// The call lasts the audio and the last answer's round trip; the
		// Session hung up after draining.
		if math.Abs(r.Duration-5.3) > 1e-9 || r.End.By != elks.ByApp || end.By != elks.ByApp {
			t.Errorf("duration %v, simulator's end %+v, session's end %+v", r.Duration, r.End, end)
		}
		if r.Record == nil || r.Record.Error != "" || r.Record.Rate != 16000 || math.Abs(r.Record.Seconds-5) > 1e-9 {
			t.Errorf("recording %+v", r.Record)
		}
	})
}

// A window shorter than the round trip: after each window of audio the
// buffer runs dry until the first answer comes back, a gap of the RTT less
// the window, every time.
func TestSessionShortWindowGaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := elks.Config{Format: elks.ULaw, Window: 200 * time.Millisecond, Checkpoint: 100 * time.Millisecond}
		r, st, _ := sessionCall(t, "tone 440 dur=2s rate=8000", cfg,
			elkstest.Options{RTT: time.Second, CallID: "short"})
		// 300 ms (window + checkpoint) plays, then 800 ms of silence until
		// the first checkpoint's answer (100 ms + RTT) lets audio flow
		// again: 2 s of audio in 7 bursts, 6 gaps.
		if r.Gaps.Count != 6 || math.Abs(r.Gaps.Seconds-4.8) > 1e-9 {
			t.Fatalf("gaps %+v", r.Gaps)
		}
		for i, g := range r.Gaps.List {
			if math.Abs(g.Seconds-0.8) > 1e-9 || math.Abs(g.At-(0.3+1.1*float64(i))) > 1e-9 {
				t.Errorf("gap %d: %+v, want 0.8 s at %.1f s", i, g, 0.3+1.1*float64(i))
			}
		}
		if r.Syncs.Answered != 20 || st.SyncReplies != 20 || math.Abs(r.Played-2) > 1e-9 || r.MaxBuffered.Seconds != 0.3 {
			t.Errorf("syncs %+v, played %v, max buffered %+v", r.Syncs, r.Played, r.MaxBuffered)
		}
	})
}

// An application that closes its end of a Pipe without bye ends the call,
// reported as such; Run closes the transport when its options are bad.
func TestRunOverPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app, api := elks.Pipe()
		done := make(chan *elkstest.Report, 1)
		go func() {
			r, err := elkstest.Run(t.Context(), api, elkstest.Options{Duration: time.Minute})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		hello, err := app.ReadMessage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if m, err := elks.Unmarshal(hello); err != nil || m.Type() != elks.TypeHello {
			t.Fatalf("first message %s (%v)", hello, err)
		}
		time.Sleep(3 * time.Second)
		app.Close()
		r := <-done
		if r.End.By != elks.ByDrop || r.End.Message != "the application closed the connection without bye" || r.Duration != 3 {
			t.Errorf("end %+v after %v s", r.End, r.Duration)
		}

		app, api = elks.Pipe()
		if _, err := elkstest.Run(t.Context(), api, elkstest.Options{Speed: -1}); err == nil {
			t.Error("speed -1: no error")
		}
		if _, err := app.ReadMessage(t.Context()); err == nil {
			t.Error("the transport was left open")
		}
	})
}

// The simulated caller speaks (Say) while the Session plays and records
// the caller: the Session's recording holds the caller's second of tone,
// paced in 20 ms messages on the bubble's clock.
func TestSessionRecordsTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		say, err := pipeline.OpenerText("tone 440 dur=1s")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cfg := elks.Config{Format: elks.PCM16000, Record: filepath.Join(dir, "{callid}.wav")}
		r, st, _ := sessionCall(t, "tone 1000 dur=2s rate=16000", cfg,
			elkstest.Options{Say: say, CallID: "rec/../x"})
		ca := r.CallerAudio
		if ca.Format != "pcm_16000" || ca.Messages != 50 || ca.Bytes != 32000 || ca.Error != "" || r.Listenings["pcm_16000"] != 1 {
			t.Errorf("caller audio %+v, listenings %v", ca, r.Listenings)
		}
		if st.AudioReceived != 32000 || st.Recorded != time.Second {
			t.Errorf("session received %d bytes, recorded %v", st.AudioReceived, st.Recorded)
		}
		// The call id is reduced to a safe file name.
		src, err := sources.WAV(filepath.Join(dir, "rec____x.wav"))(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer pipeline.Close(src)
		heard := audiotest.MustReadAll(t, src)
		if src.Format().Rate != 16000 || len(heard) != 16000 {
			t.Fatalf("recording of %d samples at %d Hz", len(heard), src.Format().Rate)
		}
		x := make([]float64, len(heard))
		for i, v := range heard {
			x[i] = float64(v)
		}
		if f := audiotest.Frequency(x, 16000, 300, 600); math.Abs(f-440) > 0.5 {
			t.Errorf("the recording is at %.2f Hz, want 440", f)
		}
	})
}

// A Session interrupts its playback: the simulator empties its buffer,
// answers the checkpoints pending (the Session discards those answers as
// stale), and the next audio comes after a new sending, so the
// application commits no violation and the caller hears no gap.
func TestSessionInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		app, api := elks.Pipe()
		done := make(chan *elkstest.Report, 1)
		go func() {
			r, err := elkstest.Run(ctx, api, elkstest.Options{RTT: 100 * time.Millisecond})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		s, err := elks.StartSession(ctx, app, elks.Config{Format: elks.ULaw, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		long, _ := pipeline.OpenerText("tone 440 dur=10s rate=8000")
		short, _ := pipeline.OpenerText("tone 660 dur=1s rate=8000")
		played := make(chan error, 1)
		go func() { played <- s.PlayOpener(ctx, long) }()
		time.Sleep(3 * time.Second)
		if err := s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		if err := <-played; !errors.Is(err, elks.ErrInterrupted) {
			t.Errorf("the interrupted play returned %v", err)
		}
		if err := s.PlayOpener(ctx, short); err != nil {
			t.Fatal(err)
		}
		s.Drain(ctx)
		s.Hangup()
		r := <-done
		st := s.Stats()
		if r.Interrupts != 1 || st.Interrupts != 1 || r.Sendings["ulaw"] != 2 || len(r.Violations) != 0 || r.Gaps.Count != 0 {
			t.Errorf("interrupts %d (session %d), sendings %v, problems %v, gaps %+v", r.Interrupts, st.Interrupts, r.Sendings, r.Problems, r.Gaps)
		}
		// By the interrupt at 3 s the Session had sent 5 s (the 2 s
		// window and a 500 ms checkpoint beyond the last answer, at 2.5
		// s): 2 s are dropped, then the short tone plays whole.
		if math.Abs(r.Played-4) > 1e-9 || math.Abs(r.Dropped-2) > 1e-9 || math.Abs(r.Duration-4.1) > 1e-9 {
			t.Errorf("played %v, dropped %v, call of %v s", r.Played, r.Dropped, r.Duration)
		}
		// Every checkpoint is answered; the 5 pending at the interrupt
		// (the audio to 3.0, 3.5, ... 5.0 s) are answered at once and
		// discarded by the Session as stale.
		if r.Syncs.Requests != 12 || r.Syncs.Answered != 12 || st.Syncs != 12 || st.StaleReplies != 5 || st.SyncReplies != 7 || st.UnexpectedReplies != 0 {
			t.Errorf("simulator syncs %+v; session stats %+v", r.Syncs, st)
		}
	})
}
