package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// origin is a test HTTP server that counts requests and body bytes sent.
type origin struct {
	*httptest.Server
	requests atomic.Int64
	sent     atomic.Int64
}

func newOrigin(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *origin {
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		h(&countingWriter{w, &o.sent}, r)
	}))
	t.Cleanup(o.Close)
	return o
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

func newCache(t *testing.T) (*Cache, *bytes.Buffer) {
	var log bytes.Buffer
	var mu sync.Mutex
	return &Cache{Dir: t.TempDir(), Log: slog.New(slog.NewTextHandler(&lockedWriter{&mu, &log}, nil))}, &log
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// read opens u in c and returns its content.
func read(t *testing.T, c *Cache, u string) (string, error) {
	t.Helper()
	f, err := c.Open(context.Background(), u)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestCacheMaxAge(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		io.WriteString(w, "audio bytes")
	})
	c, _ := newCache(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if got, err := read(t, c, o.URL+"/a.mp3"); err != nil || got != "audio bytes" {
			t.Fatalf("open %d: %q, %v", i, got, err)
		}
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("%d requests within max-age, want 1", n)
	}
	now = now.Add(61 * time.Second) // stale, no validator: fetched again
	read(t, c, o.URL+"/a.mp3")
	if n := o.requests.Load(); n != 2 {
		t.Errorf("%d requests after max-age, want 2", n)
	}
}

func TestCacheRevalidatesWithETag(t *testing.T) {
	body := strings.Repeat("x", 10000)
	var conditional atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, body)
	})
	c, _ := newCache(t)
	for i := 0; i < 4; i++ {
		if got, err := read(t, c, o.URL+"/a.wav"); err != nil || got != body {
			t.Fatalf("open %d: %d bytes, %v", i, len(got), err)
		}
	}
	if r, cond, sent := o.requests.Load(), conditional.Load(), o.sent.Load(); r != 4 || cond != 3 || sent != int64(len(body)) {
		t.Errorf("%d requests, %d answered 304, %d bytes sent; want 4, 3, %d", r, cond, sent, len(body))
	}
}

func TestCacheLastModifiedAndExpires(t *testing.T) {
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
		w.Header().Set("Expires", "0") // invalid: already expired
		if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !lm.After(ims) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "v1")
	})
	c, _ := newCache(t)
	read(t, c, o.URL+"/a")
	if got, err := read(t, c, o.URL+"/a"); err != nil || got != "v1" || o.requests.Load() != 2 || o.sent.Load() != 2 {
		t.Errorf("%q, %v; %d requests, %d bytes; want v1, 2 requests, 2 bytes", got, err, o.requests.Load(), o.sent.Load())
	}
}

func TestFreshness(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	date := now.Format(http.TimeFormat)
	for _, tc := range []struct {
		name string
		h    http.Header
		want fresh
	}{
		{"max-age", h("Cache-Control", "max-age=100"), fresh{until: now.Add(100 * time.Second)}},
		{"max-age wins over Expires", h("Cache-Control", "max-age=10", "Expires", now.Add(time.Hour).Format(http.TimeFormat)), fresh{until: now.Add(10 * time.Second)}},
		{"Age", h("Cache-Control", "max-age=100", "Age", "30"), fresh{until: now.Add(70 * time.Second)}},
		{"Expires", h("Date", date, "Expires", now.Add(time.Hour).Format(http.TimeFormat)), fresh{until: now.Add(time.Hour)}},
		{"heuristic", h("Date", date, "Last-Modified", now.Add(-100*time.Hour).Format(http.TimeFormat)), fresh{until: now.Add(10 * time.Hour)}},
		{"heuristic cap", h("Date", date, "Last-Modified", now.Add(-1000*time.Hour).Format(http.TimeFormat)), fresh{until: now.Add(24 * time.Hour)}},
		{"no-store", h("Cache-Control", "no-store"), fresh{noStore: true}},
		{"no-cache", h("Cache-Control", "no-cache, max-age=100"), fresh{noCache: true, until: now.Add(100 * time.Second)}},
		{"nothing", h(), fresh{}},
	} {
		if got := freshness(tc.h, now); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCacheNoStore(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "secret")
	})
	c, _ := newCache(t)
	for i := 0; i < 2; i++ {
		if got, err := read(t, c, o.URL+"/a"); err != nil || got != "secret" {
			t.Fatalf("%q, %v", got, err)
		}
	}
	if n := o.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	c.Wait() // the download may end after its reader has read it all
	if left, _ := os.ReadDir(c.Dir); len(left) != 0 {
		t.Errorf("no-store left %d files in the cache", len(left))
	}
}

func TestCacheErrors(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/big":
			w.Header().Set("Content-Length", "10000000000")
		case "/chunked":
			for i := 0; i < 100; i++ {
				w.Write(make([]byte, 1000))
				w.(http.Flusher).Flush()
			}
		case "/cut":
			w.Header().Set("Content-Length", "1000")
			w.Write(make([]byte, 10))
		case "/ftp":
			http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
		}
	})
	c, _ := newCache(t)
	c.MaxSize = 50000
	for path, want := range map[string]string{
		"/404":     "HTTP 404 Not Found",
		"/500":     "HTTP 500 Internal Server Error",
		"/loop":    "stopped after 10 redirects (the limit)",
		"/big":     "the file is 10000000000 bytes, more than the limit of 50000",
		"/chunked": "the file is more than the limit of 50000 bytes",
		"/cut":     "unexpected EOF",
		"/ftp":     "redirected to a ftp URL: only http and https are fetched",
	} {
		if _, err := read(t, c, o.URL+path); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", path, err, want)
		}
	}
	if n := o.requests.Load(); n != 17 {
		t.Errorf("%d requests, want 17 (11 for the redirect loop)", n)
	}
	if _, err := read(t, c, "ftp://example.com/a.mp3"); err == nil || err.Error() != "ftp URLs are not supported: elkspipe fetches http and https URLs only" {
		t.Errorf("ftp: %v", err)
	}
	if left, _ := os.ReadDir(c.Dir); len(left) != 0 {
		t.Errorf("failures left %d files in the cache", len(left))
	}
}

func TestCacheStall(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select { // stop sending
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c, _ := newCache(t)
	c.StallTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := read(t, c, o.URL+"/a")
	if err == nil || err.Error() != "stalled: no data for 300ms" {
		t.Errorf("stalled body: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the stall took %v to detect", d)
	}
}

func TestCacheConcurrentFirstOpens(t *testing.T) {
	gate := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-gate
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "shared")
	})
	c, _ := newCache(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.Open(context.Background(), o.URL+"/a")
			if err == nil {
				var b []byte
				b, err = io.ReadAll(f)
				f.Close()
				if err == nil && string(b) != "shared" {
					err = fmt.Errorf("read %q", b)
				}
			}
			errs <- err
		}()
	}
	for o.requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the others join (they would make requests otherwise)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if r := o.requests.Load(); r != 1 {
		t.Errorf("%d concurrent first opens made %d requests, want 1", n, r)
	}
}

func TestCacheOriginDownPlaysCachedCopy(t *testing.T) {
	var down atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", `"1"`)
		io.WriteString(w, "cached")
	})
	c, log := newCache(t)
	read(t, c, o.URL+"/a")
	down.Store(true)
	if got, err := read(t, c, o.URL+"/a"); err != nil || got != "cached" {
		t.Errorf("503 with a copy: %q, %v", got, err)
	}
	o.Close() // no server at all
	if got, err := read(t, c, o.URL+"/a"); err != nil || got != "cached" {
		t.Errorf("origin gone with a copy: %q, %v", got, err)
	}
	if w := strings.Count(log.String(), "level=WARN msg=\"fetching failed: playing the cached copy\" url="+o.URL+"/a"); w != 2 {
		t.Errorf("%d warnings, want 2:\n%s", w, log)
	}
	if _, err := read(t, c, o.URL+"/b"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("origin gone without a copy: %v", err)
	}
}

// The first opening of a URL reads the body while it downloads: a server
// that sends 64 KiB and then stalls has them read before it goes on, by
// every opening that comes meanwhile, on one request; the copy is then
// cached whole.
func TestCacheStreamsWhileDownloading(t *testing.T) {
	body := make([]byte, 200<<10)
	for i := range body {
		body[i] = byte(i * 13)
	}
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(body[:64<<10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(20 * time.Second):
		}
		w.Write(body[64<<10:])
	})
	c, _ := newCache(t)
	u := o.URL + "/a"
	var readers []io.ReadCloser
	for range 2 {
		r, err := c.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, ok := r.(*Download); !ok {
			t.Fatalf("an opening during the download is a %T, want a *Download", r)
		}
		readers = append(readers, r)
	}
	for i, r := range readers {
		head := make([]byte, 64<<10)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(head, body[:64<<10]) {
			t.Fatalf("reader %d: the first 64 KiB differ", i)
		}
	}
	select {
	case <-release:
		t.Fatal("released early")
	default:
		close(release) // the first 64 KiB were read while the server stalled
	}
	for i, r := range readers {
		rest, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(rest, body[64<<10:]) {
			t.Fatalf("reader %d: the rest: %d bytes, %v", i, len(rest), err)
		}
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	f, err := c.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*os.File); !ok {
		t.Errorf("an opening after the download is a %T, want the cached file", f)
	}
	if b, _ := io.ReadAll(f); !bytes.Equal(b, body) {
		t.Error("the cached copy differs")
	}
}

// A download that fails in the middle fails its readers with the error
// after the bytes that came, and a reader's context ends its wait.
func TestCacheDownloadErrors(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 5000))
		w.(http.Flusher).Flush()
		if r.URL.Path == "/cut" {
			time.Sleep(200 * time.Millisecond)
			return
		}
		<-r.Context().Done()
	})
	c, _ := newCache(t)
	c.StallTimeout = time.Second // ends the shared download the reader left
	r, err := c.Open(context.Background(), o.URL+"/cut")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if len(b) != 5000 || err == nil || err.Error() != "unexpected EOF" {
		t.Errorf("cut: %d bytes, %v; want 5000 and unexpected EOF", len(b), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err = c.Open(ctx, o.URL+"/stall")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	b, err = io.ReadAll(r)
	if len(b) != 5000 || err != context.DeadlineExceeded || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled: %d bytes, %v after %v", len(b), err, time.Since(start))
	}
}
