package elks_test

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// A looped pipeline: the caller hears exactly the pipeline's audio,
// without a gap; a sync goes out at every iteration end and at least every
// checkpoint; the API buffers up to window + checkpoint, no more; the call
// ends with a final sync, its answer once the audio has played, then bye.
func TestSessionWindowAndCheckpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 300 * time.Millisecond
		const chain = "tone 440 dur=1.33s rate=16k | loop 6"
		cfg := elks.Config{Format: elks.PCM16000, Window: 2 * time.Second, Checkpoint: 500 * time.Millisecond}
		rec := filepath.Join(t.TempDir(), "heard.wav")
		c := startSim(t, cfg, elkstest.Options{RTT: rtt, Record: rec})
		start := time.Now()
		if err := c.play(t, chain); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		r, st := c.report(), c.s.Stats()

		// Sent, and heard as the simulator recorded it: exactly the
		// pipeline's audio.
		want := expect(t, chain, elks.PCM16000)
		heard, syncsAt := c.tap.audio(t, elks.PCM16000)
		sameAudio(t, heard, want)
		if r.Record == nil || r.Record.Error != "" || r.Record.Rate != 16000 || !near(r.Record.Seconds, 7.98) {
			t.Fatalf("recording %+v", r.Record)
		}
		sameAudio(t, readWAV(t, rec), want)
		if r.Gaps.Count != 0 || !near(r.Played, 7.98) || r.Dropped != 0 || len(r.Violations) != 0 {
			t.Errorf("gaps %+v, played %v, dropped %v, problems %v", r.Gaps, r.Played, r.Dropped, r.Problems)
		}
		// Up to window + checkpoint in flight, in 100 ms chunks cut at
		// the iteration ends (1.33 s): the simulator buffered 2.43 s at
		// most; the session counted 2.46 s beyond the last answered
		// checkpoint, an upper bound of it.
		if r.MaxBuffered != (elkstest.Amount{Seconds: 2.43, Bytes: 77760}) || st.MaxInFlight != 2460*time.Millisecond || st.MaxBytesInFlight != 78720 {
			t.Errorf("max buffered %+v, session's max in flight %v, %d bytes", r.MaxBuffered, st.MaxInFlight, st.MaxBytesInFlight)
		}
		// Checkpoints: at every iteration end, and never more than a
		// checkpoint of audio apart.
		at := map[time.Duration]bool{}
		prev := time.Duration(0)
		for _, d := range syncsAt {
			at[d] = true
			if d-prev > cfg.Checkpoint {
				t.Errorf("%v of audio between syncs at %v and %v", d-prev, prev, d)
			}
			prev = d
		}
		for i := 1; i <= 6; i++ {
			if b := time.Duration(i) * 1330 * time.Millisecond; !at[b] {
				t.Errorf("no sync at the end of iteration %d (%v); syncs at %v", i, b, syncsAt)
			}
		}
		if len(syncsAt) != 18 || r.Syncs.Requests != 18 || r.Syncs.Answered != 18 || st.Syncs != 18 || st.SyncReplies != 18 {
			t.Errorf("%d syncs sent (at %v); simulator %+v; session %+v", len(syncsAt), syncsAt, r.Syncs, st)
		}
		// Each answer comes once the audio before it has played, plus
		// the round trip: the first, for the audio to 500 ms, after 0.8
		// s; the longest waits for the 2.33 s buffered before it, plus
		// the round trip.
		if !near(r.Syncs.MinLatency, 0.8) || !near(r.Syncs.MaxLatency, 2.63) {
			t.Errorf("sync latencies %+v", r.Syncs)
		}
		// The end: the final sync, its answer after the audio has played
		// and one round trip, then bye.
		types := c.tap.types()
		if n := len(types); n < 3 || types[n-1] != "bye" || types[n-2] != "sync" {
			t.Errorf("the call does not end with sync, bye: %v", types)
		}
		if took != 7980*time.Millisecond+rtt || !near(r.Duration, 8.28) {
			t.Errorf("the call took %v (the simulator says %v s), want %v: the audio and one round trip", took, r.Duration, 7980*time.Millisecond+rtt)
		}
		if e := c.s.End(); e.By != elks.ByApp || r.End.By != elks.ByApp {
			t.Errorf("end %+v, simulator's end %+v", e, r.End)
		}
		// The stream's events are in the call's log, at debug level.
		if l := c.logs.String(); !strings.Contains(l, `msg="stream event"`) || !strings.Contains(l, `event="loop: iteration ended #6"`) {
			t.Errorf("no stream events in the log:\n%s", l)
		}
	})
}

// With the default window (2 s), checkpoint (500 ms) and chunk (100 ms),
// 2.5 s of audio are in flight at most: the caller hears no gap while the
// round trip is under that; at 2.6 s, a gap of 0.34 s after each of the
// 15 stretches the replies allow. Each reply waits for the 2.5 s buffered
// before it plus the round trip, and the call lasts the audio, the gaps
// and the last reply's round trip.
func TestSessionRoundTrips(t *testing.T) {
	for _, c := range []struct {
		rtt     time.Duration
		gaps    int
		gapTime float64
	}{
		{0, 0, 0}, {100 * time.Millisecond, 0, 0}, {700 * time.Millisecond, 0, 0},
		{1500 * time.Millisecond, 0, 0}, {1900 * time.Millisecond, 0, 0}, {2600 * time.Millisecond, 15, 5.1},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const chain = "tone 440 dur=2.7s rate=8k | loop 8"
				call := startSim(t, elks.Config{Format: elks.ULaw}, elkstest.Options{RTT: c.rtt})
				if err := call.play(t, chain); err != nil {
					t.Fatal(err)
				}
				r := call.report()
				heard, _ := call.tap.audio(t, elks.ULaw)
				sameAudio(t, heard, expect(t, chain, elks.ULaw))
				if !near(r.Played, 21.6) || r.Gaps.Count != c.gaps || !near(r.Gaps.Seconds, c.gapTime) {
					t.Errorf("played %v, gaps %d (%v s), want %d (%v s)", r.Played, r.Gaps.Count, r.Gaps.Seconds, c.gaps, c.gapTime)
				}
				if r.MaxBuffered != (elkstest.Amount{Seconds: 2.5, Bytes: 20000}) {
					t.Errorf("buffered up to %+v", r.MaxBuffered)
				}
				if r.Syncs.Answered != 48 || !near(r.Syncs.MaxLatency, 2.5+c.rtt.Seconds()) {
					t.Errorf("syncs %+v", r.Syncs)
				}
				if !near(r.Duration, 21.6+c.gapTime+c.rtt.Seconds()) {
					t.Errorf("the call lasted %v s", r.Duration)
				}
			})
		})
	}
}

// Messages stay small whatever the chunk.
func TestSessionMessageSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const chain = "tone 440 dur=5s rate=24k"
		c := startSim(t, elks.Config{Format: elks.PCM24000, Chunk: 2 * time.Second, Window: 10 * time.Second}, elkstest.Options{})
		if err := c.play(t, chain); err != nil {
			t.Fatal(err)
		}
		r := c.report()
		if n := c.tap.largest(); n > elks.MaxMessageSize {
			t.Errorf("a message of %d bytes", n)
		}
		if !near(r.Played, 5) || len(r.Violations) != 0 {
			t.Errorf("played %v s, problems %v", r.Played, r.Problems)
		}
	})
}

// A looped file plays for 10 minutes of the bubble's clock: no gap, a
// bounded buffer, a checkpoint every 500 ms of audio, and the caller's
// hangup ends it.
func TestSessionLongLoop(t *testing.T) {
	path := writeWAV(t, t.TempDir(), "hold.wav", 8000, 1, 7300*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		c := startSim(t, elks.Config{Format: elks.ULaw}, elkstest.Options{RTT: 150 * time.Millisecond, Duration: 10 * time.Minute})
		err := c.play(t, "file "+path+" | loop")
		r, st := c.report(), c.s.Stats()
		if err == nil {
			t.Error("an endless loop ended")
		}
		if r.Gaps.Count != 0 || r.MaxBuffered.Seconds != 2.5 || len(r.Violations) != 0 {
			t.Errorf("gaps %d, buffered up to %+v, problems %v", r.Gaps.Count, r.MaxBuffered, r.Problems)
		}
		if r.Duration != 600 || !near(r.Played, 600) || r.End.By != elks.ByAPI || c.s.End().By != elks.ByAPI {
			t.Errorf("played %v s in a call of %v s, ended %+v", r.Played, r.Duration, r.End)
		}
		if st.MaxBytesInFlight != 20000 || st.Syncs != r.Syncs.Requests || st.Syncs < 1200 {
			t.Errorf("stats %+v, simulator's syncs %+v", st, r.Syncs)
		}
	})
}

// The byte guard: with MaxBytes at 16000 (half a second of pcm_16000),
// the bytes in flight stop the audio long before the 2.5 s of the window
// would, and a checkpoint goes out at every quarter of the limit (4000
// bytes: every two 3200-byte chunks, 200 ms). Under a 100 ms round trip
// the caller hears no gap; under 700 ms, more than the half second the
// guard lets out, a gap of 0.4 s after every half second: the first
// reply comes at 0.9 s, for the audio to 0.2 s.
func TestSessionByteGuard(t *testing.T) {
	for _, c := range []struct {
		rtt     time.Duration
		gaps    int
		gapTime float64
	}{
		{100 * time.Millisecond, 0, 0},
		{700 * time.Millisecond, 7, 2.8},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const chain = "tone 440 dur=3s rate=16k"
				call := startSim(t, elks.Config{Format: elks.PCM16000, MaxBytes: 16000}, elkstest.Options{RTT: c.rtt})
				if err := call.play(t, chain); err != nil {
					t.Fatal(err)
				}
				r, st := call.report(), call.s.Stats()
				heard, syncsAt := call.tap.audio(t, elks.PCM16000)
				sameAudio(t, heard, expect(t, chain, elks.PCM16000))
				if r.MaxBuffered != (elkstest.Amount{Seconds: 0.5, Bytes: 16000}) || st.MaxBytesInFlight != 16000 || st.MaxInFlight != 500*time.Millisecond {
					t.Errorf("buffered up to %+v; the session's max in flight %v, %d bytes", r.MaxBuffered, st.MaxInFlight, st.MaxBytesInFlight)
				}
				for i, d := range syncsAt {
					if d != time.Duration(i+1)*200*time.Millisecond {
						t.Fatalf("syncs at %v, want one every 200 ms", syncsAt)
					}
				}
				if len(syncsAt) != 15 || st.SyncReplies != 15 {
					t.Errorf("syncs at %v, %d replies", syncsAt, st.SyncReplies)
				}
				if r.Gaps.Count != c.gaps || !near(r.Gaps.Seconds, c.gapTime) {
					t.Errorf("gaps %+v, want %d (%v s)", r.Gaps, c.gaps, c.gapTime)
				}
				for i, g := range r.Gaps.List {
					if !near(g.At, 0.5+0.8*float64(i)) || !near(g.Seconds, 0.4) {
						t.Errorf("gap %d: %+v, want 0.4 s at %.1f s", i, g, 0.5+0.8*float64(i))
					}
				}
				if !near(r.Duration, 3+c.gapTime+c.rtt.Seconds()) {
					t.Errorf("the call lasted %v s", r.Duration)
				}
			})
		})
	}
}
