package sources

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A stream that is down when it is first opened (an Icecast mount whose
// source has not connected answers 404; a server not started refuses the
// connection) plays silence at once, in real time, while it is retried,
// and its audio when it comes up; so does a radio playlist whose entries
// are down. A stream whose content is no audio still fails at once.
func TestStreamDownAtStart(t *testing.T) {
	radio := liveWAV(t)
	var up atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, radio.URL+"/radio", http.StatusFound)
	})
	mux.HandleFunc("/listen.m3u", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("gone.mp3\nftp://x/y.mp3\n"))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>not the radio</body></html>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	SetCacheDir(t.TempDir())
	defer SetCacheDir(media.DefaultCacheDir())

	start := time.Now()
	src, err := Stream(srv.URL + "/hold")(context.Background())
	if err != nil {
		t.Fatalf("a stream down at the start: %v", err)
	}
	defer pipeline.Close(src)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("opening a stream that is down took %v", d)
	}
	if f := src.Format(); f != streamDownFormat {
		t.Errorf("format %v, want %v", f, streamDownFormat)
	}
	p := make([]float32, 2*441)
	var frames int
	began := time.Now()
	for frames < 3*44100/2 { // 1.5 s
		n, err := src.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p[:2*n] {
			if v != 0 {
				t.Fatalf("heard %v while the stream was down", v)
			}
		}
		frames += n
	}
	if d := time.Since(began); d < 800*time.Millisecond { // 1.5 s less a lead of 0.4 s, and some slack
		t.Errorf("1.5 s of silence came in %v: not paced in real time", d)
	}
	up.Store(true)
	heard := 0
	for deadline := time.Now().Add(20 * time.Second); heard < 4410 && time.Now().Before(deadline); {
		n, err := src.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p[:2*n] {
			if v > 0.24 && v < 0.26 {
				heard++
			}
		}
	}
	if heard < 4410 {
		t.Fatalf("heard %d samples of the stream once it was up", heard)
	}
	st := StreamCounters(srv.URL + "/hold")
	if st.Failures < 1 || st.Connections != 1 || !st.Connected || st.Outage < 400*time.Millisecond || st.Bytes == 0 || st.Listeners != 1 {
		t.Errorf("counters %+v: want a failure, an outage, then one connection", st)
	}

	list, err := Stream(srv.URL + "/listen.m3u")(context.Background())
	if err != nil {
		t.Fatalf("a radio playlist whose entries are down: %v", err)
	}
	pipeline.Close(list)

	_, err = Stream(srv.URL + "/page.html")(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a WAV, MP3 or FLAC file") {
		t.Errorf("a page that is no audio: %v", err)
	}
}
