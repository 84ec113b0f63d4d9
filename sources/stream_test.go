package sources

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

// liveWAV is a live stream: an endless 8 kHz mono WAV of 0.25, sent in
// real time with Icecast's headers until the client leaves.
func liveWAV(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Server", "Icecast 2.4.4")
		w.Header().Set("icy-name", "Test FM")
		audiotest.ServeLiveWAV(w, r, pipeline.Format{Rate: 8000, Channels: 1}, 0.25, 0)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStreamElement(t *testing.T) {
	srv := liveWAV(t)
	spec, err := pipeline.Parse("stream " + srv.URL + "/live")
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if !g.Live() {
		t.Error("Graph.Live is false for a stream")
	}
	if e := g.Extent(); e != pipeline.ExtentEndless {
		t.Errorf("extent %v, want endless", e)
	}
	src, err := g.Sources[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if ls, ok := src.(pipeline.LiveSource); !ok || !ls.Live() {
		t.Error("the stream's source is not a LiveSource")
	}
	if f := pipeline.FramesOf(src); f != -1 {
		t.Errorf("Frames = %d, want -1", f)
	}
	p := make([]float32, 800)
	var heard int
	deadline := time.Now().Add(5 * time.Second)
	for heard < 800 && time.Now().Before(deadline) {
		n, err := src.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p[:n] {
			if v > 0.24 && v < 0.26 {
				heard++
			}
		}
	}
	if heard < 800 {
		t.Fatalf("heard %d frames of the stream's 0.25 in 5 s", heard)
	}
	if st := StreamCounters(srv.URL + "/live"); st.Listeners != 1 || st.Connections != 1 {
		t.Errorf("counters %+v, want 1 listener and 1 connection", st)
	}
}

func TestStreamElementRefusesOtherSchemes(t *testing.T) {
	spec, err := pipeline.Parse("stream ftp://radio.example/x.mp3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Graph(); err == nil || !strings.Contains(err.Error(), "ftp URLs are not supported") {
		t.Fatalf("err = %v", err)
	}
}

func TestFileRefusesLiveStream(t *testing.T) {
	srv := liveWAV(t)
	SetCacheDir(t.TempDir())
	defer SetCacheDir(media.DefaultCacheDir())
	start := time.Now()
	_, err := File(srv.URL + "/live")(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is a live stream") || !strings.Contains(err.Error(), "stream URL") {
		t.Fatalf("err = %v, want a pointer to the stream element", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("refusing took %v", time.Since(start))
	}
}

// A stream joined in the middle of an MP3 frame (where an Icecast
// server's burst of recent audio may start) plays from its first whole
// frames, without waiting for 64 KiB of it to recognise it.
func TestStreamJoinedMidFrame(t *testing.T) {
	ffmpeg := audiotest.NeedTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "radio.mp3")
	audiotest.Run(t, ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=30",
		"-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b = b[1001:] // inside a frame
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		for off := 0; off < len(b); off += 400 { // 4000 bytes a second: 32 kb/s
			if _, err := w.Write(b[off:min(off+400, len(b))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()
	start := time.Now()
	src, err := Stream(srv.URL + "/radio.mp3")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the stream took %v to start: 64 KiB come after 16 s, its first frames at once", d)
	}
	if f := src.Format(); f.Rate != 16000 || f.Channels != 1 {
		t.Errorf("format %v", f)
	}
	var x []float32
	p := make([]float32, 1600)
	for len(x) < 16000 {
		n, err := src.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, p[:n]...)
	}
	tail := audiotest.Channel(x[8000:], 1, 0)
	if f := audiotest.Frequency(tail, 16000, 100, 2000); f < 438 || f > 442 {
		t.Errorf("the stream plays %.1f Hz, want 440", f)
	}
}

// A radio's PLS or M3U link plays its first entry that plays, entries
// resolved against the list's URL.
func TestStreamFromPlaylistURL(t *testing.T) {
	live := liveWAV(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/listen.pls", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("[playlist]\nNumberOfEntries=2\nFile1=gone.mp3\nFile2=" + live.URL + "/radio\n"))
	})
	mux.HandleFunc("/dead.m3u", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("page.html\nftp://x/y.mp3\n"))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>not the radio</body></html>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	SetCacheDir(t.TempDir())
	defer SetCacheDir(media.DefaultCacheDir())
	src, err := Stream(srv.URL + "/listen.pls")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	p := make([]float32, 800)
	heard := 0
	for deadline := time.Now().Add(5 * time.Second); heard < 800 && time.Now().Before(deadline); {
		n, err := src.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p[:n] {
			if v > 0.24 && v < 0.26 {
				heard++
			}
		}
	}
	if heard < 800 {
		t.Errorf("heard %d frames of the stream", heard)
	}
	_, err = Stream(srv.URL + "/dead.m3u")(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no entry of the playlist plays") ||
		!strings.Contains(err.Error(), "/page.html\": not a WAV, MP3 or FLAC file") || !strings.Contains(err.Error(), "is a ftp URL") {
		t.Errorf("a list of dead entries: %v", err)
	}
}
