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

// The runtime metrics a Probe reads: the scheduling delays, and what the
// garbage collector has done.
const (
	schedLatencies = "/sched/latencies:seconds"
	gcCycles       = "/gc/cycles/total:gc-cycles"
	heapAllocs     = "/gc/heap/allocs:bytes"
	heapLive       = "/gc/heap/live:bytes"
	heapGoal       = "/gc/heap/goal:bytes"
)

// Probe reads the runtime's histogram of scheduling delays
// (runtime/metrics /sched/latencies:seconds): each Read gives a
// percentile of the delays recorded since the previous one, and the
// state of the garbage collector at that moment.
type Probe struct {
	sample []metrics.Sample
	prev   []uint64

	gc GC
	// allocsAtCycle is the bytes allocated in all, as first read after
	// the last collection ended.
	allocsAtCycle uint64
}

// GC is what a Probe knows of the garbage collector.
type GC struct {
	// Cycles is the number of collections completed.
	Cycles uint64
	// MayRun reports whether a collection may be marking now: the heap
	// has grown past the lowest point at which the runtime starts one,
	// 45/64 of the way from the heap the last one left live to the goal
	// of the next (runtime/mgcpacer.go). The runtime does not tell when
	// a collection starts, only when one ends.
	MayRun bool
}

// NewProbe returns a Probe whose first Read covers the delays from now
// on.
func NewProbe() *Probe {
	p := &Probe{sample: []metrics.Sample{{Name: schedLatencies}, {Name: gcCycles}, {Name: heapAllocs}, {Name: heapLive}, {Name: heapGoal}}}
	p.Read() // the baseline: delays before now are not the next read's
	return p
}

// Available reports whether the runtime records scheduling delays (when
// it does not, Read returns 0).
func (p *Probe) Available() bool { return len(p.prev) > 0 }

// Read returns the 99th percentile of the scheduling delays recorded
// since the last Read (0 when none were, or the runtime does not record
// them), and takes the state of the garbage collector (GC).
func (p *Probe) Read() time.Duration {
	metrics.Read(p.sample)
	p.readGC()
	if p.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := p.sample[0].Value.Float64Histogram()
	lag := Quantile(p.prev, h.Counts, h.Buckets, 0.99)
	p.prev = append(p.prev[:0], h.Counts...)
	return lag
}

// GC returns the state of the garbage collector at the last Read.
func (p *Probe) GC() GC { return p.gc }

// readGC takes the collector's state from the samples just read.
func (p *Probe) readGC() {
	var v [4]uint64
	for i, s := range p.sample[1:] {
		if s.Value.Kind() != metrics.KindUint64 {
			p.gc = GC{}
			return
		}
		v[i] = s.Value.Uint64()
	}
	cycles, allocs, live, goal := v[0], v[1], v[2], v[3]
	if cycles != p.gc.Cycles || p.allocsAtCycle == 0 {
		p.allocsAtCycle = allocs
	}
	p.gc = GC{Cycles: cycles, MayRun: MayCollect(live+(allocs-p.allocsAtCycle), live, goal)}
}

// MayCollect reports whether a collection may be marking with heap bytes
// live (as the runtime counts them: those the last collection left, and
// all allocated since), when it left live bytes and the next goal is
// goal: whether heap has passed the lowest trigger the runtime sets.
func MayCollect(heap, live, goal uint64) bool {
	return goal > live && heap >= live+(goal-live)/64*45
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

// Reading is one of Watch's measurements.
type Reading struct {
	// Lag is the 99th percentile of the scheduling delays of the
	// interval (a Probe's Read), or the lateness of Watch's own timer
	// when that is more (a process the OS does not run at all records no
	// delays).
	Lag time.Duration
	// GC is the state of the garbage collector.
	GC GC
}

// Watch measures every interval until ctx is done, and gives each
// measurement to observe with its time. It returns when ctx is done.
func Watch(ctx context.Context, interval time.Duration, observe func(now time.Time, r Reading)) {
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
		lag := max(probe.Read(), now.Sub(due))
		observe(now, Reading{Lag: lag, GC: probe.GC()})
		due = now.Add(interval)
		timer.Reset(interval)
	}
}
