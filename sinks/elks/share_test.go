package elks_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The tests of shared renderings run calls against the simulator in a
// synctest bubble, some with a RenderCache and some without, and compare
// every message each call sent: a call of a shared rendering must send
// byte for byte what a private rendering sends, syncs included.

// shareCall is one call of a run: the chain it plays, when it starts
// (from the start of the bubble), and what it sent.
type shareCall struct {
	chain string
	start time.Duration
	sent  [][]byte
	err   error
}

// runCalls plays the calls, each in a session with cfg, each started at
// its time, and returns once all have ended. during, if set, runs in the
// bubble beside them (to change a file at a given time, say).
func runCalls(t *testing.T, cfg elks.Config, calls []*shareCall, during func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	if during != nil {
		wg.Go(during)
	}
	for i, c := range calls {
		wg.Go(func() {
			time.Sleep(c.start)
			app, api := elks.Pipe()
			tp := &tap{Transport: app}
			done := make(chan struct{})
			go func() {
				defer close(done)
				id := fmt.Sprintf("c%d", i)
				if _, err := elkstest.Run(context.Background(), api, elkstest.Options{CallID: id, From: "+46700000001", To: "+46700000002"}); err != nil {
					t.Errorf("call %d: simulator: %v", i, err)
				}
			}()
			s, err := elks.StartSession(context.Background(), tp, cfg)
			if err != nil {
				c.err = err
				<-done
				return
			}
			ctx, cancel := context.WithTimeout(s.Context(), playLimit)
			g := elks.TestGraph(t, c.chain)
			c.err = s.PlayGraph(ctx, g)
			if c.err == nil {
				c.err = s.Drain(ctx)
			}
			cancel()
			s.Hangup()
			<-done
			tp.mu.Lock()
			c.sent = tp.sent
			tp.mu.Unlock()
		})
	}
	wg.Wait()
}

// sameMessages fails the test unless got and want are the same messages.
func sameMessages(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: message %d differs:\n got %.80q\nwant %.80q", what, i, got[i], want[i])
			return
		}
	}
}

// countAudio returns the audio messages and syncs among msgs.
func countAudio(msgs [][]byte) (audio, syncs int) {
	for _, m := range msgs {
		switch {
		case bytes.HasPrefix(m, []byte(`{"t":"audio"`)):
			audio++
		case bytes.Equal(m, []byte(`{"t":"sync"}`)):
			syncs++
		}
	}
	return audio, syncs
}

func testMP3(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Calls starting at different times each hear exactly what a private
// rendering sends, for MP3 loops, playlists, a stateful codec and tones.
func TestSharedRenderingSameMessages(t *testing.T) {
	dir := t.TempDir()
	mp3 := testMP3(t)
	wav := writeWAV(t, dir, "a.wav", 22050, 2, 700*time.Millisecond)
	cases := []struct {
		chain  string
		format elks.Format
	}{
		{fmt.Sprintf("file %q | loop 3", mp3), elks.ULaw},
		{fmt.Sprintf("file %q | loop 3", mp3), elks.PCM16000},
		{fmt.Sprintf("playlist %q %q | loop 2", wav, mp3), elks.ULaw},
		{"tone 440 dur=550ms | loop 3", elks.G722},
		{fmt.Sprintf("file %q | gain -3dB | loop 2", mp3), elks.G722},
		{"tone 300 dur=2300ms | fade in=200ms", elks.ALaw},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.format, tc.chain[:4]), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				private := []*shareCall{{chain: tc.chain}}
				runCalls(t, elks.Config{Format: tc.format}, private, nil)
				if private[0].err != nil {
					t.Fatal(private[0].err)
				}
				cache := elks.NewRenderCache(64 << 20)
				shared := []*shareCall{
					{chain: tc.chain},
					{chain: tc.chain, start: 10 * time.Millisecond},
					{chain: tc.chain, start: 333 * time.Millisecond},
					{chain: tc.chain, start: 1200 * time.Millisecond},
				}
				runCalls(t, elks.Config{Format: tc.format, RenderCache: cache}, shared, nil)
				for i, c := range shared {
					if c.err != nil {
						t.Fatalf("call %d: %v", i, c.err)
					}
					sameMessages(t, fmt.Sprintf("call %d", i), c.sent, private[0].sent)
				}
				if a, s := countAudio(private[0].sent); a < 10 || s < 3 {
					t.Errorf("the private call sent %d audio messages and %d syncs: too few to compare", a, s)
				}
				st := cache.Stats()
				if st.SharedPlays != 4 || st.PrivatePlays != 0 {
					t.Errorf("stats %+v: want 4 shared plays, no private one", st)
				}
				if st.Renderings != 1 || st.Bytes <= 0 {
					t.Errorf("stats %+v: want the one rendering kept for later calls", st)
				}
			})
		})
	}
}

// A call that starts after a file of the pipeline changed on the disk
// hears the new file from the start, never the rendering of the old one;
// the calls that were playing go on as a private rendering would (the
// loop's next opening of the file plays the new one).
func TestSharedRenderingFileChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := writeWAV(t, dir, "hold.wav", 16000, 1, time.Second)
		original, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		newFile := func() string { return writeWAV(t, dir, "new.wav", 8000, 1, time.Second) }
		replaced := newFile()
		chain := fmt.Sprintf("file %q | loop 6", path)
		// Acks come at whole half seconds, when the calls send more and
		// the loop opens the file again: the change comes in between.
		change := func() {
			time.Sleep(1750 * time.Millisecond)
			if err := os.Rename(replaced, path); err != nil {
				t.Error(err)
			}
		}

		// Private: a call with the change half-way through, then a
		// call of the new file alone.
		first := []*shareCall{{chain: chain}}
		runCalls(t, elks.Config{Format: elks.PCM16000}, first, change)
		after := []*shareCall{{chain: chain}}
		runCalls(t, elks.Config{Format: elks.PCM16000}, after, nil)
		for _, c := range append(first, after...) {
			if c.err != nil {
				t.Fatal(c.err)
			}
		}
		// The old file back, as another file (a new version).
		tmp := filepath.Join(dir, "tmp.wav")
		if err := os.WriteFile(tmp, original, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		replaced = newFile()

		cache := elks.NewRenderCache(64 << 20)
		shared := []*shareCall{{chain: chain}, {chain: chain, start: 200 * time.Millisecond}, {chain: chain, start: 2200 * time.Millisecond}}
		runCalls(t, elks.Config{Format: elks.PCM16000, RenderCache: cache}, shared, change)
		for i, c := range shared {
			if c.err != nil {
				t.Fatalf("call %d: %v", i, c.err)
			}
		}
		sameMessages(t, "call 0 (before the change)", shared[0].sent, first[0].sent)
		sameMessages(t, "call 1 (before the change)", shared[1].sent, first[0].sent)
		sameMessages(t, "call 2 (after the change)", shared[2].sent, after[0].sent)
		// The change came half-way: the first call began with the old
		// file and ended with the new one.
		firstAudio := func(msgs [][]byte) []byte { return msgs[1] } // after the sending
		lastAudio := func(msgs [][]byte) []byte {
			for i := len(msgs) - 1; i >= 0; i-- {
				if bytes.HasPrefix(msgs[i], []byte(`{"t":"audio"`)) {
					return msgs[i]
				}
			}
			return nil
		}
		if bytes.Equal(firstAudio(first[0].sent), firstAudio(after[0].sent)) || !bytes.Equal(lastAudio(first[0].sent), lastAudio(after[0].sent)) {
			t.Error("the change did not come half-way through the first call: the test tests nothing")
		}
		if st := cache.Stats(); st.SharedPlays != 3 || st.Renderings != 1 {
			t.Errorf("stats %+v: want 3 shared plays and the new file's rendering kept", st)
		}
	})
}

// Renderings nobody plays stay for later calls until room is needed:
// then the least recently played goes.
func TestSharedRenderingEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A second of ulaw is 10 messages of about 1.1 kB: each
		// rendering takes about 11.6 kB, a quarter of the limit.
		cache := elks.NewRenderCache(4 * 12 << 10)
		cfg := elks.Config{Format: elks.ULaw, RenderCache: cache}
		for i, freq := range []int{400, 500, 600, 700, 800} {
			calls := []*shareCall{{chain: fmt.Sprintf("tone %d dur=1s", freq)}}
			runCalls(t, cfg, calls, nil)
			if calls[0].err != nil {
				t.Fatal(calls[0].err)
			}
			st := cache.Stats()
			if st.Bytes > st.Limit {
				t.Errorf("after call %d: %d bytes over the limit %d", i, st.Bytes, st.Limit)
			}
		}
		st := cache.Stats()
		if st.Evictions < 1 || st.Renderings > 4 || st.Renderings < 3 {
			t.Errorf("stats %+v: want the oldest rendering evicted, three or four kept", st)
		}
		// The most recent is kept and replayed; the first was evicted
		// and is rendered again.
		runCalls(t, cfg, []*shareCall{{chain: "tone 800 dur=1s"}}, nil)
		if got := cache.Stats().Evictions; got != st.Evictions {
			t.Errorf("replaying the most recent rendering evicted another: %d evictions, was %d", got, st.Evictions)
		}
		cache.SetLimit(0)
		if st := cache.Stats(); st.Renderings != 0 || st.Bytes != 0 {
			t.Errorf("with the limit at 0: %+v, want nothing kept", st)
		}
	})
}

// A rendering longer than its share of the budget takes no new calls once
// it has outgrown it, keeps only what its calls can still reach, and is
// freed when its last call ends; its calls hear what a private rendering
// sends all the same.
func TestSharedRenderingOutgrowsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chain := "tone 440 dur=30s"
		private := []*shareCall{{chain: chain}}
		runCalls(t, elks.Config{Format: elks.ULaw}, private, nil)
		whole := 0
		for _, m := range private[0].sent {
			whole += len(m)
		}
		// A quarter of the limit is about 9 s of ulaw: the second call
		// joins the first's rendering, the third gets a new one.
		cache := elks.NewRenderCache(4 * 100 << 10)
		calls := []*shareCall{{chain: chain}, {chain: chain, start: time.Second}, {chain: chain, start: 10 * time.Second}}
		var most int64
		renderings := 0
		watch := func() {
			for range 45 {
				time.Sleep(time.Second)
				st := cache.Stats()
				most = max(most, st.Bytes)
				renderings = max(renderings, st.Renderings)
			}
		}
		runCalls(t, elks.Config{Format: elks.ULaw, RenderCache: cache}, calls, watch)
		for i, c := range calls {
			if c.err != nil {
				t.Fatalf("call %d: %v", i, c.err)
			}
			sameMessages(t, fmt.Sprintf("call %d", i), c.sent, private[0].sent)
		}
		if renderings != 2 {
			t.Errorf("%d renderings at once, want 2", renderings)
		}
		if most <= 0 || most > int64(whole)*3/4 {
			t.Errorf("the renderings took up to %d bytes; the whole call is %d bytes of messages", most, whole)
		}
		st := cache.Stats()
		if st.SharedPlays != 3 || st.Renderings != 0 || st.Bytes != 0 {
			t.Errorf("stats %+v: want 3 shared plays (the third on a second rendering) and nothing left", st)
		}
	})
}

// Pipelines that are not deterministic, or a cache with no room, render
// privately.
func TestSharedRenderingRefused(t *testing.T) {
	dir := t.TempDir()
	wav := writeWAV(t, dir, "a.wav", 8000, 1, 300*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		cache := elks.NewRenderCache(64 << 20)
		cfg := elks.Config{Format: elks.ULaw, RenderCache: cache}
		calls := []*shareCall{
			{chain: fmt.Sprintf("playlist %q %q shuffle=true seed=3", wav, wav)},
			{chain: fmt.Sprintf("playlist %q %q shuffle=true", wav, wav)},
		}
		runCalls(t, cfg, calls, nil)
		for i, c := range calls {
			if c.err != nil {
				t.Fatalf("call %d: %v", i, c.err)
			}
		}
		if st := cache.Stats(); st.SharedPlays != 0 || st.PrivatePlays != 2 || st.Renderings != 0 {
			t.Errorf("stats %+v: want 2 private plays", st)
		}
		cache.SetLimit(0)
		runCalls(t, cfg, []*shareCall{{chain: "tone 440 dur=300ms"}}, nil)
		if st := cache.Stats(); st.SharedPlays != 0 || st.PrivatePlays != 3 {
			t.Errorf("stats %+v: want 3 private plays", st)
		}
	})
}

// A rendering that opens something with no version on the disk (a
// device) plays on for its call, and the pipeline's later calls render
// privately.
func TestSharedRenderingUnversionedInput(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	synctest.Test(t, func(t *testing.T) {
		chain := "raw /dev/zero rate=8k enc=s16le | trim dur=700ms"
		cache := elks.NewRenderCache(64 << 20)
		cfg := elks.Config{Format: elks.ULaw, RenderCache: cache}
		calls := []*shareCall{{chain: chain}}
		runCalls(t, cfg, calls, nil)
		later := []*shareCall{{chain: chain}}
		runCalls(t, cfg, later, nil)
		private := []*shareCall{{chain: chain}}
		runCalls(t, elks.Config{Format: elks.ULaw}, private, nil)
		for _, c := range []*shareCall{calls[0], later[0], private[0]} {
			if c.err != nil {
				t.Fatal(c.err)
			}
		}
		sameMessages(t, "the first call", calls[0].sent, private[0].sent)
		sameMessages(t, "the later call", later[0].sent, private[0].sent)
		if st := cache.Stats(); st.SharedPlays != 1 || st.PrivatePlays != 1 || st.Renderings != 0 {
			t.Errorf("stats %+v: want the first play shared, the later one private, nothing kept", st)
		}
	})
}

// Which pipelines are shareable, and with what key.
func TestShareKey(t *testing.T) {
	cases := []struct {
		chain string
		key   string // "" when not shareable
	}{
		{`file "a.wav" | loop`, `file "a.wav" | loop`},
		{`file a.wav | loop`, `file "a.wav" | loop`},
		{`tone 440 dur=1s + silence dur=1s | gain -3dB | fade in=1s`, `tone 440 dur=1s + silence dur=1s | gain -3dB | fade in=1s`},
		{`playlist a.wav b.mp3 | loop 2 | resample 8k`, `playlist "a.wav" "b.mp3" | loop 2 | resample 8k`},
		{`noise dur=1s | trim dur=500ms | pad before=1s | mono`, `noise dur=1s | trim dur=500ms | pad before=1s | mono`},
		{`dtmf 123`, `dtmf 123`},
		{`raw a.raw rate=8k enc=s16le`, `raw "a.raw" rate=8k enc=s16le`},
		{`playlist a.wav b.wav shuffle=true seed=1`, ""},
		{`file https://example.com/hold.mp3 | loop`, `file "https://example.com/hold.mp3" | loop`},
		{`playlist https://example.com/hold.m3u b.wav`, `playlist "https://example.com/hold.m3u" "b.wav"`},
		{`stream http://radio.example/hold.mp3`, ""},
		{`file - `, ""},
		{`caller | gain 6dB`, ""},
		{`exec "cat x.raw" | loop`, ""},
	}
	for _, tc := range cases {
		g := elks.TestGraph(t, tc.chain)
		key, ok := g.ShareKey()
		switch {
		case tc.key == "" && ok:
			t.Errorf("%s: shareable as %q, want not", tc.chain, key)
		case tc.key != "" && !ok:
			t.Errorf("%s: not shareable (%s), want %q", tc.chain, key, tc.key)
		case tc.key != "" && key != tc.key:
			t.Errorf("%s: key %q, want %q", tc.chain, key, tc.key)
		}
	}
}

// Many calls starting one after another, on renderings that outgrow a
// small budget and hand over to fresh ones, all hear what a private
// rendering sends, and nothing is left when they have ended.
func TestSharedRenderingManyCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chain := fmt.Sprintf("file %q | loop 12 | gain -1dB", testMP3(t))
		private := []*shareCall{{chain: chain}}
		runCalls(t, elks.Config{Format: elks.PCM16000}, private, nil)
		cache := elks.NewRenderCache(4 * 40 << 10) // a rendering takes new calls for about 1 s
		var calls []*shareCall
		for i := range 30 {
			calls = append(calls, &shareCall{chain: chain, start: time.Duration(i) * 137 * time.Millisecond})
		}
		runCalls(t, elks.Config{Format: elks.PCM16000, RenderCache: cache}, calls, nil)
		for i, c := range calls {
			if c.err != nil {
				t.Fatalf("call %d: %v", i, c.err)
			}
			sameMessages(t, fmt.Sprintf("call %d", i), c.sent, private[0].sent)
		}
		st := cache.Stats()
		if st.SharedPlays != 30 || st.Renderings != 0 || st.Bytes != 0 {
			t.Errorf("stats %+v: want 30 shared plays and nothing left", st)
		}
	})
}
