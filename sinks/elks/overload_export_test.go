package elks

import (
	"time"

	"github.com/elkspipe/elkspipe/internal/schedlag"
)

// ObserveLagForTest feeds a server one measurement of its scheduling
// lag, as MeasureLag does, so that tests can make it overloaded.
func ObserveLagForTest(srv *Server, now time.Time, lag time.Duration) {
	srv.observeLag(now, schedlag.Reading{Lag: lag})
}
