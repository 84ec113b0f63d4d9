package elks_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/promtest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// metricsTone is the audio of every call to the µ-law server of
// TestMetricsOfKnownCalls.
const metricsTone = 1200 * time.Millisecond

// /metrics, read by Prometheus's own text parser, counts a known sequence
// of calls exactly. Two servers share one Metrics: U (µ-law, a token,
// max-calls=1, a 1.2 s tone) and P (pcm_16000, an MP3 file copied for
// the test, so that its first opening misses the shared decoding and the
// next hits it). The sequence: a call on U; while it goes on, one
// request refused as full and one with a wrong token; then a call on U
// and one on P together; then P drains and refuses one more. So: 3
// accepted, 1 refused for each of token, full and draining; 3 calls ended
// by the application; their durations; 2.4 s of µ-law and the MP3's
// length of pcm_16000 sent; one checkpoint round trip per sync answered;
// and no call id or phone number in any label.
func TestMetricsOfKnownCalls(t *testing.T) {
	mp3 := filepath.Join(t.TempDir(), "metrics.mp3")
	data, err := os.ReadFile(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp3, data, 0o644); err != nil {
		t.Fatal(err)
	}
	log, _ := elks.TestLogger()
	m := elks.NewMetrics()
	tone, err := pipeline.SourceGraph("tone 440 dur=" + metricsTone.String())
	if err != nil {
		t.Fatal(err)
	}
	file, err := pipeline.SourceGraph("file " + mp3)
	if err != nil {
		t.Fatal(err)
	}
	u := &elks.Server{Token: "s3cret", MaxCalls: 1, Metrics: m, Logger: log,
		Config: elks.Config{Format: elks.ULaw}, Handler: elks.GraphHandler(tone)}
	p := &elks.Server{Metrics: m, Logger: log,
		Config: elks.Config{Format: elks.PCM16000}, Handler: elks.GraphHandler(file)}
	uAddr, pAddr := serve(t, u), serve(t, p)
	metricsURL := "http://" + uAddr + "/metrics"
	if code, body := get(t, "http://"+uAddr+"/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez: %d %q", code, body)
	}
	if code, body := get(t, "http://"+uAddr+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	before, err := promtest.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"accepted", "token", "full", "draining"} {
		if v, ok := before.Value("elkspipe_calls_total", "result", r); !ok || v != 0 {
			t.Errorf("before any call, elkspipe_calls_total{result=%q} = %v (there: %v), want 0", r, v, ok)
		}
	}
	// The MP3's length, as P decodes it: this opening is the file's
	// first, a miss of the shared decoding.
	mp3Seconds := decodedSeconds(t, mp3, 16000)
	cache0 := sources.MP3Cache()

	var reports []*elkstest.Report
	var mu sync.Mutex
	call := func(url, id string) {
		rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, CallID: id, From: "+46700000042", To: "+46766000042"})
		if err != nil {
			t.Errorf("call %s: %v", id, err)
			return
		}
		if rep.End.By != elks.ByApp {
			t.Errorf("call %s ended %+v, want by the application", id, rep.End)
		}
		mu.Lock()
		reports = append(reports, rep)
		mu.Unlock()
	}
	first := make(chan struct{})
	go func() {
		defer close(first)
		call("ws://"+uAddr+"/?token=s3cret", "metrics-call-1")
	}()
	waitUntil(t, "the first call to start", func() bool { return u.ActiveCalls() == 1 })
	if code, body := get(t, "http://"+uAddr+"/?token=s3cret"); code != http.StatusServiceUnavailable || !strings.Contains(body, "max-calls=1") {
		t.Errorf("a call over max-calls: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+uAddr+"/?token=wrong"); code != http.StatusForbidden {
		t.Errorf("a wrong token: %d", code)
	}
	<-first
	// The server releases the call once its handler has returned, a
	// moment after the simulator saw its bye.
	waitUntil(t, "the first call to end", func() bool { return u.ActiveCalls() == 0 })
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); call("ws://"+uAddr+"/?token=s3cret", "metrics-call-2") }()
	go func() { defer wg.Done(); call("ws://"+pAddr+"/", "metrics-call-3") }()
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, "http://"+pAddr+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("a call while draining: %d", code)
	}

	// A server counts a call's end once its handler has returned.
	var sc promtest.Scrape
	waitUntil(t, "3 ended calls in /metrics", func() bool {
		sc, err = promtest.Get(metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		// The duration is the last of a call's end to be counted.
		v, _ := sc.Value("elkspipe_calls_ended_total", "by", "app", "reason", "done")
		d, _ := sc.Histogram("elkspipe_call_duration_seconds")
		return v == 3 && d.GetSampleCount() == 3
	})
	cache := sources.MP3Cache()

	for name, want := range map[string]dto.MetricType{
		"elkspipe_calls_active":              dto.MetricType_GAUGE,
		"elkspipe_calls_total":               dto.MetricType_COUNTER,
		"elkspipe_calls_ended_total":         dto.MetricType_COUNTER,
		"elkspipe_call_duration_seconds":     dto.MetricType_HISTOGRAM,
		"elkspipe_audio_sent_seconds_total":  dto.MetricType_COUNTER,
		"elkspipe_sync_latency_seconds":      dto.MetricType_HISTOGRAM,
		"elkspipe_send_stalls_total":         dto.MetricType_COUNTER,
		"elkspipe_source_underruns_total":    dto.MetricType_COUNTER,
		"elkspipe_protocol_errors_total":     dto.MetricType_COUNTER,
		"elkspipe_build_info":                dto.MetricType_GAUGE,
		"elkspipe_mp3_cache_bytes":           dto.MetricType_GAUGE,
		"elkspipe_mp3_cache_limit_bytes":     dto.MetricType_GAUGE,
		"elkspipe_mp3_cache_files":           dto.MetricType_GAUGE,
		"elkspipe_mp3_cache_hits_total":      dto.MetricType_COUNTER,
		"elkspipe_mp3_cache_misses_total":    dto.MetricType_COUNTER,
		"elkspipe_mp3_cache_evictions_total": dto.MetricType_COUNTER,
		"go_goroutines":                      dto.MetricType_GAUGE,
		"go_gc_duration_seconds":             dto.MetricType_SUMMARY,
		"go_memstats_heap_alloc_bytes":       dto.MetricType_GAUGE,
		"process_open_fds":                   dto.MetricType_GAUGE,
		"process_cpu_seconds_total":          dto.MetricType_COUNTER,
	} {
		if got, ok := sc.Type(name); !ok || got != want {
			t.Errorf("%s: type %v (there: %v), want %v", name, got, ok, want)
		}
	}
	value := func(want float64, name string, labels ...string) {
		t.Helper()
		if v, ok := sc.Value(name, labels...); !ok || v != want {
			t.Errorf("%s%v = %v (there: %v), want %v", name, labels, v, ok, want)
		}
	}
	value(0, "elkspipe_calls_active")
	value(3, "elkspipe_calls_total", "result", "accepted")
	value(1, "elkspipe_calls_total", "result", "token")
	value(1, "elkspipe_calls_total", "result", "full")
	value(1, "elkspipe_calls_total", "result", "draining")
	if got := sc.Labels("elkspipe_calls_ended_total"); len(got) != 1 || got[0] != "by=app,reason=done" {
		t.Errorf("elkspipe_calls_ended_total series: %v, want by=app,reason=done alone", got)
	}
	value(0, "elkspipe_send_stalls_total")
	value(0, "elkspipe_source_underruns_total")
	for _, k := range []string{"malformed", "unexpected", "no_hello", "no_pong"} {
		value(0, "elkspipe_protocol_errors_total", "kind", k)
	}

	// The durations: two calls of the tone, one of the MP3, each at least
	// its audio (the caller hears it in real time), counted in buckets
	// that reach hours.
	d, ok := sc.Histogram("elkspipe_call_duration_seconds")
	if !ok {
		t.Fatal("no elkspipe_call_duration_seconds histogram")
	}
	least := 2*metricsTone.Seconds() + mp3Seconds
	if d.GetSampleCount() != 3 || d.GetSampleSum() < least-0.05 || d.GetSampleSum() > least+30 {
		t.Errorf("call durations: %d calls, %.3f s in all; want 3, from %.3f s", d.GetSampleCount(), d.GetSampleSum(), least)
	}
	var upper float64
	for _, b := range d.GetBucket() {
		upper = max(upper, b.GetUpperBound())
		if b.GetUpperBound() < metricsTone.Seconds() && b.GetCumulativeCount() > 1 {
			t.Errorf("%d calls of %.0f s or less: only the MP3's (%.2f s) is that short", b.GetCumulativeCount(), b.GetUpperBound(), mp3Seconds)
		}
	}
	if upper < 3600 {
		t.Errorf("the duration buckets end at %v s, not hours", upper)
	}

	ulaw, _ := sc.Value("elkspipe_audio_sent_seconds_total", "format", "ulaw")
	pcm, _ := sc.Value("elkspipe_audio_sent_seconds_total", "format", "pcm_16000")
	if math.Abs(ulaw-2*metricsTone.Seconds()) > 1e-6 || math.Abs(pcm-mp3Seconds) > 0.002 {
		t.Errorf("audio sent: %.4f s ulaw, %.4f s pcm_16000; want %.4f and %.4f", ulaw, pcm, 2*metricsTone.Seconds(), mp3Seconds)
	}

	answered := 0
	for _, r := range reports {
		answered += r.Syncs.Answered
	}
	sl, ok := sc.Histogram("elkspipe_sync_latency_seconds")
	if !ok || sl.GetSampleCount() != uint64(answered) || answered < 3 || sl.GetSampleSum() <= 0 {
		t.Errorf("sync latencies: %d (sum %.3f s), the simulator answered %d syncs", sl.GetSampleCount(), sl.GetSampleSum(), answered)
	}

	if got := sc.Labels("elkspipe_build_info"); len(got) != 1 || !strings.HasPrefix(got[0], "goversion="+runtime.Version()+",version=") || strings.HasSuffix(got[0], "version=") {
		t.Errorf("elkspipe_build_info: %v, want goversion=%s and a version", got, runtime.Version())
	}
	if bi := sc["elkspipe_build_info"].GetMetric(); len(bi) != 1 || bi[0].GetGauge().GetValue() != 1 {
		t.Errorf("elkspipe_build_info: %v, want one series of value 1", bi)
	}

	// The MP3 cache: P's one call found the decoding made by the test's
	// opening (a hit, no new miss); the gauges say what the cache holds.
	m0, _ := before.Value("elkspipe_mp3_cache_misses_total")
	h0, _ := before.Value("elkspipe_mp3_cache_hits_total")
	misses, _ := sc.Value("elkspipe_mp3_cache_misses_total")
	hits, _ := sc.Value("elkspipe_mp3_cache_hits_total")
	if misses-m0 != 1 || hits-h0 != 1 || cache.Misses != cache0.Misses || cache.Hits != cache0.Hits+1 {
		t.Errorf("MP3 cache: %v misses and %v hits during the test, want 1 and 1", misses-m0, hits-h0)
	}
	value(float64(cache.Limit), "elkspipe_mp3_cache_limit_bytes")
	value(float64(cache.Bytes), "elkspipe_mp3_cache_bytes")
	value(float64(cache.Files), "elkspipe_mp3_cache_files")

	// Low cardinality: no call id or phone number in any label.
	for name, f := range sc {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(l.GetValue(), "metrics-call") || strings.Contains(l.GetValue(), "0042") {
					t.Errorf("%s has the label %s=%q: a call's id or number", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// decodedSeconds returns the length of the audio file at path resampled
// to rate, as a call in a format of that rate plays it.
func decodedSeconds(t *testing.T, path string, rate int) float64 {
	t.Helper()
	g, err := pipeline.SourceGraph("file " + path)
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := g.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	f := src.Format()
	samples, err := audiotest.ReadAll(src, 4096)
	if err != nil {
		t.Fatal(err)
	}
	frames := len(samples) / f.Channels
	return math.Round(float64(frames)*float64(rate)/float64(f.Rate)) / float64(rate)
}

// waitUntil polls cond until it holds, for up to 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
