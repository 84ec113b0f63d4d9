package schedlag

import (
	"context"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Quantile takes the quantile of what a cumulative histogram gained
// since the previous read, as the lower bound of its bucket.
func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	buckets := []float64{math.Inf(-1), 0.001, 0.01, 0.1, 1, inf}
	tests := []struct {
		name      string
		prev, cur []uint64
		q         float64
		want      time.Duration
	}{
		{"nothing yet", nil, []uint64{0, 0, 0, 0, 0}, 0.99, 0},
		{"nothing new", []uint64{5, 5, 0, 0, 0}, []uint64{5, 5, 0, 0, 0}, 0.99, 0},
		{"first read", nil, []uint64{0, 99, 0, 1, 0}, 0.99, time.Millisecond},
		{"the tail", nil, []uint64{0, 98, 0, 2, 0}, 0.99, 100 * time.Millisecond},
		{"only the new counts", []uint64{0, 0, 0, 50, 0}, []uint64{0, 100, 0, 50, 0}, 0.99, time.Millisecond},
		{"below the first bound", nil, []uint64{10, 0, 0, 0, 0}, 0.99, 0},
		{"the last bucket", nil, []uint64{0, 0, 0, 0, 3}, 0.5, time.Second},
		{"the median", nil, []uint64{0, 10, 10, 0, 0}, 0.5, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quantile(tt.prev, tt.cur, buckets, tt.q); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The runtime's scheduling delays are there to read: a probe reads
// something after goroutines have been scheduled.
func TestProbeReadsTheRuntime(t *testing.T) {
	p := NewProbe()
	if !p.Available() {
		t.Fatalf("no histogram of %s in this runtime", schedLatencies)
	}
}

// Watch sees a process starved of CPU: goroutines that spin, more than
// there are processors, make its measuring goroutine wait its turn, and
// the lag it gives grows past 20 ms (it is a few microseconds on an idle
// machine); it returns when its context ends.
func TestWatchSeesStarvation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var most atomic.Int64
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		Watch(ctx, 10*time.Millisecond, func(_ time.Time, r Reading) {
			if int64(r.Lag) > most.Load() {
				most.Store(int64(r.Lag))
			}
		})
	}()
	stopSpinning := Spin(8)
	deadline := time.Now().Add(20 * time.Second)
	for most.Load() < int64(20*time.Millisecond) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopSpinning()
	cancel()
	select {
	case <-watched:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return when its context ended")
	}
	if lag := time.Duration(most.Load()); lag < 20*time.Millisecond {
		t.Errorf("the most lag seen while every processor spun: %v, want at least 20ms", lag)
	}
}

// A Probe counts the collections that ended, and says one may run once
// the heap has passed the lowest trigger: 45/64 of the way from the heap
// left live to the goal.
func TestProbeGC(t *testing.T) {
	p := NewProbe()
	before := p.GC().Cycles
	runtime.GC()
	runtime.GC()
	p.Read()
	if got := p.GC().Cycles; got < before+2 {
		t.Fatalf("after two collections the probe counts %d, want at least %d", got, before+2)
	}
	for _, tc := range []struct {
		heap, live, goal uint64
		may              bool
	}{
		{100 << 20, 100 << 20, 200 << 20, false}, // just after a collection
		{170 << 20, 100 << 20, 200 << 20, false}, // 70%: below 45/64
		{171 << 20, 100 << 20, 200 << 20, true},  // 71%
		{250 << 20, 100 << 20, 200 << 20, true},  // past the goal
		{100, 100, 100, false},                   // no goal above the live heap
	} {
		if got := MayCollect(tc.heap, tc.live, tc.goal); got != tc.may {
			t.Errorf("MayCollect(%d, %d, %d) = %v, want %v", tc.heap, tc.live, tc.goal, got, tc.may)
		}
	}
}
