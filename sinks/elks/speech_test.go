package elks_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// speechCall plays 10 s of tone to a simulated caller who says said, with
// Config.Speech, and returns the changes Session.Speech gave, each with
// the call time it came at.
func speechCall(t *testing.T, said string, f elks.Format) (got []elks.Speech, at []time.Duration) {
	t.Helper()
	say, err := pipeline.OpenerText(said)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		call := startSim(t, elks.Config{Format: f, Chunk: 20 * time.Millisecond, Speech: true},
			elkstest.Options{Say: say, Duration: 6 * time.Second})
		go call.s.PlayGraph(call.s.Context(), elks.TestGraph(t, "tone 440 dur=10s amp=-10dB"))
		for {
			select {
			case sp := <-call.s.Speech():
				got, at = append(got, sp), append(at, time.Since(start))
				continue
			case <-call.s.Done():
			}
			break
		}
		call.report()
		if st := call.s.Stats(); st.Speech != countStarts(got) {
			t.Errorf("Stats.Speech %d, starts %d", st.Speech, countStarts(got))
		}
	})
	return got, at
}

func countStarts(sp []elks.Speech) int {
	n := 0
	for _, s := range sp {
		if s.Talking {
			n++
		}
	}
	return n
}

// The caller talks (a voiced 150 Hz buzz at −20 dBFS, and real speech)
// from 2 s while a prompt plays: Speech says so within the onset (100
// ms) plus a message of caller audio (20 ms), whatever the listening
// format, and says when the talking stopped, after the hangover (300
// ms). Silence and line noise say nothing.
func TestSessionSpeech(t *testing.T) {
	for _, f := range []elks.Format{elks.PCM16000, elks.ULaw, elks.G722} {
		t.Run(string(f), func(t *testing.T) {
			got, at := speechCall(t, "silence 2s + tone 150 dur=1s amp=-17dB + silence 2s", f)
			if len(got) != 2 || !got[0].Talking || got[1].Talking {
				t.Fatalf("speech %+v, want a start and an end", got)
			}
			if d := at[0] - 2*time.Second; d < 100*time.Millisecond || d > 140*time.Millisecond {
				t.Errorf("talking found at %v, %v after it began, want 100-140 ms", at[0], d)
			}
			if d := got[0].At - 2*time.Second; d < -20*time.Millisecond || d > 20*time.Millisecond {
				t.Errorf("talking dated %v, want 2 s", got[0].At)
			}
			if d := at[1] - 3*time.Second; d < 300*time.Millisecond || d > 340*time.Millisecond {
				t.Errorf("end of talking found at %v, want 300-340 ms after 3 s", at[1])
			}
		})
	}
	for _, said := range []string{"silence 5s", "noise 5s amp=-45dB"} {
		t.Run(said, func(t *testing.T) {
			if got, _ := speechCall(t, said, elks.PCM16000); len(got) != 0 {
				t.Errorf("%s: speech %+v, want none", said, got)
			}
		})
	}
}

// barge-in=voice: the caller's speech (espeak-ng's, from 2 s) interrupts
// the prompt within the onset plus a message, and a key does too; silence
// interrupts nothing.
func TestVoiceBargeIn(t *testing.T) {
	espeak := audiotest.NeedTool(t, "espeak-ng")
	speech := filepath.Join(t.TempDir(), "speech.wav")
	if out, err := exec.Command(espeak, "-w", speech, "Hello, I want to speak to someone.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	say := func(text string) pipeline.Opener {
		o, err := pipeline.OpenerText(text)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	const prompt = `tone 440 dur=8s amp=-10dB | elks pcm_16000 chunk=20ms barge-in=voice`
	t.Run("speech", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _, logs := ivrCallOpt(t, prompt, elkstest.Options{Say: say(`silence 2s + file "` + speech + `"`), Duration: 12 * time.Second})
			if r.Interrupts != 1 || r.Dropped < 1.5 {
				t.Errorf("interrupts %d, dropped %.2f s: want one interrupt that drops what was queued\n%s", r.Interrupts, r.Dropped, logs)
			}
		})
	})
	// When: the prompt turns from 440 to 880 Hz at 3 s; the interrupt
	// drops the 2.5 s queued at the API, so the caller hears 880 Hz from
	// the moment of the interrupt on: 100 ms of onset and at most a 20 ms
	// message after the caller began (a 150 Hz buzz at 2 s).
	t.Run("when", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, heard, logs := ivrCallOpt(t, `tone 440 dur=3s amp=-10dB + tone 880 dur=5s amp=-10dB | elks pcm_16000 chunk=20ms barge-in=voice`,
				elkstest.Options{Say: say("silence 2s + tone 150 dur=1s amp=-17dB"), Duration: 12 * time.Second})
			x := make([]float64, len(heard))
			for i, v := range heard {
				x[i] = float64(v)
			}
			if at := onset(x, 880, 0.316, 16000); at < 2.095 || at > 2.125 {
				t.Errorf("880 Hz heard from %.3f s, want 2.1-2.12 s (the caller began at 2 s)\n%s", at, logs)
			}
		})
	})
	t.Run("key and speech", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _, logs := ivrCallOpt(t, prompt, elkstest.Options{Say: say(`silence 4s + file "` + speech + `"`),
				DTMF: []elkstest.Press{{Key: '5', At: time.Second}}, Duration: 12 * time.Second})
			// The key interrupts at 1.04 s (and, 100 ms long, may
			// count as speech too); the speech at 4 s interrupts again.
			if d := r.Digits[0]; d.Interrupt == nil || *d.Interrupt != 1.04 {
				t.Errorf("key: %+v, want an interrupt at 1.04 s", d)
			}
			if r.Interrupts < 2 || r.Interrupts > 3 {
				t.Errorf("interrupts %d, want the key's and the speech's\n%s", r.Interrupts, logs)
			}
		})
	})
	t.Run("silence", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, _, logs := ivrCallOpt(t, prompt, elkstest.Options{Say: say("noise 6s amp=-50dB"), Duration: 12 * time.Second})
			if r.Interrupts != 0 || r.Played < 7.99 {
				t.Errorf("interrupts %d, played %.2f s: want the whole prompt\n%s", r.Interrupts, r.Played, logs)
			}
		})
	})
}

// speech=yes tells exec programs when the caller starts and stops talking
// (events on fd 3), without barge-in.
func TestSpeechEventsToExec(t *testing.T) {
	script := writeScript(t, `head -c 96000 /dev/zero; while read line <&3; do echo "event $line" >&2; done`)
	say, err := pipeline.OpenerText("silence 500ms + tone 150 dur=700ms amp=-17dB + silence 1s")
	if err != nil {
		t.Fatal(err)
	}
	r, _, logs := ivrCallOpt(t, `exec "sh `+script+`" | elks pcm_16000 chunk=20ms speech=yes`,
		elkstest.Options{Say: say, Duration: 3 * time.Second})
	if r.Interrupts != 0 {
		t.Errorf("%d interrupts without barge-in", r.Interrupts)
	}
	start := strings.Index(logs, `{\"event\":\"speech\"}`)
	end := strings.Index(logs, `{\"event\":\"speech-end\"}`)
	if start < 0 || end < start {
		t.Errorf("the program did not get a speech event, then a speech-end one:\n%s", logs)
	}
}
