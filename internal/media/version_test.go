package media

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
)

// version returns CopyVersion of an opening of u, and closes it.
func version(t *testing.T, c *Cache, u string) keep.Version {
	t.Helper()
	r, err := c.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, ok := CopyVersion(r)
	if !ok {
		t.Fatalf("an opening (%T) has no version", r)
	}
	return v
}

// An opening made while the body arrives, the openings after it and
// Current find one version; content fetched anew after a revalidation
// is another, and a 304 keeps it. Current makes no request while the
// copy is fresh.
func TestCopyVersion(t *testing.T) {
	var content atomic.Value
	content.Store("first version of the audio")
	release := make(chan struct{})
	var stalled atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body := content.Load().(string)
		etag := fmt.Sprintf(`"%d"`, len(body))
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write([]byte(body[:5]))
		w.(http.Flusher).Flush()
		if stalled.CompareAndSwap(false, true) {
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
		}
		io.WriteString(w, body[5:])
	})
	c, _ := newCache(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	u := o.URL + "/hold.mp3"

	if _, ok := c.Current(context.Background(), u); ok {
		t.Fatal("Current of a URL never fetched has a version")
	}
	dl, err := c.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dl.(*Download); !ok {
		t.Fatalf("the first opening is a %T, want a *Download", dl)
	}
	during, ok := CopyVersion(dl)
	if !ok {
		t.Fatal("a download under way has no version")
	}
	if now, ok := c.Current(context.Background(), u); !ok || now != during {
		t.Errorf("Current during the download: %+v %v, want %+v", now, ok, during)
	}
	close(release)
	if b, err := io.ReadAll(dl); err != nil || string(b) != "first version of the audio" {
		t.Fatalf("the download read %q, %v", b, err)
	}
	dl.Close()
	c.Wait()
	after := version(t, c, u)
	if after != during {
		t.Errorf("the cached file is version %+v, the download was %+v", after, during)
	}
	requests := o.requests.Load()
	if now, ok := c.Current(context.Background(), u); !ok || now != during {
		t.Errorf("Current of the fresh copy: %+v %v, want %+v", now, ok, during)
	}
	if n := o.requests.Load(); n != requests {
		t.Errorf("Current of a fresh copy made %d requests", n-requests)
	}

	// Stale, unchanged: a 304 keeps the version.
	clock.Add(int64(2 * time.Minute))
	if now, ok := c.Current(context.Background(), u); !ok || now != during {
		t.Errorf("Current after a 304: %+v %v, want %+v", now, ok, during)
	}
	if n := o.requests.Load(); n != requests+1 {
		t.Errorf("Current of a stale copy made %d requests, want 1", n-requests)
	}

	// Stale, changed upstream: the new content is another version.
	content.Store("the second version, longer than the first")
	clock.Add(int64(2 * time.Minute))
	changed, ok := c.Current(context.Background(), u)
	if !ok || changed == during {
		t.Errorf("Current after a change upstream: %+v %v, want a new version", changed, ok)
	}
	c.Wait()
	if got, err := read(t, c, u); err != nil || got != "the second version, longer than the first" {
		t.Errorf("after the change: %q, %v", got, err)
	}
	if v := version(t, c, u); v != changed {
		t.Errorf("the new copy is %+v, Current said %+v", v, changed)
	}

	// A copy that went away has no version.
	os.RemoveAll(c.Dir)
	if _, ok := c.Current(context.Background(), u); ok {
		t.Error("Current of a copy removed from the disk has a version")
	}
}

// A no-store response is not kept: Current has no version for it, and
// neither have its openings while it downloads.
func TestCopyVersionNoStore(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "private audio")
	})
	c, _ := newCache(t)
	u := o.URL + "/a.wav"
	if got, err := read(t, c, u); err != nil || got != "private audio" {
		t.Fatalf("%q, %v", got, err)
	}
	c.Wait()
	if v, ok := c.Current(context.Background(), u); ok {
		t.Errorf("Current of a no-store URL: %+v", v)
	}
	if _, ok := CopyVersion(io.NopCloser(nil)); ok {
		t.Error("a reader that is no opening of the cache has a version")
	}
}
