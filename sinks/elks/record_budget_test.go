package elks

import (
	"testing"
	"time"
)

// The budget keeps the caller's audio up to the time since its first
// message plus recordAhead, and up to its longest, whatever the peer
// sends: a table of arrivals and what each keeps.
func TestRecordBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type arrival struct {
		at       time.Duration // after t0
		n        int           // frames decoded from it (at 1000 Hz: ms)
		keep     int
		why      int
		fullNext bool
	}
	for _, c := range []struct {
		name     string
		max      time.Duration
		arrivals []arrival
	}{
		{"real time keeps everything", time.Hour, []arrival{
			{0, 20, 20, keptAll, false}, {20 * time.Millisecond, 20, 20, keptAll, false},
			{40 * time.Millisecond, 20, 20, keptAll, false}}},
		{"a burst after a stall within the allowance", time.Hour, []arrival{
			{0, 20, 20, keptAll, false}, {3 * time.Second, 3000, 3000, keptAll, false}}},
		{"a flood stops at 5 s ahead", time.Hour, []arrival{
			{0, 4000, 4000, keptAll, false}, {0, 2000, 1000, cutAhead, false}, {0, 1000, 0, cutAhead, false},
			// The clock moves on: 1 s later, 1 s more is kept.
			{time.Second, 1500, 1000, cutAhead, false}}},
		{"the longest recording", 2 * time.Second, []arrival{
			{0, 1500, 1500, keptAll, false}, {time.Second, 1000, 500, cutAtMax, true}, {time.Minute, 20, 0, cutAtMax, true}}},
		{"a flood past both limits counts as the longest", 3 * time.Second, []arrival{
			{0, 10000, 3000, cutAtMax, true}}},
		{"a message from before the first does not move the clock back", time.Hour, []arrival{
			{time.Second, 5000, 5000, keptAll, false}, {0, 100, 0, cutAhead, false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newRecordBudget(1000, c.max)
			for i, a := range c.arrivals {
				keep, why := b.admit(t0.Add(a.at), a.n)
				if keep != a.keep || why != a.why || b.full() != a.fullNext {
					t.Errorf("arrival %d (%v, %d frames): kept %d (%d), full %v; want %d (%d), full %v",
						i, a.at, a.n, keep, why, b.full(), a.keep, a.why, a.fullNext)
				}
			}
		})
	}
}

// durFrames is exact at every listening rate, up to the longest budget.
func TestDurFrames(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		rate int
		want int64
	}{
		{time.Second, 8000, 8000},
		{20 * time.Millisecond, 16000, 320},
		{12 * time.Hour, 48000, 12 * 3600 * 48000},
		{1500 * time.Microsecond, 8000, 12},
		{100 * 24 * time.Hour, 8000, 24 * 3600 * 8000},
	} {
		if got := durFrames(c.d, c.rate); got != c.want {
			t.Errorf("durFrames(%v, %d) = %d, want %d", c.d, c.rate, got, c.want)
		}
	}
}
