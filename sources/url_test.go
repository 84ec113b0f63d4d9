package sources

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

// urlOrigin is a real HTTP server of the files under a folder, with the
// headers of hdr, answering If-None-Match "v1" with 304, and counting the
// requests and full downloads.
type urlOrigin struct {
	*httptest.Server
	root      string
	requests  atomic.Int64
	downloads atomic.Int64
}

// newURLOrigin starts a urlOrigin of testdata and points the download
// cache at a new folder for the test.
func newURLOrigin(t *testing.T, hdr http.Header) *urlOrigin {
	t.Helper()
	SetCacheDir(t.TempDir())
	t.Cleanup(func() { SetCacheDir(media.DefaultCacheDir()) })
	o := &urlOrigin{root: "testdata"}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		b, err := os.ReadFile(filepath.Join(o.root, filepath.FromSlash(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		o.downloads.Add(1)
		w.Write(b)
	}))
	t.Cleanup(o.Close)
	return o
}

// urlFrames plays what open opens to its end and returns the frames.
func urlFrames(t *testing.T, open pipeline.Opener) (int, error) {
	t.Helper()
	src, err := open(context.Background())
	if err != nil {
		return 0, err
	}
	defer pipeline.Close(src)
	got, err := audiotest.ReadAll(src, 256)
	return len(got) / src.Format().Channels, err
}

// Each format plays from a URL as from the file, recognised by content.
func TestFileURLFormats(t *testing.T) {
	o := newURLOrigin(t, nil)
	for _, name := range []string{"wav/f32.wav", "mp3/sine44m.mp3", "flac/s16-mono-8k.flac", "flac/s24-stereo-96k.flac"} {
		want, err := urlFrames(t, File(filepath.Join("testdata", filepath.FromSlash(name))))
		if err != nil || want == 0 {
			t.Fatalf("%s from disk: %d frames, %v", name, want, err)
		}
		got, err := urlFrames(t, File(o.URL+"/"+name))
		if err != nil || got != want {
			t.Errorf("%s by URL: %d frames, %v; want %d", name, got, err, want)
		}
	}
}

// HTTP errors name the URL (in the stage label) and the status.
func TestFileURLErrors(t *testing.T) {
	o := newURLOrigin(t, nil)
	u := o.URL + "/mp3/missing.mp3"
	_, err, _ := playText(t, "file "+u)
	if want := "file " + strconv.Quote(u) + ": HTTP 404 Not Found"; err == nil || err.Error() != want {
		t.Errorf("404: %v, want %s", err, want)
	}
	// A web page where audio was expected says what it starts with.
	o.root = t.TempDir()
	os.WriteFile(filepath.Join(o.root, "hold.mp3"), []byte("<!DOCTYPE html><html>Sign in</html>"), 0o644)
	u = o.URL + "/hold.mp3"
	_, err, _ = playText(t, "file "+u)
	if want := "file " + strconv.Quote(u) + `: not a WAV, MP3 or FLAC file (it starts with "<!DOCTYPE ht")`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("HTML: %v, want %s...", err, want)
	}
}

// A looped URL is fetched once, and its MP3 decoding is shared: the
// openings of a fresh copy make no request.
func TestFileURLLoopFetchesOnce(t *testing.T) {
	o := newURLOrigin(t, http.Header{"Cache-Control": {"max-age=3600"}})
	u := o.URL + "/mp3/sine44m.mp3"
	one, err := urlFrames(t, File(u))
	if err != nil {
		t.Fatal(err)
	}
	open, err := pipeline.OpenerText("file " + u + " | loop 3")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := urlFrames(t, open); err != nil || n != 3*one {
		t.Errorf("loop 3: %d frames, %v; want %d", n, err, 3*one)
	}
	if r := o.requests.Load(); r != 1 {
		t.Errorf("%d requests, want 1", r)
	}
	f, err := cache().Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key, ok := keep.VersionOf(u, f)
	if !ok || mp3Cache.lookup(key) == nil {
		t.Error("the URL's MP3 decoding is not shared")
	}
}

// With an ETag and no-cache, every opening revalidates, and a 304 costs
// no download.
func TestFileURLRevalidates(t *testing.T) {
	o := newURLOrigin(t, http.Header{"Etag": {`"v1"`}, "Cache-Control": {"no-cache"}})
	u := o.URL + "/wav/f32.wav"
	for i := 0; i < 3; i++ {
		if _, err := urlFrames(t, File(u)); err != nil {
			t.Fatal(err)
		}
		cache().Wait() // an opening during the download would share it
	}
	if r, d := o.requests.Load(), o.downloads.Load(); r != 3 || d != 1 {
		t.Errorf("%d requests, %d downloads; want 3, 1", r, d)
	}
}

// A playlist fetched by URL resolves its relative entries against its URL;
// a broken URL among them is skipped with on-error=skip.
func TestPlaylistByURL(t *testing.T) {
	o := newURLOrigin(t, nil)
	o.root = t.TempDir()
	for _, name := range []string{"wav/f32.wav", "flac/s16-mono-8k.flac"} {
		b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(o.root, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(o.root, filepath.FromSlash(name)), b, 0o644)
	}
	os.MkdirAll(filepath.Join(o.root, "lists"), 0o755)
	os.WriteFile(filepath.Join(o.root, "lists", "hold.m3u"), []byte("#EXTM3U\n../wav/f32.wav\nmissing.mp3\n/flac/s16-mono-8k.flac\n"), 0o644)
	os.WriteFile(filepath.Join(o.root, "lists", "hold.pls"), []byte("[playlist]\nFile1=../wav/f32.wav\nFile2="+o.URL+"/flac/s16-mono-8k.flac\n"), 0o644)

	list := o.URL + "/lists/hold.m3u"
	n, err, skipped := playText(t, "playlist "+list+" rate=8000 channels=1")
	if err != nil || n == 0 || len(skipped) != 1 || skipped[0] != "playlist: item skipped #2 "+strconv.Quote(o.URL+"/lists/missing.mp3")+": HTTP 404 Not Found" {
		t.Errorf("M3U by URL: %d frames, %v, skipped %q", n, err, skipped)
	}
	_, err, _ = playText(t, "playlist "+list+" on-error=stop")
	if want := "item 2 " + strconv.Quote(o.URL+"/lists/missing.mp3") + ": HTTP 404 Not Found"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("on-error=stop: %v, want ...%s", err, want)
	}
	pls := o.URL + "/lists/hold.pls"
	if _, err, skipped := playText(t, "playlist "+pls+" rate=8000 channels=1"); err != nil || len(skipped) != 0 {
		t.Errorf("PLS by URL: %v, skipped %q", err, skipped)
	}
	_, err, _ = playText(t, "playlist "+o.URL+"/lists/gone.m3u")
	if want := o.URL + "/lists/gone.m3u: HTTP 404 Not Found"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a missing list: %v, want ...%s", err, want)
	}
}

// A thousand calls opening one URL at once make one download, and their
// openings share one MP3 decoding.
func TestFileURLThousandCalls(t *testing.T) {
	o := newURLOrigin(t, http.Header{"Etag": {`"v1"`}})
	u := o.URL + "/mp3/sine44m.mp3"
	open := File(u)
	const calls = 1000
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, err := open(context.Background())
			if err == nil {
				buf := make([]float32, 441)
				_, err = src.Read(buf)
				pipeline.Close(src)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := o.downloads.Load(); d != 1 {
		t.Errorf("%d calls made %d downloads, want 1 (and %d requests in all)", calls, d, o.requests.Load())
	}
	t.Logf("%d calls: %d requests, %d downloads", calls, o.requests.Load(), o.downloads.Load())
}
