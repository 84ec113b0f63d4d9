package elks_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/promtest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// lateSource plays 8 kHz silence: 200 ms at once, then nothing for
// 600 ms (a source that cannot keep up with real time), then 200 ms more.
type lateSource struct {
	frames int
	waited bool
}

func (s *lateSource) Format() pipeline.Format { return pipeline.Format{Rate: 8000, Channels: 1} }

func (s *lateSource) Read(p []float32) (int, error) {
	if s.frames >= 3200 {
		return 0, io.EOF
	}
	if s.frames >= 1600 && !s.waited {
		time.Sleep(600 * time.Millisecond)
		s.waited = true
	}
	n := min(len(p), 1600-s.frames%1600)
	clear(p[:n])
	s.frames += n
	return n, nil
}

// The counters of trouble count it, from /metrics read by Prometheus's
// parser: a call whose window makes it wait (a stall), a source that
// falls behind real time (an underrun), a peer that sends a malformed
// message and one of an unknown type, a connection that sends no hello,
// and a peer that stops answering pings (a dropped call).
func TestMetricsCountTroubles(t *testing.T) {
	log, logs := elks.TestLogger()
	m := elks.NewMetrics()
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	}()
	srv := &elks.Server{Metrics: m, Logger: log,
		Config: elks.Config{Format: elks.ULaw, Window: 300 * time.Millisecond, Checkpoint: 100 * time.Millisecond,
			HelloTimeout: 300 * time.Millisecond, Ping: 300 * time.Millisecond},
		Handler: func(ctx context.Context, s *elks.Session) error {
			switch s.Hello().To {
			case "+1stall": // 2 s of tone through a 300 ms window
				g, err := pipeline.SourceGraph("tone 440 dur=2s")
				if err != nil {
					return err
				}
				return s.PlayGraph(ctx, g)
			case "+2late":
				return s.Play(ctx, &lateSource{})
			}
			<-s.Done() // the raw peers: until they go
			return nil
		}}
	addr := serve(t, srv)
	url := "ws://" + addr + "/"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, to := range []string{"+1stall", "+2late"} {
		rep, err := elkstest.Call(ctx, elkstest.Options{URL: url, To: to, Speed: 4})
		if err != nil || rep.End.By != elks.ByApp {
			t.Fatalf("call to %s: %v %+v", to, err, rep)
		}
	}
	dial := func() *websocket.Conn {
		t.Helper()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hello := `{"t":"hello","callid":"trouble","from":"+46700000001","to":"+46700000002"}`

	// Garbage, then a message of an unknown type, then the API's bye.
	c := dial()
	for _, msg := range []string{hello, `{"t":`, `{"t":"surprise"}`, `{"t":"bye","reason":"hangup","message":"done"}`} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	c.CloseRead(ctx) // reads (and so answers pings) until the server closes
	// No hello at all: dropped at the hello timeout.
	silent := dial()
	defer silent.CloseNow()
	// A hello, then no reading: the pings go unanswered.
	deaf := dial()
	defer deaf.CloseNow()
	if err := deaf.Write(ctx, websocket.MessageText, []byte(hello)); err != nil {
		t.Fatal(err)
	}

	var sc promtest.Scrape
	waitUntil(t, "every trouble counted", func() bool {
		var err error
		sc, err = promtest.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"malformed", "unexpected", "no_hello", "no_pong"} {
			if v, _ := sc.Value("elkspipe_protocol_errors_total", "kind", k); v == 0 {
				return false
			}
		}
		// The four calls (the deaf one too) have ended. (A scrape is not
		// atomic: the gauge of active calls may come down in it before
		// the counter of ended calls goes up.)
		var ended float64
		for _, m := range sc["elkspipe_calls_ended_total"].GetMetric() {
			ended += m.GetCounter().GetValue()
		}
		return ended == 4
	})
	for _, k := range []string{"malformed", "unexpected", "no_hello", "no_pong"} {
		if v, _ := sc.Value("elkspipe_protocol_errors_total", "kind", k); v != 1 {
			t.Errorf("elkspipe_protocol_errors_total{kind=%q} = %v, want 1", k, v)
		}
	}
	if v, _ := sc.Value("elkspipe_send_stalls_total"); v < 1 {
		t.Errorf("elkspipe_send_stalls_total = %v: 2 s through a 300 ms window never waited", v)
	}
	if v, _ := sc.Value("elkspipe_source_underruns_total"); v != 1 {
		t.Errorf("elkspipe_source_underruns_total = %v, want 1 (the late source)", v)
	}
	want := map[string]float64{"by=app,reason=done": 2, "by=api,reason=hangup": 1, "by=dropped,reason=hangup": 1} // a drop counts as a hangup (protocol.md)
	for _, l := range sc.Labels("elkspipe_calls_ended_total") {
		kv := strings.Split(l, ",")
		by, reason := strings.TrimPrefix(kv[0], "by="), strings.TrimPrefix(kv[1], "reason=")
		if v, _ := sc.Value("elkspipe_calls_ended_total", "by", by, "reason", reason); v != want[l] {
			t.Errorf("elkspipe_calls_ended_total{%s} = %v, want %v", l, v, want[l])
		}
		delete(want, l)
	}
	if len(want) > 0 {
		t.Errorf("no elkspipe_calls_ended_total series for %v; series: %v; accepted %v", want, sc.Labels("elkspipe_calls_ended_total"), func() float64 { v, _ := sc.Value("elkspipe_calls_total", "result", "accepted"); return v }())
	}
}
