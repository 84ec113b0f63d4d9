package schedlag

import (
	"context"
	"math"
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
		Watch(ctx, 10*time.Millisecond, func(_ time.Time, lag time.Duration) {
			if int64(lag) > most.Load() {
				most.Store(int64(lag))
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
