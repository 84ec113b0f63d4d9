package elkstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

func TestParsePresses(t *testing.T) {
	ps, err := elkstest.ParsePresses("5@4s, 1@2s,#@4500ms")
	if err != nil {
		t.Fatal(err)
	}
	want := []elkstest.Press{{'1', 2 * time.Second}, {'5', 4 * time.Second}, {'#', 4500 * time.Millisecond}}
	if len(ps) != len(want) {
		t.Fatalf("got %v", ps)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("press %d: %v, want %v", i, ps[i], want[i])
		}
	}
	for text, msg := range map[string]string{
		"1":           "want KEY@TIME",
		"12@1s":       "want KEY@TIME",
		"x@1s":        "not a DTMF key",
		"1@soon":      "bad time",
		"1@-1s":       "negative",
		"1@1s,2@1.1s": "too closely",
	} {
		if _, err := elkstest.ParsePresses(text); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error saying %q", text, err, msg)
		}
	}
}

// bargeIn plays a looped 440 Hz prompt until the caller presses a key,
// then interrupts it and plays 880 Hz for a second and hangs up.
func bargeIn(t *testing.T, s *elks.Session) {
	prompt, _ := pipeline.OpenerText("tone 440 | loop")
	answer, _ := pipeline.OpenerText("tone 880 dur=1s")
	played := make(chan error, 1)
	go func() { played <- s.PlayOpener(t.Context(), prompt) }()
	if _, err := s.WaitDigit(t.Context(), time.Minute); err != nil {
		t.Errorf("WaitDigit: %v", err)
		return
	}
	if err := s.Interrupt(); err != nil {
		t.Errorf("interrupt: %v", err)
	}
	if err := <-played; !errors.Is(err, elks.ErrInterrupted) {
		t.Errorf("prompt: %v", err)
	}
	if err := s.PlayOpener(t.Context(), answer); err != nil {
		t.Errorf("answer: %v", err)
	}
	s.Drain(t.Context())
	s.Hangup()
}

// The simulated caller presses 2 at 3 s: the tone goes out in the caller's
// audio, the application detects it, interrupts and plays its answer, and
// the report says when.
func TestPressReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := elks.Config{Format: elks.PCM16000, DTMF: true, Chunk: 20 * time.Millisecond}
		s, wait := startSession(t, cfg, elkstest.Options{DTMF: []elkstest.Press{{'2', 3 * time.Second}}, Duration: 10 * time.Second})
		bargeIn(t, s)
		r := wait()
		s.Close()
		if len(r.Digits) != 1 {
			t.Fatalf("digits %+v", r.Digits)
		}
		d := r.Digits[0]
		if d.Key != "2" || d.At != 3 || !d.Sent || d.Interrupt == nil || d.Heard == nil || d.Latency == nil {
			t.Fatalf("digit %+v", d)
		}
		// The caller's audio goes out in 20 ms messages once said: the
		// message with the tone's first 20 ms at 3.02 s, the next at 3.04 s,
		// and the detector knows the key after 40 ms of tone. The
		// interrupt and the answer follow at once (no delay in the pipe).
		if *d.Interrupt != 3.04 || *d.Heard != 3.04 || *d.Latency != 0.04 {
			t.Errorf("interrupt at %v, heard at %v (latency %v), want 3.04, 3.04, 0.04", *d.Interrupt, *d.Heard, *d.Latency)
		}
		if r.Interrupts != 1 || r.CallerAudio.NeverAsked {
			t.Errorf("interrupts %d, caller audio %+v", r.Interrupts, r.CallerAudio)
		}
		b, _ := json.Marshal(r.Digits)
		if want := `[{"key":"2","at":3,"sent":true,"interrupt":3.04,"heard":3.04,"latency":0.04}]`; string(b) != want {
			t.Errorf("JSON %s, want %s", b, want)
		}
		var text strings.Builder
		r.WriteText(&text)
		if want := "key 2 at 3.00 s: interrupt at 3.04 s, new audio heard at 3.04 s (40.0 ms after the key)"; !strings.Contains(text.String(), want) {
			t.Errorf("report:\n%s\nwant a line %q", text.String(), want)
		}
	})
}

// An application that never asks for the caller's audio gets no key: the
// report says so.
func TestPressNeverAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := sessionCall(t, "tone 440 dur=1s", elks.Config{}, elkstest.Options{DTMF: []elkstest.Press{{'1', 500 * time.Millisecond}}})
		if !r.CallerAudio.NeverAsked || len(r.Digits) != 1 || r.Digits[0].Sent || r.Digits[0].Interrupt != nil {
			t.Fatalf("caller audio %+v, digits %+v", r.CallerAudio, r.Digits)
		}
		// Audio queued before the press plays on: nothing new is heard.
		if r.Digits[0].Heard != nil {
			t.Errorf("heard at %v", *r.Digits[0].Heard)
		}
		var text strings.Builder
		r.WriteText(&text)
		if !strings.Contains(text.String(), "key 1 at 0.50 s: never sent") {
			t.Errorf("report:\n%s", text.String())
		}
	})
}

// Keys pressed into the caller's voice: both reach the detector, the
// voice goes on around them.
func TestPressWithSay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		say, err := pipeline.OpenerText("tone 300 dur=2s amp=-30dB")
		if err != nil {
			t.Fatal(err)
		}
		cfg := elks.Config{Format: elks.ULaw, DTMF: true}
		s, wait := startSession(t, cfg, elkstest.Options{Say: say, Duration: 4 * time.Second,
			DTMF: []elkstest.Press{{'9', time.Second}, {'*', 1500 * time.Millisecond}, {'4', 3 * time.Second}}})
		var got []byte
		for {
			d, err := s.WaitDigit(context.Background(), time.Minute)
			if err != nil {
				break
			}
			got = append(got, d.Key)
		}
		r := wait()
		s.Close()
		// The voice lasts 2 s; silence follows until the last key's tone.
		if string(got) != "9*4" || math.Abs(r.CallerAudio.Seconds-3.1) > 1e-9 {
			t.Errorf("digits %q, caller audio %+v", got, r.CallerAudio)
		}
		for _, d := range r.Digits {
			if !d.Sent {
				t.Errorf("digit %+v not sent", d)
			}
		}
	})
}
