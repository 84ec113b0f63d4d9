package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/transforms" // the format converters
)

// A stream that comes back from an outage in another format is converted
// to the format its listeners have.
func TestStreamFormatChangeIsConverted(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := pipeline.Format{Rate: 8000, Channels: 1}
		dur := 400 * time.Millisecond
		if n.Add(1) > 1 {
			f, dur = pipeline.Format{Rate: 16000, Channels: 2}, 10*time.Second
		}
		audiotest.ServeLiveWAV(w, r, f, 0.5, dur)
	}))
	defer srv.Close()
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	l, err := s.Open(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := readFor(t, l, 3*time.Second) // 0.4 s, the outage, a second of refill, then on
	if f := l.Format(); f != (pipeline.Format{Rate: 8000, Channels: 1}) {
		t.Fatalf("format %v, want the first connection's 8000 Hz mono", f)
	}
	if n.Load() != 2 {
		t.Fatalf("%d connections, want 2", n.Load())
	}
	tail := got[len(got)-2000:]
	for i, v := range tail {
		if v < 0.45 || v > 0.55 {
			t.Fatalf("sample %d of the last 2000 is %v: the converted stream should be 0.5", i, v)
		}
	}
}
