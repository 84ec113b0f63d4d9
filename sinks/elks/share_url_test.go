package elks_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// The tests of shared renderings of URLs run in real time (a real HTTP
// server cannot run inside a synctest bubble), with the simulator at 10
// times the speed of real time.

// urlOrigin is a web server of files held in memory, which may change:
// it answers with an ETag of the content (and a 304 to a request that
// has it) and counts its full downloads by path.
type urlOrigin struct {
	*httptest.Server
	mu        sync.Mutex
	files     map[string][]byte
	downloads map[string]int
	notMod    atomic.Int64
	cacheCtl  string
	stall     atomic.Int64 // the next download pauses this long half-way
}

func newURLOrigin(t *testing.T, cacheControl string) *urlOrigin {
	o := &urlOrigin{files: map[string][]byte{}, downloads: map[string]int{}, cacheCtl: cacheControl}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	sources.SetCacheDir(t.TempDir())
	t.Cleanup(func() { sources.SetCacheDir(media.DefaultCacheDir()) })
	return o
}

func (o *urlOrigin) set(path string, b []byte) {
	o.mu.Lock()
	o.files[path] = b
	o.mu.Unlock()
}

func (o *urlOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.downloads[path]
}

func (o *urlOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	b, ok := o.files[r.URL.Path]
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(b))
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", o.cacheCtl)
	if r.Header.Get("If-None-Match") == etag {
		o.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	o.mu.Lock()
	o.downloads[r.URL.Path]++
	o.mu.Unlock()
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	half := len(b) / 2
	w.Write(b[:half])
	w.(http.Flusher).Flush()
	if d := o.stall.Swap(0); d > 0 {
		time.Sleep(time.Duration(d))
	}
	w.Write(b[half:])
}

// playURLCall plays chain in a call with the simulator at 10 times real
// time, and returns what the session sent.
func playURLCall(t *testing.T, cfg elks.Config, chain string) ([][]byte, error) {
	t.Helper()
	c := startSim(t, cfg, elkstest.Options{Speed: 10})
	ctx, cancel := context.WithTimeout(c.s.Context(), time.Minute)
	defer cancel()
	err := c.s.PlayGraph(ctx, elks.TestGraph(t, chain))
	if err == nil {
		err = c.s.Drain(ctx)
	}
	c.s.Hangup()
	c.report()
	c.tap.mu.Lock()
	defer c.tap.mu.Unlock()
	return c.tap.sent, err
}

// Calls of a URL share one rendering, joined while the URL is still
// downloading and after, and each sends byte for byte what a private
// rendering of it sends; the URL is downloaded once. So for a playlist
// fetched by URL whose entries are URLs.
func TestSharedRenderingURL(t *testing.T) {
	dir := t.TempDir()
	mp3, err := os.ReadFile(testMP3(t))
	if err != nil {
		t.Fatal(err)
	}
	wav, err := os.ReadFile(writeWAV(t, dir, "a.wav", 22050, 1, 700*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	o := newURLOrigin(t, "max-age=3600")
	o.set("/hold.mp3", mp3)
	o.set("/prompts/a.wav", wav)
	o.set("/lists/hold.m3u", []byte("#EXTM3U\n../prompts/a.wav\n/hold.mp3\n"))

	for _, chain := range []string{
		"file " + o.URL + "/hold.mp3 | loop 3",
		"playlist " + o.URL + "/lists/hold.m3u | loop 2",
	} {
		t.Run(strings.Fields(chain)[0], func(t *testing.T) {
			cache := elks.NewRenderCache(64 << 20)
			o.stall.Store(int64(400 * time.Millisecond)) // the first calls join while it downloads
			starts := []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond, 800 * time.Millisecond}
			sent := make([][][]byte, len(starts))
			errs := make([]error, len(starts))
			var wg sync.WaitGroup
			for i, d := range starts {
				wg.Go(func() {
					time.Sleep(d)
					sent[i], errs[i] = playURLCall(t, elks.Config{Format: elks.ULaw, RenderCache: cache}, chain)
				})
			}
			wg.Wait()
			private, err := playURLCall(t, elks.Config{Format: elks.ULaw}, chain)
			if err != nil {
				t.Fatal(err)
			}
			if a, s := countAudio(private); a < 10 || s < 2 {
				t.Fatalf("the private call sent %d audio messages and %d syncs: too few to compare", a, s)
			}
			for i := range starts {
				if errs[i] != nil {
					t.Fatalf("call %d: %v", i, errs[i])
				}
				sameMessages(t, fmt.Sprintf("call %d", i), sent[i], private)
			}
			if st, made := cache.Stats(), elks.RenderingsMadeForTest(cache); st.SharedPlays != 4 || st.PrivatePlays != 0 || made != 1 {
				t.Errorf("stats %+v, %d renderings made: want 4 plays of one shared rendering", st, made)
			}
		})
	}
	for _, p := range []string{"/hold.mp3", "/prompts/a.wav", "/lists/hold.m3u"} {
		if n := o.count(p); n != 1 {
			t.Errorf("%s downloaded %d times, want once", p, n)
		}
	}
}

// A URL whose content changes upstream: a new call gets the new content
// from the start, as a private call does, and never the rendering of the
// old one; the cache revalidates (a 304) rather than downloads while the
// content stays.
func TestSharedRenderingURLChanged(t *testing.T) {
	mp3, err := os.ReadFile(testMP3(t))
	if err != nil {
		t.Fatal(err)
	}
	wav, err := os.ReadFile(writeWAV(t, t.TempDir(), "b.wav", 16000, 1, 600*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	o := newURLOrigin(t, "no-cache") // revalidated at every opening
	o.set("/hold", mp3)
	chain := "file " + o.URL + "/hold | loop 2"
	cache := elks.NewRenderCache(64 << 20)
	shared := elks.Config{Format: elks.PCM16000, RenderCache: cache}

	privateA, errA := playURLCall(t, elks.Config{Format: elks.PCM16000}, chain)
	sharedA, errSA := playURLCall(t, shared, chain)
	sharedA2, errSA2 := playURLCall(t, shared, chain)
	o.set("/hold", wav)
	sharedB, errSB := playURLCall(t, shared, chain)
	privateB, errB := playURLCall(t, elks.Config{Format: elks.PCM16000}, chain)
	for i, err := range []error{errA, errSA, errSA2, errSB, errB} {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	sameMessages(t, "a shared call before the change", sharedA, privateA)
	sameMessages(t, "the next shared call", sharedA2, privateA)
	sameMessages(t, "a shared call after the change", sharedB, privateB)
	if a, _ := countAudio(privateB); a < 5 || len(sharedB) < 2 || string(sharedB[1]) == string(sharedA[1]) {
		t.Fatal("the content did not change: the test tests nothing")
	}
	if st, made := cache.Stats(), elks.RenderingsMadeForTest(cache); st.SharedPlays != 3 || st.PrivatePlays != 0 || made != 2 {
		t.Errorf("stats %+v, %d renderings made: want 3 shared plays of 2 renderings", st, made)
	}
	if n := o.count("/hold"); n != 2 {
		t.Errorf("%d downloads, want 2: one of each content", n)
	}
	if o.notMod.Load() == 0 {
		t.Error("no revalidation answered 304")
	}
}

// A playlist whose URL item fails (skipped) is rendered per call: the
// item may come back, and a call after it must hear it.
func TestSharedRenderingURLSkippedItem(t *testing.T) {
	mp3, err := os.ReadFile(testMP3(t))
	if err != nil {
		t.Fatal(err)
	}
	o := newURLOrigin(t, "max-age=3600")
	o.set("/hold.mp3", mp3)
	chain := "playlist " + o.URL + "/hold.mp3 " + o.URL + "/later.mp3"
	cache := elks.NewRenderCache(64 << 20)
	shared := elks.Config{Format: elks.ULaw, RenderCache: cache}
	first, err := playURLCall(t, shared, chain)
	if err != nil {
		t.Fatal(err)
	}
	o.set("/later.mp3", mp3)
	second, err := playURLCall(t, shared, chain)
	if err != nil {
		t.Fatal(err)
	}
	private, err := playURLCall(t, elks.Config{Format: elks.ULaw}, chain)
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, "the call after the item came back", second, private)
	if a1, _ := countAudio(first); a1 >= len(second)-2 {
		t.Errorf("the first call sent %d audio messages, the second %d messages: want the second to play both items", a1, len(second))
	}
	if made := elks.RenderingsMadeForTest(cache); made != 2 {
		t.Errorf("%d renderings made, want 2: none joinable while an item fails", made)
	}
}
