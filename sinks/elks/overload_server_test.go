package elks_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/promtest"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// An overloaded server refuses new calls with 503 before the upgrade,
// says so on /readyz, /healthz and in its metrics and log, and takes
// calls again once its lag has stayed low for the recovery time.
func TestServerRefusesCallsWhileOverloaded(t *testing.T) {
	log, logs := elks.TestLogger()
	h, err := elks.TextHandler("tone 440 dur=300ms")
	if err != nil {
		t.Fatal(err)
	}
	srv := &elks.Server{OverloadLag: 100 * time.Millisecond, Metrics: elks.NewMetrics(), Logger: log, Handler: h}
	ts := httptest.NewServer(srv) // no Serve: the lag is only what the test feeds
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	ms := time.Millisecond
	t0 := time.Now()
	call := func() (*elkstest.Report, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return elkstest.Call(ctx, elkstest.Options{URL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/", Duration: 5 * time.Second})
	}

	elks.ObserveLagForTest(srv, t0, 60*ms)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz below the threshold: %d %q", code, body)
	}

	elks.ObserveLagForTest(srv, t0.Add(100*ms), 250*ms)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable || body != "overloaded (scheduling lag 250ms, overload-lag=100ms)\n" {
		t.Errorf("/readyz overloaded: %d %q", code, body)
	}
	if code, body := get(t, ts.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"overloaded":true,"lag_seconds":0.25`) {
		t.Errorf("/healthz overloaded: %d %q", code, body)
	}
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("a request while overloaded: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	if _, err := call(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a call while overloaded: %v", err)
	}
	if srv.ActiveCalls() != 0 {
		t.Errorf("%d calls active", srv.ActiveCalls())
	}
	scrape := scrapeMetrics(t, srv)
	for series, want := range map[string]float64{
		`elkspipe_calls_total{result="overloaded"}`: 2,
		`elkspipe_calls_total{result="accepted"}`:   0,
		`elkspipe_overloaded`:                       1,
		`elkspipe_scheduling_lag_seconds`:           0.25,
	} {
		if got := metricValue(scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, want := range []string{
		`msg="overloaded: refusing new calls until the lag recovers (503, /readyz 503)" lag=250ms overload_lag=100ms calls=0`,
		`msg="call refused: overloaded: the server's scheduling lag reached 250ms (overload-lag=100ms, Server.OverloadLag)`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}

	// Calm, but not for long enough; then a lag above half the
	// threshold starts the calm over.
	elks.ObserveLagForTest(srv, t0.Add(200*ms), 20*ms)
	elks.ObserveLagForTest(srv, t0.Add(1100*ms), 20*ms)
	elks.ObserveLagForTest(srv, t0.Add(1150*ms), 60*ms)
	elks.ObserveLagForTest(srv, t0.Add(1250*ms), 20*ms)
	elks.ObserveLagForTest(srv, t0.Add(2200*ms), 20*ms)
	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the recovery: %d", code)
	}
	elks.ObserveLagForTest(srv, t0.Add(2250*ms), 20*ms)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the recovery: %d %q", code, body)
	}
	if !strings.Contains(logs.String(), `msg="recovered from overload: accepting calls again" lag=20ms peak_lag=250ms overloaded_for=2.15s refused=2 calls=0 brief=false`) {
		t.Errorf("the recovery is not logged:\n%s", logs.String())
	}
	r, err := call()
	if err != nil {
		t.Fatalf("a call after the recovery: %v", err)
	}
	if r.End.By != elks.ByApp || r.Played < 0.29 || r.Gaps.Count != 0 {
		t.Errorf("the call after the recovery: ended by %s, played %.3fs, %d gaps", r.End.By, r.Played, r.Gaps.Count)
	}
	scrape = scrapeMetrics(t, srv)
	if got := metricValue(scrape, `elkspipe_overloaded`); got != 0 {
		t.Errorf("elkspipe_overloaded = %v after the recovery", got)
	}
	if got := metricValue(scrape, `elkspipe_calls_total{result="accepted"}`); got != 1 {
		t.Errorf("accepted = %v after the recovery", got)
	}
}

// With OverloadLag negative, no lag refuses a call.
func TestServerOverloadLagOff(t *testing.T) {
	h, _ := elks.TextHandler("tone 440 dur=100ms")
	log, _ := elks.TestLogger()
	srv := &elks.Server{OverloadLag: -1, Metrics: elks.NewMetrics(), Logger: log, Handler: h}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	elks.ObserveLagForTest(srv, time.Now(), time.Minute)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with overload protection off: %d %q", code, body)
	}
	if got := metricValue(scrapeMetrics(t, srv), `elkspipe_scheduling_lag_seconds`); got != 60 {
		t.Errorf("the lag is not measured with the protection off: %v", got)
	}
}

// scrapeMetrics returns the text of srv's metrics.
func scrapeMetrics(t *testing.T, srv *elks.Server) string {
	t.Helper()
	w := httptest.NewRecorder()
	srv.Metrics.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

// A connection upgraded before the overload whose hello comes during it
// does not become a call: the server hangs up on it with a bye.
func TestServerRefusesAtHelloWhileOverloaded(t *testing.T) {
	log, logs := elks.TestLogger()
	h, _ := elks.TextHandler("tone 440 dur=100ms")
	srv := &elks.Server{Metrics: elks.NewMetrics(), Logger: log, Handler: h}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	elks.ObserveLagForTest(srv, time.Now(), time.Second) // past DefaultOverloadLag
	hello, _ := elks.Marshal(elks.Hello{CallID: "c1", From: "+46700000000", To: "+46766000000"})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no bye before the connection ended: %v", err)
		}
		m, err := elks.Unmarshal(b)
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if _, ok := m.(elks.Bye); ok {
			break
		}
		if _, ok := m.(elks.Audio); ok {
			t.Fatal("the overloaded server played audio into the call")
		}
	}
	if got := metricValue(scrapeMetrics(t, srv), `elkspipe_calls_total{result="overloaded"}`); got != 1 {
		t.Errorf("refusals at hello counted: %v", got)
	}
	if !strings.Contains(logs.String(), "(at its hello)") || srv.ActiveCalls() != 0 {
		t.Errorf("%d calls; log:\n%s", srv.ActiveCalls(), logs.String())
	}
}

// metricValue returns the value of series (`name` or `name{label="value",...}`)
// in the exposition text body, read by Prometheus's parser (promtest), or
// NaN when it is not there.
func metricValue(body, series string) float64 {
	scrape, err := promtest.Parse(strings.NewReader(body))
	if err != nil {
		return math.NaN()
	}
	name, rest, _ := strings.Cut(series, "{")
	var labels []string
	for _, pair := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		if k, v, ok := strings.Cut(pair, "="); ok {
			labels = append(labels, k, strings.Trim(v, `"`))
		}
	}
	v, ok := scrape.Value(name, labels...)
	if !ok {
		return math.NaN()
	}
	return v
}
