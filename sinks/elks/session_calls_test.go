package elks_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// endlessGraph is a graph of one source, src, as a Go-built stage.
func endlessGraph(src pipeline.Source) *pipeline.Graph {
	return &pipeline.Graph{Sources: []pipeline.Stage{{Name: "endless", Open: func(context.Context) (pipeline.Source, error) { return src, nil }}}}
}

// The API's bye mid-call (the caller hangs up after 3.2 s) stops Play at
// once, the pipeline is closed, and the call is over by every sign.
func TestSessionAPIByeStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startSim(t, elks.Config{}, elkstest.Options{Duration: 3200 * time.Millisecond})
		src := &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}, Value: 0.25}
		start := time.Now()
		err := c.s.PlayGraph(c.s.Context(), endlessGraph(src))
		if d := time.Since(start); !errors.Is(err, elks.ErrCallOver) || d != 3200*time.Millisecond || !src.Closed() {
			t.Errorf("Play returned %v after %v, source closed: %v", err, d, src.Closed())
		}
		if e := c.s.End(); e != (elks.End{By: elks.ByAPI, Reason: elks.ReasonHangup, Message: "the caller hung up"}) {
			t.Errorf("end %+v", e)
		}
		if !errors.Is(context.Cause(c.s.Context()), elks.ErrCallOver) {
			t.Errorf("call context: %v", context.Cause(c.s.Context()))
		}
		if err := c.s.Play(context.Background(), src); !errors.Is(err, elks.ErrCallOver) {
			t.Errorf("Play after the end: %v", err)
		}
		// The caller heard 3.2 s; the 2.3 s buffered were dropped (by
		// then the reply for the audio to 3 s had come, and the window
		// let 2.5 s more out).
		r := c.report()
		if r.End.By != elks.ByAPI || !near(r.Duration, 3.2) || !near(r.Played, 3.2) || !near(r.Dropped, 2.3) {
			t.Errorf("end %+v after %v s; played %v s, dropped %v s", r.End, r.Duration, r.Played, r.Dropped)
		}
		if slices.Contains(c.tap.types(), elks.TypeBye) {
			t.Error("the application said bye after the API's bye")
		}
		// The end is logged by the goroutine that read the bye, once it
		// has spread: Close waits for that goroutine.
		c.s.Close()
		if l := c.logs.String(); !strings.Contains(l, `msg="call ended" callid=c1 from=+46700000001 to=+46700000002 by=api reason=hangup message="the caller hung up"`) {
			t.Errorf("logs:\n%s", l)
		}
	})
}

// Hangup from the application: Play stops, bye goes out once, and Hangup
// returns as soon as the API's bye comes (at once from the simulator).
func TestSessionHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startSim(t, elks.Config{}, elkstest.Options{})
		src := &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}
		errc := make(chan error, 1)
		go func() { errc <- c.s.Play(context.Background(), src) }()
		time.Sleep(1200 * time.Millisecond)
		start := time.Now()
		if err := c.s.Hangup(); err != nil {
			t.Error(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Hangup took %v with a prompt API", time.Since(start))
		}
		if err := <-errc; !errors.Is(err, elks.ErrCallOver) {
			t.Errorf("Play: %v", err)
		}
		if e := c.s.End(); e.By != elks.ByApp || e.Reason != elks.ReasonDone {
			t.Errorf("end %+v", e)
		}
		r := c.report()
		if r.End.By != elks.ByApp || !near(r.Duration, 1.2) || !near(r.Played, 1.2) || len(r.Violations) != 0 {
			t.Errorf("end %+v after %v s, played %v s, problems %v", r.End, r.Duration, r.Played, r.Problems)
		}
		if typ := c.tap.types(); slices.Index(typ, elks.TypeBye) != len(typ)-1 {
			t.Errorf("messages %v: want one bye, last", typ)
		}
	})
}

// Interrupt: Play stops, the API is told, the pending checkpoints are
// void, a new sending precedes the next audio, and the replies to the
// voided checkpoints are discarded however late they come (never taken
// for replies to new ones, which could cut the end of a prompt). The next
// prompt plays whole, without a gap, and bye waits until it has played.
func TestSessionInterrupt(t *testing.T) {
	for _, c := range []struct {
		name    string
		rtt     time.Duration
		pending int     // checkpoints pending at the interrupt, 3 s in
		dropped float64 // audio in the API's buffer then
	}{
		// By 3 s the replies for the audio to 2.5 s came back: 5 s was
		// sent (2.5 s more), the checkpoints at 3 to 5 s pending.
		{"answered", 400 * time.Millisecond, 5, 2},
		// By 3 s the replies for the audio to 1.5 s: 4 s sent, the
		// checkpoints at 2 to 4 s pending; their replies come 1.4 s
		// after the interrupt, when the next prompt is under way. (No
		// reply is due at 3 s itself, where its order with the
		// interrupt would be the scheduler's.)
		{"answered-late", 1400 * time.Millisecond, 5, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const prompt = "tone 1k dur=6s rate=8k"
				call := startSim(t, elks.Config{Format: elks.PCM8000}, elkstest.Options{RTT: c.rtt})
				src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0.5}
				errc := make(chan error, 1)
				go func() { errc <- call.s.Play(context.Background(), src) }()
				time.Sleep(3 * time.Second)
				before := call.s.Stats()
				if err := call.s.Interrupt(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; !errors.Is(err, elks.ErrInterrupted) {
					t.Fatalf("Play: %v", err)
				}
				if n := before.Syncs - before.SyncReplies; n != c.pending {
					t.Fatalf("%d syncs pending at the interrupt, want %d", n, c.pending)
				}
				start := time.Now()
				if err := call.play(t, prompt); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				r, st := call.report(), call.s.Stats()

				types := call.tap.types()
				at := slices.Index(types, elks.TypeInterrupt)
				if at < 0 || len(types) < at+3 || types[at+1] != elks.TypeSending || types[at+2] != elks.TypeAudio {
					t.Errorf("messages %v: want interrupt, sending, audio", types)
				}
				heard, _ := call.tap.audio(t, elks.PCM8000)
				want := expect(t, prompt, elks.PCM8000)
				if !slices.Equal(heard[len(heard)-len(want):], want) {
					t.Error("the prompt after the interrupt was not sent whole")
				}
				// Every voided checkpoint's reply was discarded, none
				// taken for a new one's.
				if st.StaleReplies != c.pending || st.SyncReplies != st.Syncs-c.pending || st.UnexpectedReplies != 0 || r.Syncs.Answered != st.Syncs {
					t.Errorf("session %+v; simulator %+v", st, r.Syncs)
				}
				// The caller heard 3 s, then the prompt whole; bye once
				// it had played and its last reply came back.
				if r.Gaps.Count != 0 || len(r.Violations) != 0 || r.Interrupts != 1 || !near(r.Played, 9) || !near(r.Dropped, c.dropped) {
					t.Errorf("gaps %+v, problems %v, played %v s, dropped %v s", r.Gaps, r.Problems, r.Played, r.Dropped)
				}
				if took != 6*time.Second+c.rtt || r.End.By != elks.ByApp {
					t.Errorf("the prompt took %v, the call ended %+v", took, r.End)
				}
			})
		})
	}
}

// StartSession gives up on an API that sends no hello after
// HelloTimeout, to the nanosecond on the bubble's clock.
func TestSessionHelloTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app, api := elks.Pipe()
		defer api.Close()
		start := time.Now()
		_, err := elks.StartSession(context.Background(), app, elks.Config{HelloTimeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "no hello") || time.Since(start) != 3*time.Second {
			t.Errorf("err %v after %v", err, time.Since(start))
		}
	})
}

// StartSession refuses configurations it cannot honour at once, before
// waiting for a hello, and closes the transport it was given.
func TestSessionConfigErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []elks.Config{{Format: "opus"}, {Chunk: 5 * time.Second}, {Chunk: time.Microsecond},
			{ListenFormat: elks.WAV}, {Window: -1}, {Checkpoint: time.Microsecond}} {
			app, api := elks.Pipe()
			start := time.Now()
			if _, err := elks.StartSession(context.Background(), app, c); err == nil || time.Since(start) != 0 {
				t.Errorf("%+v: %v after %v", c, err, time.Since(start))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if _, err := api.ReadMessage(ctx); !errors.Is(err, io.EOF) {
				t.Errorf("%+v: the transport was left open (%v)", c, err)
			}
			cancel()
		}
	})
}
