package elks_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// The passthrough formats send the bytes of http(s) URLs as of files:
// given to file, and listed in a playlist fetched by URL (relative
// entries resolved against it); each URL is downloaded once.
func TestPassthroughURLs(t *testing.T) {
	dir := t.TempDir()
	path := writeWAV(t, dir, "hold.wav", 16000, 1, 700*time.Millisecond)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "list.m3u"), []byte("#EXTM3U\nhold.wav\n"), 0o644)
	var downloads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold.wav" {
			downloads.Add(1)
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	}))
	defer srv.Close()
	sources.SetCacheDir(t.TempDir())
	defer sources.SetCacheDir(media.DefaultCacheDir())
	for _, chain := range []string{
		"file " + srv.URL + "/hold.wav | loop 2",
		"playlist " + srv.URL + "/list.m3u",
	} {
		c := startSim(t, elks.Config{Format: elks.WAV}, elkstest.Options{Speed: 10})
		if err := c.play(t, chain); err != nil {
			t.Fatalf("%s: %v", chain, err)
		}
		c.report()
		files := c.tap.files()
		if len(files) == 0 {
			t.Fatalf("%s: nothing sent", chain)
		}
		for i, f := range files {
			if !bytes.Equal(f, file) {
				t.Errorf("%s: file %d: %d bytes differ from the URL's %d", chain, i+1, len(f), len(file))
			}
		}
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("%d downloads of hold.wav, want 1", n)
	}
	c := startSim(t, elks.Config{Format: elks.WAV}, elkstest.Options{Speed: 10})
	err = c.play(t, "file "+srv.URL+"/gone.wav")
	c.report()
	if err == nil || err.Error() != `file "`+srv.URL+`/gone.wav": HTTP 404 Not Found` {
		t.Errorf("a 404: %v", err)
	}
}
