package elkstest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The caller presses keys (DTMF tones in its audio): with Config.DTMF the
// session asks for the audio itself and hands each press to Digits, once,
// in order, through every listening format's codec.
func TestSessionDetectsDigits(t *testing.T) {
	for _, f := range []elks.Format{elks.PCM16000, elks.ULaw, elks.ALaw, elks.G722, elks.PCM8000} {
		t.Run(string(f), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				say, err := pipeline.OpenerText("silence 300ms + dtmf 15#9 amp=-12dB + silence 300ms")
				if err != nil {
					t.Fatal(err)
				}
				cfg := elks.Config{Format: f, DTMF: true}
				s, wait := startSession(t, cfg, elkstest.Options{Say: say, Duration: 3 * time.Second})
				var got []byte
				var at []time.Duration
				for {
					d, err := s.WaitDigit(context.Background(), 5*time.Second)
					if err != nil {
						if !errors.Is(err, elks.ErrCallOver) {
							t.Errorf("WaitDigit: %v", err)
						}
						break
					}
					got = append(got, d.Key)
					at = append(at, d.At)
				}
				r := wait()
				s.Close()
				if string(got) != "15#9" {
					t.Fatalf("digits %q, want 15#9", got)
				}
				// Each digit: 100 ms of tone and 100 ms of gap after 300 ms of silence.
				for i, a := range at {
					want := 300*time.Millisecond + time.Duration(i)*200*time.Millisecond
					if d := a - want; d < -5*time.Millisecond || d > 5*time.Millisecond {
						t.Errorf("digit %d at %v, want %v ± 5 ms", i, a, want)
					}
				}
				if st := s.Stats(); st.Digits != 4 || r.Listenings[string(f)] != 1 {
					t.Errorf("%d digits counted, listenings %v", st.Digits, r.Listenings)
				}
			})
		})
	}
}

// A handler waits for a key with a timeout.
func TestWaitDigitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, wait := startSession(t, elks.Config{DTMF: true}, elkstest.Options{Duration: 2 * time.Second})
		start := time.Now()
		if _, err := s.WaitDigit(context.Background(), time.Second); !errors.Is(err, elks.ErrDigitTimeout) || time.Since(start) != time.Second {
			t.Errorf("WaitDigit: %v after %v", err, time.Since(start))
		}
		if _, err := s.WaitDigit(context.Background(), time.Hour); !errors.Is(err, elks.ErrCallOver) {
			t.Errorf("WaitDigit as the call ends: %v", err)
		}
		wait()
		s.Close()
	})
}
