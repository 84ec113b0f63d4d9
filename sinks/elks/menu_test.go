package elks_test

import (
	"context"
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

// ivrCall serves one simulated call with the handler of the elks sink of
// text (a pipeline ending in elks), pressing keys; it returns the report,
// what the caller heard (16 kHz, from the call's start) and the log.
func ivrCall(t *testing.T, text string, presses []elkstest.Press, dur time.Duration) (*elkstest.Report, []float32, string) {
	t.Helper()
	return ivrCallOpt(t, text, elkstest.Options{DTMF: presses, Duration: dur})
}

// wrapApp, when set, wraps the application's end of the calls of
// ivrCallOpt.
var wrapApp func(elks.Transport) elks.Transport

// ivrCallOpt is ivrCall with the simulator's options (its recording of
// what the caller heard is set here).
func ivrCallOpt(t *testing.T, text string, opt elkstest.Options) (*elkstest.Report, []float32, string) {
	t.Helper()
	spec, err := pipeline.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	h, cfg, err := elks.TestSinkHandler(t.Context(), g.Sink.Sink.(*elks.Sink), g)
	if err != nil {
		t.Fatal(err)
	}
	heard := filepath.Join(t.TempDir(), "heard.wav")
	app, api := elks.Pipe()
	done := make(chan *elkstest.Report, 1)
	go func() {
		opt.Record, opt.RecordRate = heard, 16000
		r, err := elkstest.Run(t.Context(), api, opt)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	logger, logs := elks.TestLogger()
	cfg.Logger = logger
	if wrapApp != nil {
		app = wrapApp(app)
	}
	s, err := elks.StartSession(t.Context(), app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// As the server does: the handler, the rest of the audio, the hangup.
	if err := h(s.Context(), s); err != nil && s.End().By == "" {
		t.Errorf("handler: %v", err)
	} else if err == nil {
		s.Drain(s.Context())
	}
	s.Hangup()
	r := <-done
	s.Close()
	src, err := sources.WAV(heard)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return r, audiotest.MustReadAll(t, src), logs.String()
}

// toneAt returns the frequency heard from a to b seconds into x (16 kHz).
func toneAt(x []float32, a, b float64) float64 {
	lo, hi := int(a*16000), min(int(b*16000), len(x))
	if hi-lo < 1600 {
		return 0
	}
	y := make([]float64, hi-lo)
	for i, v := range x[lo:hi] {
		y[i] = float64(v)
	}
	return audiotest.Frequency(y, 16000, 200, 2000)
}

// A one-level menu: the prompt loops until a key; 2 interrupts it at once
// and plays its option, then the prompt plays again; a key not in the menu
// is ignored; # hangs up.
func TestMenu(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, heard, logs := ivrCall(t, `tone 440 | loop | elks pcm_16000 chunk=20ms on-2="tone 880 dur=2s" on-hash=hangup`,
			[]elkstest.Press{{Key: '7', At: time.Second}, {Key: '2', At: 3 * time.Second}, {Key: '#', At: 6500 * time.Millisecond}}, 20*time.Second)
		if r.End.By != elks.ByApp {
			t.Errorf("end %+v, want the application's hangup", r.End)
		}
		if len(r.Digits) != 3 {
			t.Fatalf("digits %+v", r.Digits)
		}
		seven, two, hash := r.Digits[0], r.Digits[1], r.Digits[2]
		if !seven.Sent || seven.Interrupt != nil {
			t.Errorf("7 (not in the menu): %+v, want sent and no interrupt", seven)
		}
		// The key is known 40 ms into its tone (the caller's audio goes
		// out in 20 ms messages once said): the interrupt and the option
		// follow at once.
		if two.Interrupt == nil || *two.Interrupt != 3.04 || two.Heard == nil || *two.Heard != 3.04 {
			t.Errorf("2: %+v, want interrupt and option at 3.04 s", two)
		}
		// # hangs up at once, 40 ms into its tone.
		if !hash.Sent || math.Abs(r.Duration-6.54) > 1e-9 {
			t.Errorf("#: %+v, call ended at %v s, want 6.54", hash, r.Duration)
		}
		for _, c := range []struct {
			a, b, want float64
		}{
			{0.2, 2.9, 440}, // the prompt, through the ignored 7
			{3.1, 5.0, 880}, // the option, 3.04 to 5.04 s
			{5.1, 6.5, 440}, // the prompt again
		} {
			if f := toneAt(heard, c.a, c.b); math.Abs(f-c.want) > 1 {
				t.Errorf("%.1f-%.1f s: heard %.1f Hz, want %v", c.a, c.b, f, c.want)
			}
		}
		if len(heard) > int(6.55*16000) {
			t.Errorf("heard %.3f s, want the call over at 6.54 s", float64(len(heard))/16000)
		}
		if !strings.Contains(logs, "menu: key not in the menu, ignored") || !strings.Contains(logs, "digit=7") {
			t.Errorf("the ignored key is not logged:\n%s", logs)
		}
	})
}

// barge-in=dtmf without a menu: a key drops what the caller had not heard
// yet, and the pipeline plays on from where it had got to.
func TestBargeIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, heard, _ := ivrCall(t, `tone 440 dur=5s | elks pcm_16000 chunk=20ms barge-in=dtmf`,
			[]elkstest.Press{{Key: '1', At: 2 * time.Second}}, 20*time.Second)
		d := r.Digits[0]
		if d.Interrupt == nil || *d.Interrupt != 2.04 || d.Heard == nil || *d.Heard != 2.04 {
			t.Fatalf("digit %+v, want interrupt and new audio at 2.04 s", d)
		}
		// What was queued at the API (up to window + checkpoint, 2.5 s) is
		// gone, and the chunk being read when the key came: the tone ends
		// that much early.
		if r.Interrupts != 1 || r.Dropped < 1.9 || r.Dropped > 2.5 || math.Abs(r.Played+r.Dropped-5) > 0.021 {
			t.Errorf("interrupts %d, played %v s, dropped %v s", r.Interrupts, r.Played, r.Dropped)
		}
		if f := toneAt(heard, 2.1, 2.9); math.Abs(f-440) > 1 {
			t.Errorf("after the key: %.1f Hz", f)
		}
	})
}

// Without barge-in a key changes nothing: the audio plays to its end.
func TestBargeInOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCall(t, `tone 440 dur=3s | elks pcm_16000 chunk=20ms dtmf=yes`,
			[]elkstest.Press{{Key: '1', At: time.Second}}, 20*time.Second)
		if d := r.Digits[0]; !d.Sent || d.Interrupt != nil || r.Interrupts != 0 || math.Abs(r.Played-3) > 1e-9 {
			t.Errorf("digit %+v, interrupts %d, played %v", d, r.Interrupts, r.Played)
		}
	})
}

// Options are parsed and checked at start, naming the parameter.
func TestMenuErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.wav")
	for text, want := range map[string]string{
		`tone 440 | elks on-1="tnoe 880"`:                       "on-1",
		`tone 440 | elks on-1="tone 880 | wav x.wav"`:           "on-1",
		`file x.mp3 | elks mp3 barge-in=dtmf`:                   "format=mp3 cannot",
		`tone 440 | elks barge-in=voice on-1=hangup`:            "barge-in=voice",
		`tone 440 | loop | elks on-hash="file ` + missing + `"`: "on-hash",
	} {
		spec, err := pipeline.Parse(text)
		if err == nil {
			var g *pipeline.Graph
			if g, err = spec.Graph(); err == nil {
				_, _, err = elks.TestSinkHandler(t.Context(), g.Sink.Sink.(*elks.Sink), g)
			}
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", text, err, want)
		}
	}
}
