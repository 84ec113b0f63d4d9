package media

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openFDs counts the process's open file descriptors, or -1 when it
// cannot tell.
func openFDs() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// Bad input leaves nothing behind: after a 404, a 500, an HTML page, a
// stall, a body cut in the middle (read while it downloads), a redirect
// loop and a 10 GB Content-Length, each an error, the cache holds no
// file, and the goroutines and file descriptors are back to what they
// were once the server is gone.
func TestCacheBadInputLeaksNothing(t *testing.T) {
	// The runtime's network poller opens its descriptors (epoll, an
	// eventfd) at the first network use, for good: not a leak.
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
	}
	goroutines, fds := runtime.NumGoroutine(), openFDs()
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<!DOCTYPE html><html>Sign in</html>")
		case "/stall":
			w.Header().Set("Content-Length", "100000")
			w.Write(make([]byte, 1000))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/cut":
			w.Header().Set("Content-Length", "100000")
			w.Write(make([]byte, 40000))
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
			panic(http.ErrAbortHandler) // the connection drops
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/big":
			w.Header().Set("Content-Length", "10000000000")
		}
	})
	c, _ := newCache(t)
	c.StallTimeout = 300 * time.Millisecond
	for path, want := range map[string]string{
		"/404":   "HTTP 404 Not Found",
		"/500":   "HTTP 500 Internal Server Error",
		"/html":  "", // a page is a file: the decoder refuses it (sources)
		"/stall": "stalled: no data for 300ms",
		"/cut":   "unexpected EOF",
		"/loop":  "stopped after 10 redirects (the limit)",
		"/big":   "more than the limit",
	} {
		start := time.Now()
		_, err := read(t, c, o.URL+path)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", path, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v", path, d)
		}
	}
	c.Wait()
	close(release)
	o.Close()
	c.client.CloseIdleConnections()
	if left, _ := os.ReadDir(c.Dir); len(left) > 2 { // the page and its metadata
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the failures left files in the cache: %v", names)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	for openFDs() > fds && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := openFDs(); fds >= 0 && n > fds {
		t.Errorf("%d open file descriptors, %d before: %v", n, fds, fdTargets())
	}
}

// fdTargets lists what the process's open file descriptors point to.
func fdTargets() []string {
	fds, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range fds {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"→"+target)
	}
	return out
}

// A reader of a download under way that gives up (its context ends)
// returns at once with the cause, and the download goes on for the
// others.
func TestDownloadReaderGivesUp(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(make([]byte, 1000))
	})
	c, _ := newCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.Open(ctx, o.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := r.Read(make([]byte, 10)); err != context.Canceled {
		t.Errorf("a reader whose context ended: %v", err)
	}
	close(release)
	if got, err := read(t, c, o.URL+"/a"); err != nil || len(got) != 2000 {
		t.Errorf("the download after: %d bytes, %v", len(got), err)
	}
}
