package elks

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Malformed JSON and unknown types are logged, counted and survived.
func TestSessionSurvivesMalformed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: PCM8000}, nil)
		for _, m := range []string{`not json`, `{"t":5}`, `{"t":"audio","data":"!!!"}`, `{"t":"dtmf","digit":"5"}`,
			`{"t":"sending","format":"ulaw"}`, `{"t":"hello","callid":"again"}`, `{"t":"sync","extra":1}`} {
			p.send(m)
		}
		for i := 0; i < 20; i++ {
			p.send(`{"t":`)
		}
		synctest.Wait() // all read before the audio starts (the stray sync has no checkpoint)
		g := sessGraph(t, "tone 440 dur=3s rate=8k")
		srvRunCall(context.Background(), s, GraphHandler(g), false)
		<-p.done
		st := s.Stats()
		if st.Malformed != 23 || st.Unknown != 3 || st.UnexpectedReplies != 1 {
			t.Errorf("stats %+v", st)
		}
		r := p.snapshot()
		sessSameAudio(t, r.heard(t, PCM8000), sessExpect(t, g, PCM8000))
		if e := s.End(); e.By != ByApp {
			t.Errorf("end %+v", e)
		}
		if n := strings.Count(logs.String(), "malformed message"); n < 5 || n > 10 {
			t.Errorf("%d malformed lines logged (want rate-limited)", n)
		}
	})
}

// sessStingySource returns no audio and no error empties times before
// each frame of silence, left frames in all, then io.EOF; with empties < 0
// it never returns anything.
type sessStingySource struct {
	empties int
	left    int
	reads   int
	run     int // empty reads since the last frame
}

// Format is 16 kHz mono.
func (s *sessStingySource) Format() pipeline.Format { return pipeline.Format{Rate: 16000, Channels: 1} }

// Read returns nothing, one frame of silence or io.EOF (see sessStingySource).
func (s *sessStingySource) Read(p []float32) (int, error) {
	s.reads++
	if s.empties >= 0 && s.left == 0 {
		return 0, io.EOF
	}
	if s.empties < 0 || s.run < s.empties {
		s.run++
		return 0, nil
	}
	s.run = 0
	s.left--
	p[0] = 0
	return 1, nil
}

// A source that returns no audio and no error 100 times in a row stops
// Play with io.ErrNoProgress instead of spinning forever; 99 times in a
// row, between frames, is slow but progress.
func TestSessionPlayNoProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: PCM16000}, nil)
		stuck := &sessStingySource{empties: -1}
		err := s.Play(context.Background(), stuck)
		if !errors.Is(err, io.ErrNoProgress) || stuck.reads != pipeline.MaxEmptyReads {
			t.Errorf("Play of a source with no progress: %v after %d reads", err, stuck.reads)
		}
		slow := &sessStingySource{empties: pipeline.MaxEmptyReads - 1, left: 3200}
		if err := s.Play(context.Background(), slow); err != nil {
			t.Errorf("Play of a slow source: %v", err)
		}
		if st := s.Stats(); st.AudioSent != 200*time.Millisecond {
			t.Errorf("sent %v of audio, want 200ms", st.AudioSent)
		}
		p.hangup()
		<-s.Done()
		s.Close()
	})
}
