package elks_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/promtest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

// /metrics reports each live stream the process plays, by its URL with
// no user, password or query in the label: its listeners, whether it is
// up, its connections, bytes, failed attempts and outage.
func TestMetricsLiveStreams(t *testing.T) {
	radio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "no source", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		audiotest.ServeLiveWAV(w, r, pipeline.Format{Rate: 8000, Channels: 1}, 0.125, 0)
	}))
	t.Cleanup(radio.Close) // after the streams' Close (cleanups run last first)
	host := strings.TrimPrefix(radio.URL, "http://")
	up := "http://zorro:hunter2@" + host + "/metrics-radio?token=s3cret"
	down := "http://" + host + "/down"

	open := func(u string) pipeline.Source {
		src, err := sources.Stream(u)(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		t.Cleanup(func() { pipeline.Close(src) })
		p := make([]float32, 800)
		for range 5 {
			if _, err := src.Read(p); err != nil {
				t.Fatal(err)
			}
		}
		return src
	}
	open(up)
	open(down)

	m := elks.NewMetrics()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, secret := range []string{"hunter2", "s3cret", "zorro"} {
		if strings.Contains(string(page), secret) {
			t.Errorf("/metrics shows %q of a stream's URL", secret)
		}
	}
	sc, err := promtest.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	upLabel := "http://" + host + "/metrics-radio"
	for name, want := range map[string]float64{
		"elkspipe_stream_listeners":         1,
		"elkspipe_stream_up":                1,
		"elkspipe_stream_connections_total": 1,
		"elkspipe_stream_drops_total":       0,
	} {
		if v, ok := sc.Value(name, "stream", upLabel); !ok || v != want {
			t.Errorf("%s{stream=%q} = %v (%v), want %v; series %v", name, upLabel, v, ok, want, sc.Labels(name))
		}
	}
	if v, _ := sc.Value("elkspipe_stream_received_bytes_total", "stream", upLabel); v < 44 {
		t.Errorf("received bytes %v, want the header and more", v)
	}
	if v, ok := sc.Value("elkspipe_stream_up", "stream", down); !ok || v != 0 {
		t.Errorf("the stream that is down: up = %v (%v)", v, ok)
	}
	if v, _ := sc.Value("elkspipe_stream_failed_attempts_total", "stream", down); v < 1 {
		t.Errorf("the stream that is down: %v failed attempts", v)
	}
	if v, _ := sc.Value("elkspipe_stream_outage_seconds_total", "stream", down); v <= 0 {
		t.Errorf("the stream that is down: outage %v s", v)
	}
	if v, _ := sc.Value("elkspipe_stream_silence_seconds_total", "stream", down); v <= 0 {
		t.Errorf("the stream that is down: silence %v s given to its listener", v)
	}
	if typ, ok := sc.Type("elkspipe_stream_outage_seconds_total"); !ok || typ.String() != "COUNTER" {
		t.Errorf("outage type %v", typ)
	}
}
