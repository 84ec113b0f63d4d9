package elks

import (
	"context"
	"fmt"
	"time"

	"github.com/elkspipe/elkspipe/internal/fdlimit"
	"github.com/elkspipe/elkspipe/internal/schedlag"
)

// Overload protection. A server past its capacity does not fail one call:
// every call's sends fall behind and every caller hears gaps. So the
// server measures its own lag and, while it is too high, refuses new
// calls (503 before the WebSocket upgrade, /readyz 503) to keep the calls
// it has gap-free; it admits again once the lag has stayed low for a
// while.
//
// The lag is the scheduling delay of the process: how long its goroutines
// (a call's reader woken by a sync reply, its playing goroutine woken by
// the window, its writer) wait, runnable, before they get a CPU. It is
// the 99th percentile, over the last lagInterval, of Go's own record of
// every such wait (runtime/metrics /sched/latencies:seconds), or the
// lateness of the measuring goroutine's own timer when that is more (a
// process the OS does not run at all records no waits). It grows when the
// process is starved of CPU, by its own calls or by other processes on
// its cores, and not when the API is slow to answer syncs (a call waiting
// for a reply is not runnable). A call has Window (2 s) of audio queued
// at the API, so its sends may fall that far behind before the caller
// hears a gap; but a call that starts while the process lags has no
// audio queued yet, and hears the lag at once. So the default threshold,
// DefaultOverloadLag, is a tenth of the window: a process over capacity
// passes it within a second of demand outgrowing the CPU, before the
// calls that are starting feel it, while a healthy process stays far
// below it. A process near its capacity on one core is the exception:
// the mark phase of a garbage collection takes a quarter of the CPU and
// more (its goroutines assist it as they allocate), for 200-500 ms with
// 10,000 calls, and can push the lag past the threshold for that long
// (docs/performance.md). bench/overload.sh measures what a threshold
// does.

// DefaultOverloadLag is the scheduling lag at which a Server refuses new
// calls, unless Server.OverloadLag says otherwise.
const DefaultOverloadLag = 200 * time.Millisecond

// lagInterval is how often the lag is measured.
const lagInterval = 100 * time.Millisecond

// overloadRecovery is how long the lag must stay below half the
// threshold before an overloaded server admits calls again.
const overloadRecovery = time.Second

// After an overload, new calls are admitted at a rate that starts at
// rampStart calls a second and doubles every rampStep that the lag stays
// below half the threshold, until it passes rampEnd and the limit goes.
// Starting calls costs the most (a call's first seconds of audio go out
// at once): admitting every waiting caller at the recovery would bring
// the overload straight back, and the calls admitted meanwhile would
// share it. The calls at once are limited too, to 80% of those the
// overload began with (at least rampStart): a limit that grows by a tenth
// every rampStep that the lag stays low while the calls press against it
// (90% of it or more), so that the server feels its way back to its
// capacity instead of overshooting it again, and that follows the
// capacity up when the cause of the overload (another process on the
// core) has gone. Both limits go once the rate has ramped past rampEnd
// (about 7 s of low lag).
const (
	rampStart = 10.0
	rampEnd   = 1000.0
	rampStep  = time.Second
)

// A brief overload is one whose lag reached the threshold in at most
// briefOverload measurements, never twice the threshold, and that began
// with no ramp going on: a server at ease that one moment of lag
// tripped, such as a garbage collection's mark phase while many calls
// start (docs/performance.md). Its callers waiting are readmitted
// faster: from briefRampStart calls a second, and up to all the calls
// the overload began with (growing as after any overload). Refusing
// new calls for seconds after a moment of lag cost a ramp of 10,000
// calls arriving at 500 a second thousands of refusals; a server
// truly past its capacity stays at the threshold longer, or trips again
// during the ramp, and ramps slowly.
const (
	briefOverload  = 3
	briefRampStart = rampEnd / 4
)

// lagDetector decides from lag measurements whether a server is
// overloaded, with hysteresis: a measurement at or above threshold makes
// it overloaded; it recovers once every measurement for hold has stayed
// below half the threshold. It is a plain value with no clock or locks:
// the caller gives it the time of each measurement.
type lagDetector struct {
	threshold time.Duration // 0 or less: never overloaded
	hold      time.Duration

	overloaded bool
	since      time.Time     // when the current state began
	calmSince  time.Time     // while overloaded: when the lag fell below threshold/2; zero when it is not
	peak       time.Duration // the highest lag of the current overload
	// Of the current overload: the measurements at or above the
	// threshold, the calls it began with, and whether it began during a
	// ramp (see briefOverload).
	over       int
	startCalls int
	duringRamp bool

	// After an overload: the most calls admitted a second (0: no limit),
	// the admissions it allows now, and when they and it last grew.
	rate            float64
	tokens          float64
	refilled, grown time.Time
	// After an overload: the most calls at once (0: no limit), and when
	// it last grew.
	limit      int
	limitGrown time.Time
}

// observe takes the lag measured at now, with calls the calls going on
// (and the connections admitted that wait for their hello), and reports
// whether the state changed (overloaded became true, or false).
func (d *lagDetector) observe(now time.Time, lag time.Duration, calls int) (changed bool) {
	if d.threshold <= 0 {
		return false
	}
	if !d.overloaded {
		if lag < d.threshold {
			d.ramp(now, lag, calls)
			return false
		}
		d.duringRamp = d.rate > 0 || d.limit > 0
		d.overloaded, d.since, d.calmSince, d.peak = true, now, time.Time{}, lag
		d.over, d.startCalls = 1, calls
		d.limit, d.limitGrown = max(int(rampStart), calls*8/10), now
		return true
	}
	d.peak = max(d.peak, lag)
	if lag >= d.threshold {
		d.over++
	}
	if lag >= d.threshold/2 {
		d.calmSince = time.Time{}
		return false
	}
	if d.calmSince.IsZero() {
		d.calmSince = now
	}
	if now.Sub(d.calmSince) < d.hold {
		return false
	}
	d.overloaded, d.since, d.calmSince = false, now, time.Time{}
	d.rate, d.tokens, d.refilled, d.grown = rampStart, 1, now, now
	if d.brief() {
		d.rate = briefRampStart
		d.limit = max(d.limit, d.startCalls)
	}
	return true
}

// brief reports whether the overload going on is a brief one (see
// briefOverload).
func (d *lagDetector) brief() bool {
	return d.over <= briefOverload && d.peak < 2*d.threshold && !d.duringRamp
}

// ramp raises the admission rate after an overload: it doubles every
// rampStep with the lag below half the threshold (a higher lag holds
// it), and goes, with the limit of calls, past rampEnd; and the limit of calls at once, by a tenth
// every rampStep of low lag while calls press against it.
func (d *lagDetector) ramp(now time.Time, lag time.Duration, calls int) {
	switch {
	case d.limit <= 0:
	case lag >= d.threshold/2:
		d.limitGrown = now
	case now.Sub(d.limitGrown) >= rampStep && calls >= d.limit*9/10:
		d.limit += max(1, d.limit/10)
		d.limitGrown = now
	}
	switch {
	case d.rate <= 0:
	case lag >= d.threshold/2:
		d.grown = now
	case now.Sub(d.grown) >= rampStep:
		d.rate *= 2
		d.grown = now
		if d.rate > rampEnd {
			// Calm for the whole ramp: both limits go, so that an
			// overload that came from outside (another process on the
			// core, a burst at start-up) does not cap the server at the
			// calls it had then.
			d.rate, d.limit = 0, 0
		}
	}
}

// admit reports whether a new call may start at now, with calls going
// on, and takes its place: never while overloaded; after an overload,
// below the limit of calls and within the rate (admissions accrue at
// rate, at most a tenth of a second's worth or one); always otherwise.
func (d *lagDetector) admit(now time.Time, calls int) bool {
	switch {
	case d.overloaded:
		return false
	case d.limit > 0 && calls >= d.limit:
		return false
	case d.rate <= 0:
		return true
	}
	if dt := now.Sub(d.refilled); dt > 0 {
		d.tokens = min(d.tokens+d.rate*dt.Seconds(), max(1, d.rate/10))
		d.refilled = now
	}
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// overloadLag is the server's threshold: 0 when overload protection is
// off.
func (srv *Server) overloadLag() time.Duration {
	switch {
	case srv.OverloadLag < 0:
		return 0
	case srv.OverloadLag == 0:
		return DefaultOverloadLag
	}
	return srv.OverloadLag
}

// MeasureLag measures the server's scheduling lag until ctx is done, and
// refuses new calls while it is at or above OverloadLag (see
// OverloadLag). Serve and ListenAndServe run it; a Server mounted in a
// mux of your own gets overload protection by running it too, in a
// goroutine, for as long as it serves. With OverloadLag negative it
// still measures (Metrics' elkspipe_scheduling_lag_seconds, /healthz)
// but never refuses.
func (srv *Server) MeasureLag(ctx context.Context) {
	srv.init()
	schedlag.Watch(ctx, lagInterval, srv.observeLag)
}

// observeLag takes one measurement of the lag: it updates the state, the
// metrics, and logs a change of state.
func (srv *Server) observeLag(now time.Time, lag time.Duration) {
	srv.init()
	srv.mu.Lock()
	d := &srv.lagState
	if d.threshold == 0 {
		d.threshold, d.hold = srv.overloadLag(), overloadRecovery
	}
	srv.lag = lag
	wasSince := d.since
	changed := d.observe(now, lag, srv.active+srv.waiting)
	over, peak, calls, brief := d.overloaded, d.peak, srv.active, d.brief()
	refused := srv.overloadRefused
	if changed && over {
		srv.overloadRefused = 0
	}
	threshold := d.threshold
	srv.mu.Unlock()
	srv.Metrics.lagMeasured(lag, over)
	if !changed {
		return
	}
	if over {
		srv.logger().Warn("overloaded: refusing new calls until the lag recovers (503, /readyz 503)",
			"lag", lag.Round(time.Millisecond), "overload_lag", threshold, "calls", calls)
		return
	}
	srv.logger().Warn("recovered from overload: accepting calls again", // at the level of the overload, to pair with it
		"lag", lag.Round(time.Millisecond), "peak_lag", peak.Round(time.Millisecond),
		"overloaded_for", now.Sub(wasSince).Round(time.Millisecond), "refused", refused, "calls", calls, "brief", brief)
}

// overloadedLocked says why an overloaded server refuses a call: it is
// the log line's reason and the 503's body; srv.mu is held.
func (srv *Server) overloadedLocked() string {
	if d := &srv.lagState; !d.overloaded {
		return fmt.Sprintf("overloaded a moment ago: at most %d calls at once and %.0f new calls a second are admitted, "+
			"more as the lag stays low (overload-lag=%v, Server.OverloadLag)", d.limit, d.rate, d.threshold)
	}
	return fmt.Sprintf("overloaded: the server's scheduling lag reached %v (overload-lag=%v, Server.OverloadLag); "+
		"new calls are refused until it recovers: add CPU or a replica, or lower max-calls",
		srv.lagState.peak.Round(time.Millisecond), srv.lagState.threshold)
}

// checkFDLimit warns at start when MaxCalls cannot be reached for the
// process's limit of open files: every call is a connection, and the
// connections past the limit are refused at accept ("too many open
// files", in the log rate-limited). Without MaxCalls it logs the limit at
// debug level.
func (srv *Server) checkFDLimit() {
	if srv.MaxCalls <= 0 {
		if n, ok := fdlimit.Open(); ok {
			srv.logger().Debug("open file limit", "max_open_files", n, "calls_at_most", max(int(n)-fdlimit.Headroom, 0))
		}
		return
	}
	if why := fdlimit.Check(srv.MaxCalls); why != "" {
		srv.logger().Warn("max-calls cannot be reached: " + why)
	}
}
