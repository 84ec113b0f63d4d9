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

// An API that drops the syncs voided by an interrupt instead of answering
// them (the simulator answers them; this peer never answers the syncs sent
// before the interrupt): the session discards the first replies after the
// interrupt as stale, though they answer its new checkpoints, finds out
// from a stall (no reply for window + checkpoint + 2 s), credits them and
// plays the next prompt to its end.
func TestSessionInterruptDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: PCM8000}, func(p *wirePeer) { p.replies = replyAfterInterrupt })
		src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0.5}
		errc := make(chan error, 1)
		go func() { errc <- s.Play(context.Background(), src) }()
		time.Sleep(time.Second)
		// With no reply, 2.5 s (window + checkpoint) went out, and a
		// checkpoint every 500 ms.
		if st := s.Stats(); st.Syncs != 5 || st.SyncReplies != 0 || st.MaxInFlight != 2500*time.Millisecond {
			t.Fatalf("before the interrupt: %+v", st)
		}
		if err := s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Play: %v", err)
		}
		// The next prompt: 6 s, played in full, then the call ends.
		g := sessGraph(t, "tone 1k dur=6s rate=8k")
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // fail at once if it waits for ever
		defer cancel()
		if err := s.PlayGraph(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		s.Hangup()
		<-p.done
		r := p.snapshot()
		at := slices.Index(r.msgs, string(msgInterrupt))
		if at < 0 {
			t.Fatal("no interrupt message")
		}
		if types := (wireLog{msgs: r.msgs[at:]}).types(); types[0] != "interrupt" || types[1] != "sending" || !strings.HasPrefix(types[2], "audio") {
			t.Errorf("after the interrupt: %v", types[:3])
		}
		want := sessExpect(t, g, PCM8000)
		if heard := r.heard(t, PCM8000); !slices.Equal(heard[len(heard)-len(want):], want) {
			t.Error("the prompt after the interrupt was not heard in full")
		}
		// The five replies after the interrupt were discarded, the
		// window filled, and the stall, 4.5 s later, credited them: of
		// the 12 checkpoints of the prompt, 7 were matched to a reply.
		st := s.Stats()
		if st.StaleReplies != 5 || st.Syncs != 5+12 || st.SyncReplies != 7 || st.UnexpectedReplies != 0 {
			t.Errorf("stats %+v", st)
		}
		if took != 4500*time.Millisecond {
			t.Errorf("the prompt took %v to play, want the stall's 4.5s", took)
		}
		if !strings.Contains(logs.String(), "crediting its replies") {
			t.Error("the stall was not logged")
		}
		if !r.appBye || s.End().By != ByApp {
			t.Errorf("bye sent %v, end %+v", r.appBye, s.End())
		}
	})
}
