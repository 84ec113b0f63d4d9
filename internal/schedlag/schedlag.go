// Package schedlag measures the scheduling lag of the process: how long
// its goroutines wait, runnable, before they get a CPU. It grows when the
// process is starved of CPU, by its own work, its garbage collections or
// other processes on its cores, and not when its goroutines wait for the
// network (a goroutine waiting to read is not runnable).
//
// The server measures its lag to refuse calls before the ones it has
// start to gap (sinks/elks, overload protection); the simulator measures
// its own to tell when the gaps and late replies it reports may be its
// own doing.
package schedlag

import (
	"context"
	"math"
	"runtime/metrics"
	"time"
)

// schedLatencies is the runtime metric of the scheduling delays.
const schedLatencies = "/sched/latencies:seconds"

// Probe reads the runtime's histogram of scheduling delays
// (runtime/metrics /sched/latencies:seconds): each Read gives a
// percentile of the delays recorded since the previous one.
type Probe struct {
	sample []metrics.Sample
	prev   []uint64
}

// NewProbe returns a Probe whose first Read covers the delays from now
// on.
func NewProbe() *Probe {
	p := &Probe{sample: []metrics.Sample{{Name: schedLatencies}}}
	p.Read() // the baseline: delays before now are not the next read's
	return p
}

// Available reports whether the runtime records scheduling delays (when
// it does not, Read returns 0).
func (p *Probe) Available() bool { return len(p.prev) > 0 }

// Read returns the 99th percentile of the scheduling delays recorded
// since the last Read (0 when none were, or the runtime does not record
// them).
func (p *Probe) Read() time.Duration {
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := p.sample[0].Value.Float64Histogram()
	lag := Quantile(p.prev, h.Counts, h.Buckets, 0.99)
	p.prev = append(p.prev[:0], h.Counts...)
	return lag
}

// Quantile returns the q quantile of the counts a cumulative histogram
// gained from prev to cur, as the lower bound of the bucket it falls in
// (buckets[i] is bucket i's lower bound, in seconds; -Inf reads as 0): a
// lag that at least 1-q of the delays reached. prev may be shorter than
// cur (empty for the first read); 0 when nothing was added.
func Quantile(prev, cur []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	for i, c := range cur {
		if i < len(prev) {
			c -= min(c, prev[i])
		}
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range cur {
		if i < len(prev) {
			c -= min(c, prev[i])
		}
		seen += c
		if seen >= rank && i < len(buckets) {
			lo := buckets[i]
			if math.IsInf(lo, -1) || lo < 0 {
				return 0
			}
			if math.IsInf(lo, 1) || lo > float64(time.Hour/time.Second) {
				return time.Hour
			}
			return time.Duration(lo * float64(time.Second))
		}
	}
	return 0
}

// Watch measures the lag every interval until ctx is done, and gives
// each measurement to observe with its time: the 99th percentile of the
// delays of the interval (a Probe's Read), or the lateness of Watch's own
// timer when that is more (a process the OS does not run at all records
// no delays). It returns when ctx is done.
func Watch(ctx context.Context, interval time.Duration, observe func(now time.Time, lag time.Duration)) {
	probe := NewProbe()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	due := time.Now().Add(interval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		observe(now, max(probe.Read(), now.Sub(due)))
		due = now.Add(interval)
		timer.Reset(interval)
	}
}
