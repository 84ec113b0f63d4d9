package live_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A stream down at its first opening: Open fails with an error that may
// pass; OpenDown plays silence in the format it is given while the stream
// is retried, then the stream's audio converted to that format, with the
// outage counted and logged; once its listeners have left, the next
// opening plays the stream's own format.
func TestStreamOpenDown(t *testing.T) {
	st, srv := newStation(t, func(n int64) (int, time.Duration) {
		if n <= 3 {
			return http.StatusNotFound, 0 // an Icecast mount without its source
		}
		return http.StatusOK, 0
	})
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	_, err := s.Open(context.Background(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") || !live.Passing(err) {
		t.Fatalf("the first opening: %v (passing: %v), want a 404 that may pass", err, live.Passing(err))
	}
	want := pipeline.Format{Rate: 16000, Channels: 1}
	l := s.OpenDown(context.Background(), srv.URL, want)
	if f := l.Format(); f != want {
		t.Fatalf("format %v, want %v", f, want)
	}
	got := readFor(t, l, 1500*time.Millisecond)
	if len(got) == 0 || got[0] != 0 {
		t.Fatalf("the outage does not start with silence: %d samples", len(got))
	}
	audible := 0
	for _, v := range got {
		if v != 0 {
			audible++
		}
	}
	if audible < 4000 {
		t.Errorf("%d samples of audio after the outage, want the stream once it was up", audible)
	}
	stats := s.Stats(srv.URL)
	if stats.Failures < 1 || stats.Connections != 1 || !stats.Connected || stats.Outage <= 0 || stats.Bytes == 0 || stats.Listeners != 1 {
		t.Errorf("stats %+v", stats)
	}
	if logs := log.String(); !strings.Contains(logs, "live stream unreachable") || !strings.Contains(logs, "live stream reconnected") {
		t.Errorf("the log does not tell the outage:\n%s", log.String())
	}
	l.Close()
	for deadline := time.Now().Add(5 * time.Second); st.open.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // the linger
	}
	again, err := s.Open(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if f := again.Format(); f != (pipeline.Format{Rate: stationRate, Channels: 1}) {
		t.Errorf("the next connection plays %v, want the stream's own format", f)
	}
}

// Which errors of a first opening may pass.
func TestPassing(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>radio</body></html>"))
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	for path, passing := range map[string]bool{"/page": false, "/down": true, "/empty": true} {
		_, err := s.Open(context.Background(), srv.URL+path)
		if err == nil || live.Passing(err) != passing {
			t.Errorf("%s: %v, passing %v, want %v", path, err, live.Passing(err), passing)
		}
	}
	if live.Passing(nil) || !live.Passing(errors.New("connection refused")) {
		t.Error("Passing of nil or of a plain error")
	}
}
