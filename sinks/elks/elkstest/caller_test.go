package elkstest_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// An echo test: the Session plays the caller element, so the simulated
// caller hears its own voice, one chunk and the live cushion (10 ms)
// later, without a gap once it started. Caller asks for the caller's audio itself ("listening").
func TestCallerEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		say, err := pipeline.OpenerText("tone 440 dur=1s rate=16000")
		if err != nil {
			t.Fatal(err)
		}
		heardPath := filepath.Join(t.TempDir(), "heard.wav")
		cfg := elks.Config{Format: elks.PCM16000, Chunk: 20 * time.Millisecond}
		s, wait := startSession(t, cfg, elkstest.Options{Say: say, Duration: 2 * time.Second, Record: heardPath, RTT: 40 * time.Millisecond})
		echo, err := pipeline.OpenerText("caller")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlayOpener(t.Context(), echo); err != nil && !errors.Is(err, elks.ErrCallOver) {
			t.Errorf("play: %v", err)
		}
		r := wait()
		s.Close()
		if r.Listenings["pcm_16000"] != 1 || r.CallerAudio.Messages != 50 {
			t.Errorf("listenings %v, caller audio %+v", r.Listenings, r.CallerAudio)
		}
		// The simulated caller's first 20 ms message goes out once said,
		// at 20 ms; the session sends it back at once as a 20 ms chunk
		// after 10 ms of cushion: the echo adds no more than one chunk +
		// 20 ms (the target), here the cushion beyond the
		// message itself.
		if r.FirstAudio < 0.02 || r.FirstAudio > 0.02+0.02+0.02 {
			t.Errorf("the echo started at %.3f s, want within one chunk + 20 ms of the first 20 ms said", r.FirstAudio)
		}
		if math.Abs(r.Played-1.01) > 1e-9 || r.Gaps.Count != 0 {
			t.Errorf("played %v s, gaps %+v", r.Played, r.Gaps)
		}
		src, err := sources.WAV(heardPath)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer pipeline.Close(src)
		heard := audiotest.MustReadAll(t, src)
		// The recording runs in call time: silence until the first
		// audio and through its cushion, 1 s of the caller's tone, then
		// silence.
		lead := int(math.Round((r.FirstAudio + 0.01) * 16000))
		for i, v := range heard[:lead] {
			if v != 0 {
				t.Fatalf("sound before the first audio: sample %d is %v", i, v)
			}
		}
		heard = heard[lead:]
		if len(heard) < 16000 {
			t.Fatalf("heard %d samples", len(heard))
		}
		x := make([]float64, 16000)
		for i, v := range heard[:16000] {
			x[i] = float64(v)
		}
		if f := audiotest.Frequency(x, 16000, 300, 600); math.Abs(f-440) > 0.5 {
			t.Errorf("heard %.2f Hz, want 440", f)
		}
		for i, v := range heard[16000:] {
			if v != 0 {
				t.Fatalf("sound after the caller's second: sample %d is %v", 16000+i, v)
			}
		}
		if st := s.Stats(); st.CallerDropped != 0 {
			t.Errorf("dropped %v of the caller's audio", st.CallerDropped)
		}
	})
}

// stallWrites is the simulator's end of a connection whose tenth audio
// message takes 50 ms to write: the simulator's voice is held up.
type stallWrites struct {
	elks.Transport
	n int
}

func (s *stallWrites) WriteMessage(ctx context.Context, msg []byte) error {
	if strings.HasPrefix(string(msg), `{"t":"audio"`) {
		if s.n++; s.n == 10 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s.Transport.WriteMessage(ctx, msg)
}

// Caller audio the simulator could not send in time is counted: a write
// held up 50 ms leaves 50 ms late and makes the next message 30 ms late
// (the one after is 10 ms late, which does not count), and the report
// and the summary say so.
func TestCallerAudioLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		say, err := pipeline.OpenerText("tone 440 dur=1s rate=16000")
		if err != nil {
			t.Fatal(err)
		}
		app, api := elks.Pipe()
		done := make(chan *elkstest.Report, 1)
		go func() {
			r, err := elkstest.Run(t.Context(), &stallWrites{Transport: api}, elkstest.Options{Say: say, Duration: 2 * time.Second})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		s, err := elks.StartSession(t.Context(), app, elks.Config{Format: elks.PCM16000, Chunk: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		echo, err := pipeline.OpenerText("caller")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlayOpener(t.Context(), echo); err != nil && !errors.Is(err, elks.ErrCallOver) {
			t.Errorf("play: %v", err)
		}
		r := <-done
		s.Close()
		if r.CallerAudio.Late != 2 || math.Abs(r.CallerAudio.MaxLate-0.050) > 1e-9 {
			t.Errorf("caller audio %+v, want two messages late, by up to 50 ms", r.CallerAudio)
		}
		var text strings.Builder
		if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "2 sent more than 10ms late by the simulator (the latest 50.0 ms)") {
			t.Errorf("report (%v):\n%s", err, text.String())
		}
		sum := elkstest.Summarize([]*elkstest.Report{r, r})
		text.Reset()
		if err := sum.WriteText(&text); err != nil || sum.CallerLate != 4 || !strings.Contains(text.String(), "caller audio sent late by the simulator (more than 10ms): 4 messages, the latest 50.0 ms") {
			t.Errorf("summary %+v (%v):\n%s", sum, err, text.String())
		}
	})
}
