package elks_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// echoSaid is the caller's voice of the echo tests: bursts of noise at
// irregular times, so that the delay of their echo is unambiguous.
const echoSaid = "noise 150ms amp=-10dB + silence 250ms + noise 80ms amp=-10dB + silence 420ms + " +
	"noise 300ms amp=-10dB + silence 700ms + noise 50ms amp=-10dB + silence 1s"

// An echo test (`caller | elks`): the caller hears themselves after the
// message of caller audio the API fills (20 ms), the chunk less what it
// shares with the message, and the live cushion (10 ms): 30 ms at
// chunk=20ms, with no gap once the echo has started; a pad makes a
// delayed echo; and the simulator reports the delay.
func TestEchoLatency(t *testing.T) {
	for _, c := range []struct {
		pipeline string
		want     float64
	}{
		{"caller | elks pcm_16000 chunk=20ms", 0.030},
		{"caller | elks ulaw chunk=20ms", 0.030},
		{"caller | elks pcm_16000 chunk=20ms cushion=0", 0.020},
		{"caller | elks pcm_16000 chunk=20ms cushion=30ms", 0.050},
		{"caller | elks pcm_16000 chunk=100ms", 0.110},
		{"caller | pad before=500ms | elks pcm_16000 chunk=20ms", 0.510}, // the pad holds the message
	} {
		t.Run(c.pipeline, func(t *testing.T) {
			say, err := pipeline.OpenerText(echoSaid)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				r, _, logs := ivrCallOpt(t, c.pipeline, elkstest.Options{Say: say, Duration: 4 * time.Second})
				if r.Echo == nil {
					t.Fatalf("no echo in the report\n%s", logs)
				}
				if math.Abs(r.Echo.Latency-c.want) > 0.001 || r.Echo.Correlation < 0.95 {
					t.Errorf("echo %+v, want latency %v s", *r.Echo, c.want)
				}
				if r.Gaps.Count != 0 {
					t.Errorf("gaps in the echo: %+v", r.Gaps)
				}
			})
		})
	}
}

// What the caller hears is no echo when it is not what they said.
func TestNoEcho(t *testing.T) {
	say, err := pipeline.OpenerText(echoSaid)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCallOpt(t, "noise 3s seed=7 | elks pcm_16000 chunk=20ms", elkstest.Options{Say: say, Duration: 4 * time.Second})
		if r.Echo != nil {
			t.Errorf("echo %+v in a call that plays noise", *r.Echo)
		}
	})
}

// lateTransport delivers every fifth message of caller audio late (with
// once, only the fifth): the jitter of a network or a busy machine.
type lateTransport struct {
	elks.Transport
	late time.Duration
	once bool
	n    int
}

// ReadMessage reads the next message, holding every fifth audio message
// back by late.
func (l *lateTransport) ReadMessage(ctx context.Context) ([]byte, error) {
	b, err := l.Transport.ReadMessage(ctx)
	if err == nil && bytes.HasPrefix(b, []byte(`{"t":"audio"`)) {
		if l.n++; l.n%5 == 0 && (!l.once || l.n == 5) {
			time.Sleep(l.late)
		}
	}
	return b, err
}

// A fixed cushion (cushion-max=0) absorbs caller audio up to 10 ms late:
// no gap in the echo; later than that, the caller hears the rest as a gap.
func TestEchoJitter(t *testing.T) {
	for _, c := range []struct {
		late time.Duration
		gaps bool
	}{{8 * time.Millisecond, false}, {15 * time.Millisecond, true}} {
		t.Run(c.late.String(), func(t *testing.T) {
			say, err := pipeline.OpenerText(echoSaid)
			if err != nil {
				t.Fatal(err)
			}
			wrapApp = func(tr elks.Transport) elks.Transport { return &lateTransport{Transport: tr, late: c.late} }
			defer func() { wrapApp = nil }()
			synctest.Test(t, func(t *testing.T) {
				r, _, _ := ivrCallOpt(t, "caller | elks pcm_16000 chunk=20ms cushion-max=0", elkstest.Options{Say: say, Duration: 4 * time.Second})
				if got := r.Gaps.Count > 0; got != c.gaps {
					t.Errorf("caller audio %v late: gaps %+v", c.late, r.Gaps)
				}
				if r.Echo == nil || r.Echo.Latency > 0.030+c.late.Seconds()+0.001 {
					t.Errorf("echo %+v", r.Echo)
				}
			})
		})
	}
}

// With a fixed cushion (cushion-max=0), a message 40 ms late is a gap the
// caller hears (30 ms: the cushion absorbed 10), and the echo falls 40 ms further behind (the gap and a
// new cushion); leaving out 40 ms of the caller's next pause wins it
// back: the echo of the rest of the call is 30 ms late again.
func TestEchoCatchesUp(t *testing.T) {
	said := "noise 150ms amp=-10dB + silence 1s + " + echoSaid
	say, err := pipeline.OpenerText(said)
	if err != nil {
		t.Fatal(err)
	}
	wrapApp = func(tr elks.Transport) elks.Transport {
		return &lateTransport{Transport: tr, late: 40 * time.Millisecond, once: true}
	}
	defer func() { wrapApp = nil }()
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCallOpt(t, "caller | elks pcm_16000 chunk=20ms cushion-max=0", elkstest.Options{Say: say, Duration: 5 * time.Second})
		if r.Gaps.Count != 1 || math.Abs(r.Gaps.Seconds-0.030) > 0.001 {
			t.Errorf("gaps %+v, want one of 30 ms (40 ms late, less the cushion)", r.Gaps)
		}
		if r.Echo == nil || math.Abs(r.Echo.Latency-0.030) > 0.001 {
			t.Errorf("echo %+v, want 30 ms for most of the call", r.Echo)
		}
		// The caller's 4.1 s and two cushions (20 ms), less the 40 ms
		// of silence that paid back what the late message added (its
		// 30 ms gap and the second cushion).
		if math.Abs(r.Played-4.08) > 0.001 {
			t.Errorf("played %.3f s, want 4.08", r.Played)
		}
	})
}

// A stall of 400 ms (the server starved, the network held the caller's
// messages) delivers a backlog at once: the caller hears a gap, then the
// echo 400 ms late; leaving out the silence of the caller's next pauses
// brings it back to 30 ms (a fixed cushion, cushion-max=0) for the rest
// of the call.
func TestEchoCatchesUpAfterStall(t *testing.T) {
	said := "noise 150ms amp=-10dB + silence 1s + " + echoSaid + " + " + echoSaid
	say, err := pipeline.OpenerText(said)
	if err != nil {
		t.Fatal(err)
	}
	wrapApp = func(tr elks.Transport) elks.Transport {
		return &lateTransport{Transport: tr, late: 400 * time.Millisecond, once: true}
	}
	defer func() { wrapApp = nil }()
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCallOpt(t, "caller | elks pcm_16000 chunk=20ms cushion-max=0", elkstest.Options{Say: say, Duration: 8 * time.Second})
		if r.Gaps.Count != 1 || math.Abs(r.Gaps.Seconds-0.39) > 0.001 {
			t.Errorf("gaps %+v, want one of 390 ms (400 ms late, less the cushion)", r.Gaps)
		}
		// Every window of 2 s after the first (where the echo's delay
		// changes) hears it 30 ms late.
		if r.Echo == nil || r.Echo.Latency != 0.030 || r.Echo.Max != 0.030 || r.Echo.Windows < 3 {
			t.Errorf("echo %+v, want 30 ms in the windows after the stall", r.Echo)
		}
	})
}

// Through a whole call: caller audio 15 ms late every 100 ms leaves one
// short gap (5 ms: the default cushion absorbed 10); the echo's cushion
// then grows to 15 ms and the same jitter leaves no gap for the rest of
// the call, and the echo stays within the latency budget of cushion-max.
func TestEchoCushionAdapts(t *testing.T) {
	say, err := pipeline.OpenerText(echoSaid + " + " + echoSaid)
	if err != nil {
		t.Fatal(err)
	}
	wrapApp = func(tr elks.Transport) elks.Transport {
		return &lateTransport{Transport: tr, late: 15 * time.Millisecond}
	}
	defer func() { wrapApp = nil }()
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCallOpt(t, "caller | elks pcm_16000 chunk=20ms", elkstest.Options{Say: say, Duration: 6 * time.Second})
		if r.Gaps.Count != 1 || r.Gaps.Seconds > 0.0051 {
			t.Errorf("gaps %+v, want one of 5 ms", r.Gaps)
		}
		if r.Echo == nil || r.Echo.Max > 0.020+0.030+0.015+0.001 {
			t.Errorf("echo %+v, want within the fill, cushion-max and the lateness", r.Echo)
		}
	})
}

// slowWrite is the application's end of a connection on which one
// message of audio to the API takes 60 ms: a delay on the way to the API
// (a retransmission, say), which runs the API's buffer dry and makes
// everything after it play later.
type slowWrite struct {
	elks.Transport
	n int
}

func (w *slowWrite) WriteMessage(ctx context.Context, msg []byte) error {
	if bytes.HasPrefix(msg, []byte(`{"t":"audio"`)) {
		if w.n++; w.n == 150 {
			time.Sleep(60 * time.Millisecond)
		}
	}
	return w.Transport.WriteMessage(ctx, msg)
}

// Latency added on the way to the API, which the session's reckoning
// cannot see, shows in the sync replies: the session takes it back in the
// caller's pauses, and the echo is 30 ms behind again (the fill and the
// cushion) for the rest of the call.
func TestEchoWinsBackAPILag(t *testing.T) {
	say, err := pipeline.OpenerText(echoSaid + " + " + echoSaid + " + " + echoSaid)
	if err != nil {
		t.Fatal(err)
	}
	wrapApp = func(tr elks.Transport) elks.Transport { return &slowWrite{Transport: tr} }
	defer func() { wrapApp = nil }()
	synctest.Test(t, func(t *testing.T) {
		r, _, _ := ivrCallOpt(t, "caller | elks pcm_16000 chunk=20ms", elkstest.Options{Say: say, Duration: 9 * time.Second, RTT: 30 * time.Millisecond})
		if r.Gaps.Count != 1 {
			t.Errorf("gaps %+v, want the one of the slow message", r.Gaps)
		}
		if r.Echo == nil || math.Abs(r.Echo.Latency-0.030) > 0.001 || r.Echo.Windows < 4 {
			t.Errorf("echo %+v, want 30 ms in most windows", r.Echo)
		}
	})
}

// cushion-max= and max-lag= reach the session's configuration; 0 keeps
// the cushion fixed and the lag unbounded.
func TestEchoParams(t *testing.T) {
	for _, c := range []struct {
		text            string
		cushionMax, lag time.Duration
	}{
		{"caller | elks", elks.DefaultCushionMax, 0},
		{"caller | elks cushion-max=50ms max-lag=300ms", 50 * time.Millisecond, 300 * time.Millisecond},
		{"caller | elks cushion-max=0 max-lag=0", -1, 0},
	} {
		spec, err := pipeline.Parse(c.text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		_, cfg, err := elks.TestSinkHandler(t.Context(), g.Sink.Sink.(*elks.Sink), g)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.CushionMax != c.cushionMax || cfg.MaxLag != c.lag {
			t.Errorf("%s: cushion-max %v, max-lag %v; want %v, %v", c.text, cfg.CushionMax, cfg.MaxLag, c.cushionMax, c.lag)
		}
	}
	if _, err := pipeline.Parse("caller | elks max-lag=2s"); err == nil {
		t.Error("max-lag=2s accepted, beyond the source's second")
	}
}
