package elkstest

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// The summary's first-audio percentiles are nearest-rank, exact on a
// known set; calls that could not be made or heard nothing are left out.
func TestSummaryFirstAudioPercentiles(t *testing.T) {
	var reports []*Report
	// 1 ms ... 200 ms, in a scrambled order.
	for i := range 200 {
		k := (i*37)%200 + 1
		reports = append(reports, &Report{FirstAudio: float64(k) / 1000, Played: 1})
	}
	reports = append(reports, nil, &Report{FirstAudio: 0}) // failed; no audio
	s := Summarize(reports)
	want := Percentiles{Count: 200, P50: 0.100, P99: 0.198, Max: 0.200}
	if s.FirstAudio != want || s.Calls != 202 || s.Failed != 1 {
		t.Fatalf("first audio %+v (calls %d, failed %d), want %+v", s.FirstAudio, s.Calls, s.Failed, want)
	}
	var b bytes.Buffer
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "first audio: p50 0.10 s, p99 0.20 s, max 0.20 s (over 200 calls)") {
		t.Errorf("summary text:\n%s", b.String())
	}
	if got := percentiles([]float64{0.3}); got != (Percentiles{Count: 1, P50: 0.3, P99: 0.3, Max: 0.3}) {
		t.Errorf("one value: %+v", got)
	}
	if got := Summarize([]*Report{nil}); got.FirstAudio != (Percentiles{}) || got.EndedBy == nil || got.Violations == nil {
		t.Errorf("no audio: %+v", got)
	}
}

// The Summarizer sums up as Summarize does and keeps no report: a report
// it was given can be collected.
func TestSummarizerKeepsNoReport(t *testing.T) {
	var z Summarizer
	var weaks []weak.Pointer[Report]
	for i := range 100 {
		r := &Report{
			End: End{By: elks.ByAPI}, FirstAudio: float64(i) / 1000, Played: 2,
			Gaps:       Gaps{Count: 1, Seconds: 0.5, List: make([]Gap, 1000)},
			Violations: map[ViolationKind]int{Malformed: 1},
			Audio:      Audio{Messages: 3}, Syncs: Syncs{Requests: 2, Answered: 1},
		}
		weaks = append(weaks, weak.Make(r))
		z.Add(r)
	}
	runtime.GC()
	for i, w := range weaks {
		if w.Value() != nil {
			t.Fatalf("report %d still reachable after Add", i)
		}
	}
	s := z.Summary()
	if s.Calls != 100 || s.EndedBy[elks.ByAPI] != 100 || s.Gaps != 100 || s.CallsWithGaps != 100 ||
		math.Abs(s.Played-200) > 1e-9 || s.Violations[Malformed] != 100 || s.FirstAudio.Max != 0.099 ||
		s.Messages != 300 || s.SyncRequests != 200 || s.Syncs != 100 {
		t.Errorf("summary %+v", s)
	}
	// Summary is a snapshot: adding more does not change it.
	z.Add(nil)
	if s.Calls != 100 || s.Violations[Malformed] != 100 {
		t.Errorf("snapshot changed: %+v", s)
	}
	// What Add keeps per call is bounded: no allocation per call beyond
	// the amortized growth of one float64 slice.
	r := &Report{End: End{By: elks.ByAPI}, FirstAudio: 0.01, Played: 1}
	if a := testing.AllocsPerRun(1000, func() { z.Add(r) }); a > 0.1 {
		t.Errorf("%.2f allocations per call summed up", a)
	}
}

// Arrivals at a rate are a Poisson process: the first at once, the gaps
// exponential with mean 1/rate (their standard deviation equals their
// mean, which even spacing would not give), the same for the same seed.
func TestArrivalsPoisson(t *testing.T) {
	const n, rate = 20000, 100.0
	at := Load{Calls: n, Rate: rate, Seed: 7}.arrivals()
	if at[0] != 0 {
		t.Fatalf("first arrival at %v", at[0])
	}
	var sum, sq float64
	for i := 1; i < n; i++ {
		g := (at[i] - at[i-1]).Seconds()
		if g < 0 {
			t.Fatalf("arrival %d before arrival %d", i, i-1)
		}
		sum += g
		sq += g * g
	}
	mean := sum / (n - 1)
	sd := math.Sqrt(sq/(n-1) - mean*mean)
	if math.Abs(mean-1/rate) > 0.05/rate || math.Abs(sd/mean-1) > 0.05 {
		t.Errorf("gaps: mean %.5f s (want %.5f), sd/mean %.3f (want 1)", mean, 1/rate, sd/mean)
	}
	again := Load{Calls: n, Rate: rate, Seed: 7}.arrivals()
	for i := range at {
		if at[i] != again[i] {
			t.Fatalf("seed 7 gave arrival %d at %v and %v", i, at[i], again[i])
		}
	}
	for i, d := range (Load{Calls: 5}).arrivals() {
		if d != 0 {
			t.Errorf("rate 0: call %d at %v", i, d)
		}
	}
}

// schedule starts each call at its arrival time, on the virtual clock
// exactly, and starts no more once the context is cancelled.
func TestScheduleOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := Load{Calls: 50, Rate: 20, Seed: 3}.arrivals()
		var mu sync.Mutex
		got := make([]time.Duration, len(at))
		t0 := time.Now()
		schedule(context.Background(), at, func(i int) {
			mu.Lock()
			got[i] = time.Since(t0)
			mu.Unlock()
			time.Sleep(time.Second) // a call under way while others start
		})
		for i := range at {
			if got[i] != at[i] {
				t.Errorf("call %d started at %v, want %v", i, got[i], at[i])
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(at[10]+(at[11]-at[10])/2, cancel)
		started := 0
		schedule(ctx, at, func(int) {
			mu.Lock()
			started++
			mu.Unlock()
		})
		if started != 11 {
			t.Errorf("%d calls started before the cancellation, want 11", started)
		}
	})
}

// Drive hands over every call's report as the call ends, one at a time,
// with call ids numbered as Calls numbers them.
func TestDrive(t *testing.T) {
	checkLeaks(t)
	samples := makeTone(8000/2, 8000, 440, 0.5)
	srv := serveApp(t, func(a *testApp) {
		windowApp(a, elks.ULaw, samples, 2*time.Second)
	})
	var z Summarizer
	ids := map[string]bool{}
	inDone := false
	err := Drive(context.Background(), Options{URL: srv.url, Speed: 1, CallID: "d"}, Load{Calls: 5, Rate: 50, Seed: 1},
		func(n int, r *Report, err error) {
			if inDone {
				t.Error("done called concurrently")
			}
			inDone = true
			defer func() { inDone = false }()
			if err != nil || r == nil {
				t.Errorf("call %d: %v", n, err)
				return
			}
			ids[r.CallID] = true
			z.Add(r)
		})
	srv.wait()
	if err != nil {
		t.Fatal(err)
	}
	s := z.Summary()
	if s.Calls != 5 || s.Failed != 0 || s.FirstAudio.Count != 5 || s.EndedBy[elks.ByApp] != 5 || len(ids) != 5 || !ids["d-5"] {
		t.Errorf("summary %+v, ids %v", s, ids)
	}
	if err := Drive(context.Background(), Options{URL: srv.url}, Load{Calls: 0}, nil); err == nil {
		t.Error("0 calls: no error")
	}
	if err := Drive(context.Background(), Options{URL: srv.url}, Load{Calls: 1, Rate: -1}, nil); err == nil {
		t.Error("rate -1: no error")
	}
}
