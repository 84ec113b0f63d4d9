package elks_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/promtest"
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

// serve runs srv on 127.0.0.1 until the test ends and returns its
// address.
//
// A server whose test sets no OverloadLag has the overload protection
// off: a test machine busy with other packages' tests can lag past the
// default threshold for a moment and refuse a call the test makes (a
// CI run did), and only the overload tests are about that.
func serve(t *testing.T, srv *elks.Server) string {
	t.Helper()
	if srv.OverloadLag == 0 {
		srv.OverloadLag = -1
	}
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
	sc, err := promtest.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sc.Value("elkspipe_calls_total", "result", "full"); v != 1 {
		t.Errorf("elkspipe_calls_total{result=full} = %v, want 1", v)
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
