package elks_test

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of the series named (with its labels)
// in a scrape, or NaN.
func metricValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return math.NaN()
}

// serve runs srv on 127.0.0.1 until the test ends and returns its
// address.
func serve(t *testing.T, srv *elks.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// A call played to its end shows in the metrics: accepted, ended by the
// application, its audio and its checkpoints' round trips; refusals count
// by result, and the probes answer.
func TestMetricsOfACall(t *testing.T) {
	log, _ := elks.TestLogger()
	g, err := pipeline.SourceGraph("tone 440 dur=1s")
	if err != nil {
		t.Fatal(err)
	}
	srv := &elks.Server{Token: "s3cret", MaxCalls: 1, Metrics: elks.NewMetrics(), Logger: log,
		Config: elks.Config{Format: elks.ULaw}, Handler: elks.GraphHandler(g)}
	addr := serve(t, srv)
	if code, body := get(t, "http://"+addr+"/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez: %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: "ws://" + addr + "/?token=s3cret", Speed: 10})
	if err != nil || rep.End.By != "app" {
		t.Fatalf("call: %v, %+v", err, rep)
	}
	if code, _ := get(t, "http://"+addr+"/?token=wrong"); code != http.StatusForbidden {
		t.Errorf("a wrong token got %d", code)
	}
	// The server counts the end once its handler has returned.
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for {
		_, body = get(t, "http://"+addr+"/metrics")
		if strings.Contains(body, `elkspipe_calls_ended_total{by="app",reason="done"} 1`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		"elkspipe_calls_active 0",
		`elkspipe_calls_total{result="accepted"} 1`,
		`elkspipe_calls_total{result="token"} 1`,
		`elkspipe_calls_total{result="full"} 0`,
		`elkspipe_calls_ended_total{by="app",reason="done"} 1`,
		"elkspipe_call_duration_seconds_count 1",
		"elkspipe_sync_latency_seconds_count 2",
		"elkspipe_source_underruns_total 0",
		`elkspipe_protocol_errors_total{kind="malformed"} 0`,
		`elkspipe_build_info{goversion="go`,
		"go_goroutines ",
		"elkspipe_mp3_cache_hits_total ",
		"elkspipe_mp3_cache_limit_bytes 6.7108864e+07",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if v := metricValue(body, `elkspipe_audio_sent_seconds_total{format="ulaw"}`); math.Abs(v-1) > 1e-6 {
		t.Errorf("audio sent: %v s, want 1", v)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// At max-calls, /readyz says 503 so that a balancer sends calls
// elsewhere, and a refused call counts as full; with MetricsAddr the
// metrics and probes have a listener of their own, not the calls'.
func TestReadyzAtMaxCallsAndMetricsAddr(t *testing.T) {
	log, _ := elks.TestLogger()
	g, err := pipeline.SourceGraph("tone 440")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := mln.Addr().String()
	mln.Close()
	srv := &elks.Server{MaxCalls: 1, Metrics: elks.NewMetrics(), MetricsAddr: maddr, Logger: log, Handler: elks.GraphHandler(g)}
	addr := serve(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		elkstest.Call(ctx, elkstest.Options{URL: "ws://" + addr + "/"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for srv.ActiveCalls() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := get(t, "http://"+maddr+"/readyz"); code != http.StatusServiceUnavailable || body != "full (max-calls=1)\n" {
		t.Errorf("/readyz at max-calls: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("a call over max-calls got %d", code)
	}
	if code, _ := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the calls' listener with MetricsAddr set: %d", code)
	}
	if _, body := get(t, "http://"+maddr+"/metrics"); !strings.Contains(body, `elkspipe_calls_total{result="full"} 1`) {
		t.Errorf("the refusal is not counted:\n%s", body)
	}
	cancel()
	<-done
}

// The probe endpoints cannot be the calls' path.
func TestProbePathsReserved(t *testing.T) {
	for _, p := range []string{"/livez", "/readyz", "/metrics", "/healthz"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &elks.Server{Path: p, Handler: func(context.Context, *elks.Session) error { return nil }}
		if err := srv.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "probe endpoint") {
			t.Errorf("Path %s: %v", p, err)
		}
	}
}
