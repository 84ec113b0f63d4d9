package media

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
