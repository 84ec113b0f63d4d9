package media

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/proctest"
)

// A panic while fetching (here the cache's clock, failing once) fails
// that fetch with an error that says so, logged with its stack, and does
// not end the process: the next open of the URL fetches it afresh.
func TestCacheFetchPanicIsAnError(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "audio bytes") })
	c, log := newCache(t)
	var calls atomic.Int64
	c.Now = func() time.Time {
		if calls.Add(1) == 1 {
			panic("the clock failed")
		}
		return time.Now()
	}
	if _, err := read(t, c, o.URL+"/a.mp3"); err == nil || err.Error() != "fetching panicked: the clock failed" {
		t.Fatalf("the first open: %v, want the panic as an error", err)
	}
	if got, err := read(t, c, o.URL+"/a.mp3"); err != nil || got != "audio bytes" {
		t.Fatalf("the open after the panic: %q, %v", got, err)
	}
	if !strings.Contains(log.String(), `level=ERROR msg="fetching a URL panicked" url=`+o.URL+`/a.mp3 panic="the clock failed" stack="goroutine`) {
		t.Errorf("the panic is not logged with its stack:\n%s", log.String())
	}
}

// panicBody is a response body that panics at its first Read: a defect
// met in the middle of a download.
type panicBody struct{}

func (panicBody) Read([]byte) (int, error) { panic("the body failed") }
func (panicBody) Close() error             { return nil }

// panicBodies answers every request with a 200 whose body panics.
type panicBodies struct{}

func (panicBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: panicBody{},
		ContentLength: -1, Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// A panic in the middle of a download, once its partial file exists,
// leaves neither that file nor its descriptor behind.
func TestCacheFetchPanicMidDownload(t *testing.T) {
	c, _ := newCache(t)
	c.init()
	c.client = &http.Client{Transport: panicBodies{}}
	fds := proctest.OpenFDs()
	if _, err := read(t, c, "http://127.0.0.1:1/a.mp3"); err == nil || err.Error() != "fetching panicked: the body failed" {
		t.Fatalf("open: %v, want the panic as an error", err)
	}
	if n := proctest.OpenFDs(); n > fds {
		t.Errorf("%d descriptors open after the panic, %d before", n, fds)
	}
	left, _ := filepath.Glob(filepath.Join(c.Dir, "*.part"))
	if len(left) != 0 {
		t.Errorf("partial files left: %v", left)
	}
}
