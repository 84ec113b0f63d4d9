package audiotest

import (
	"net/http"
	"time"

	"github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
)

// ServeLiveWAV answers r as a live radio does: a 16-bit WAV header of
// format f, then 20 ms blocks of samples at level, one every 20 ms of
// wall time, until the client leaves or, when dur is above 0, dur has
// passed. The handler's headers (Content-Type and any other) are the
// caller's to set first.
func ServeLiveWAV(w http.ResponseWriter, r *http.Request, f pipeline.Format, level float32, dur time.Duration) {
	hdr, _ := wav.HeaderBytes(f, wav.SampleFormat{Bits: 16})
	w.Write(hdr)
	s := make([]float32, f.Rate/50*f.Channels)
	for i := range s {
		s[i] = level
	}
	b := make([]byte, 2*len(s))
	wav.Encode(b, s, wav.SampleFormat{Bits: 16})
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for start := time.Now(); dur <= 0 || time.Since(start) < dur; {
		if _, err := w.Write(b); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}
