package elks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/schedlag"
)

// The detector enters overload at the threshold and leaves it only once
// the lag has stayed below half of it for the hold.
func TestLagDetector(t *testing.T) {
	ms := time.Millisecond
	type step struct {
		at   time.Duration // since the start
		lag  time.Duration
		over bool // overloaded after it
	}
	tests := []struct {
		name      string
		threshold time.Duration
		steps     []step
	}{
		{"below the threshold", 100 * ms, []step{{0, 0, false}, {100 * ms, 99 * ms, false}, {200 * ms, 50 * ms, false}}},
		{"at the threshold", 100 * ms, []step{{0, 10 * ms, false}, {100 * ms, 100 * ms, true}}},
		{"recovers after the hold", 100 * ms, []step{
			{0, 300 * ms, true},
			{100 * ms, 49 * ms, true},   // calm from here
			{600 * ms, 10 * ms, true},   // half the hold
			{1099 * ms, 10 * ms, true},  // just short of it
			{1100 * ms, 10 * ms, false}, // the hold
		}},
		{"between half and the threshold is not calm", 100 * ms, []step{
			{0, 200 * ms, true},
			{100 * ms, 40 * ms, true},
			{900 * ms, 50 * ms, true}, // half the threshold: the calm starts over
			{1000 * ms, 40 * ms, true},
			{1500 * ms, 40 * ms, true},
			{1999 * ms, 40 * ms, true},
			{2000 * ms, 40 * ms, false},
		}},
		{"overloaded again after recovering", 100 * ms, []step{
			{0, 100 * ms, true}, {100 * ms, 0, true}, {1100 * ms, 0, false}, {1200 * ms, 150 * ms, true},
		}},
		{"off", 0, []step{{0, time.Hour, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := lagDetector{threshold: tt.threshold, hold: time.Second}
			t0 := time.Unix(1e9, 0)
			was := false
			for i, s := range tt.steps {
				changed := d.observe(t0.Add(s.at), s.lag, 0)
				if d.overloaded != s.over || changed != (s.over != was) {
					t.Fatalf("step %d (%v at %v): overloaded %v changed %v, want %v %v", i, s.lag, s.at, d.overloaded, changed, s.over, s.over != was)
				}
				was = s.over
			}
		})
	}
}

// The peak is the highest lag of the overload going on.
func TestLagDetectorPeak(t *testing.T) {
	d := lagDetector{threshold: 100 * time.Millisecond, hold: time.Second}
	t0 := time.Unix(1e9, 0)
	for i, lag := range []time.Duration{150, 400, 90, 30} {
		d.observe(t0.Add(time.Duration(i)*100*time.Millisecond), lag*time.Millisecond, 0)
	}
	if d.peak != 400*time.Millisecond {
		t.Errorf("peak %v, want 400ms", d.peak)
	}
}

// MeasureLag sees a process starved of CPU: goroutines that spin, more
// than there are processors, make every other goroutine wait its turn,
// and the server becomes overloaded; once they stop, it recovers.
func TestMeasureLagSeesStarvation(t *testing.T) {
	log, _ := sessTestLogger()
	srv := &Server{OverloadLag: 40 * time.Millisecond, Logger: log}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { srv.MeasureLag(ctx) })

	overloaded := func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.lagState.overloaded
	}
	stopSpinning := schedlag.Spin(8)
	deadline := time.Now().Add(20 * time.Second)
	for !overloaded() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopSpinning()
	if !overloaded() {
		t.Fatal("goroutines spinning on every processor did not make the server overloaded")
	}
	if why, result := srv.reserve(); result != resultOverloaded {
		t.Errorf("a call while overloaded: %q %q", why, result)
	}
	deadline = time.Now().Add(30 * time.Second)
	for overloaded() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if overloaded() {
		t.Fatal("still overloaded long after the spinning stopped")
	}
}

// After an overload, calls are admitted at rampStart a second, a rate
// that doubles every rampStep of low lag (a lag above half the threshold
// holds it) until the limit goes past rampEnd.
func TestLagDetectorRamp(t *testing.T) {
	ms := time.Millisecond
	d := lagDetector{threshold: 100 * ms, hold: time.Second}
	t0 := time.Unix(1e9, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// admitted counts the calls admitted out of n offered evenly over
	// [from, to).
	admitted := func(from, to time.Duration, n int) int {
		k := 0
		for i := range n {
			if d.admit(at(from+(to-from)*time.Duration(i)/time.Duration(n)), 0) {
				k++
			}
		}
		return k
	}
	if got := admitted(0, 100*ms, 50); got != 50 {
		t.Fatalf("before any overload: %d of 50 admitted", got)
	}
	d.observe(at(100*ms), 200*ms, 0)
	if got := admitted(100*ms, 200*ms, 10); got != 0 {
		t.Fatalf("overloaded: %d admitted", got)
	}
	d.observe(at(200*ms), 10*ms, 0)
	d.observe(at(1200*ms), 10*ms, 0) // recovered: rampStart a second
	if d.overloaded || d.rate != rampStart {
		t.Fatalf("after the recovery: overloaded %v, rate %v", d.overloaded, d.rate)
	}
	if got := admitted(1200*ms, 2200*ms, 1000); got < 10 || got > 11 {
		t.Errorf("first second after the recovery: %d admitted, want 10 (and the one waiting)", got)
	}
	d.observe(at(2200*ms), 10*ms, 0) // a second of low lag: doubled
	if got := admitted(2200*ms, 3200*ms, 1000); got < 20 || got > 21 {
		t.Errorf("second second: %d admitted, want 20", got)
	}
	d.observe(at(3200*ms), 60*ms, 0) // above half the threshold: held
	d.observe(at(4200*ms), 60*ms, 0)
	if d.rate != 2*rampStart {
		t.Errorf("a lag above half the threshold did not hold the rate: %v", d.rate)
	}
	for i := 1; d.rate > 0; i++ {
		if i > 20 {
			t.Fatalf("the limit never went: %v", d.rate)
		}
		d.observe(at(4200*ms+time.Duration(i)*time.Second), 10*ms, 0)
	}
	if d.limit != 0 {
		t.Errorf("the limit of calls at once outlived the ramp: %d", d.limit)
	}
	if got := admitted(30*time.Second, 30100*ms, 500); got != 500 {
		t.Errorf("after the ramp: %d of 500 admitted", got)
	}
	// A new overload during a ramp starts it over.
	d.observe(at(40*time.Second), 150*ms, 0)
	d.observe(at(40100*ms), 0, 0)
	d.observe(at(41100*ms), 0, 0)
	if d.overloaded || d.rate != briefRampStart {
		t.Fatalf("after a brief overload: overloaded %v, rate %v", d.overloaded, d.rate)
	}
	d.observe(at(41200*ms), 150*ms, 0)
	d.observe(at(41300*ms), 0, 0)
	d.observe(at(42300*ms), 0, 0)
	if d.overloaded || d.rate != rampStart {
		t.Errorf("after a second overload: overloaded %v, rate %v", d.overloaded, d.rate)
	}
}

// A brief overload (the threshold reached in at most briefOverload
// measurements, never twice it, with no ramp going on) readmits from
// briefRampStart a second and up to every call it began with; one
// longer, higher or during a ramp readmits from rampStart and up to 80%.
func TestLagDetectorBriefOverload(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		lags      []time.Duration // measured 100 ms apart, from the overload's start
		rate      float64
		limit     int
		twoInARow bool // a first overload just before: this one is during its ramp
	}{
		{"one moment", []time.Duration{150 * ms}, briefRampStart, 1000, false},
		{"three moments, apart", []time.Duration{150 * ms, 60 * ms, 199 * ms, 10 * ms, 100 * ms}, briefRampStart, 1000, false},
		{"four moments", []time.Duration{150 * ms, 150 * ms, 150 * ms, 150 * ms}, rampStart, 800, false},
		{"twice the threshold", []time.Duration{200 * ms}, rampStart, 800, false},
		{"during a ramp", []time.Duration{150 * ms}, rampStart, 800, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := lagDetector{threshold: 100 * ms, hold: time.Second}
			now := time.Unix(1e9, 0)
			step := func(lag time.Duration, calls int) {
				d.observe(now, lag, calls)
				now = now.Add(100 * ms)
			}
			recover := func(calls int) {
				for d.overloaded {
					step(0, calls)
				}
			}
			if tt.twoInARow {
				step(150*ms, 1000)
				recover(1000)
				if d.rate != briefRampStart {
					t.Fatalf("the first overload: rate %v, want %v", d.rate, briefRampStart)
				}
			}
			for _, lag := range tt.lags {
				step(lag, 1000)
			}
			recover(1000)
			if d.rate != tt.rate || d.limit != tt.limit {
				t.Errorf("after the overload: rate %v, limit %d; want %v, %d", d.rate, d.limit, tt.rate, tt.limit)
			}
		})
	}
}

// After an overload the calls at once are limited to 80% of those the
// overload began with; the limit grows by a tenth a second of low lag
// while the calls press against it, and not while they do not.
func TestLagDetectorCallLimit(t *testing.T) {
	ms := time.Millisecond
	d := lagDetector{threshold: 100 * ms, hold: time.Second}
	t0 := time.Unix(1e9, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if !d.admit(at(0), 5000) {
		t.Fatal("no limit before an overload")
	}
	d.observe(at(0), 300*ms, 200)
	if d.limit != 160 {
		t.Fatalf("limit %d after an overload at 200 calls, want 160", d.limit)
	}
	d.observe(at(100*ms), 0, 200)
	d.observe(at(1100*ms), 0, 200) // recovered
	d.tokens = 1
	if d.admit(at(1100*ms), 160) {
		t.Error("admitted at the limit")
	}
	if !d.admit(at(1100*ms), 159) {
		t.Error("not admitted below the limit")
	}
	d.observe(at(2100*ms), 10*ms, 100) // calls far below it: it stays
	if d.limit != 160 {
		t.Errorf("the limit grew with calls far below it: %d", d.limit)
	}
	d.observe(at(3100*ms), 10*ms, 150) // pressing: a tenth more
	if d.limit != 176 {
		t.Errorf("limit %d after a second of low lag at 150 calls, want 176", d.limit)
	}
	d.observe(at(3600*ms), 60*ms, 176) // above half the threshold: held
	d.observe(at(4100*ms), 10*ms, 176)
	if d.limit != 176 {
		t.Errorf("limit %d grew within a second of a high lag", d.limit)
	}
	d.observe(at(4700*ms), 10*ms, 176)
	if d.limit != 193 {
		t.Errorf("limit %d, want 193", d.limit)
	}
	// An overload with few calls keeps a limit of rampStart.
	d2 := lagDetector{threshold: 100 * ms, hold: time.Second}
	d2.observe(at(0), time.Second, 3)
	if d2.limit != int(rampStart) {
		t.Errorf("limit %d after an overload at 3 calls", d2.limit)
	}
}
