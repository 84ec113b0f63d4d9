package elkstest

import (
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/schedlag"
)

// A simulator starved of CPU says so: with goroutines spinning on every
// processor for a second (32 per processor, each given 10 ms in its
// turn), MeasureLag finds the lag at or above LagBound for part of it,
// and the summary's last line warns that the figures may be the
// simulator's own.
func TestMeasureLagSeesAStarvedSimulator(t *testing.T) {
	start := time.Now()
	stop := MeasureLag()
	stopSpinning := schedlag.Spin(32)
	time.Sleep(time.Second)
	stopSpinning()
	lag := stop()
	// The time above the bound is some of the run, never more than it
	// (a busy machine may stretch the run, not what is counted of it).
	if ran := time.Since(start).Seconds(); !lag.Doubtful() || lag.Max < LagBound.Seconds() || lag.Above > ran {
		t.Fatalf("lag %+v while every processor spun for a second (%.2f s in all): want a max of at least %v, and some of the run above it", lag, ran, LagBound)
	}
	var b strings.Builder
	s := Summary{SimulatorLag: &lag}
	s.WriteText(&b)
	if !strings.Contains(b.String(), "the simulator was short of CPU") {
		t.Errorf("no warning in the summary:\n%s", b.String())
	}
}

// The summary's line of the simulator's lag: the maximum alone when it
// stayed below LagBound; with a warning when it did not.
func TestSummaryLagLine(t *testing.T) {
	for _, tt := range []struct {
		lag  Lag
		want string
	}{
		{Lag{Max: 0.004}, "simulator lag: max 4.0 ms\n"},
		{Lag{Max: 0.27, Above: 0.8}, "simulator lag: max 0.27 s, 0.80 s of the run at or above 100ms: the simulator was short of CPU, " +
			"and some of the gaps, late syncs and first-audio times above may be its own (give it a core of its own, or fewer calls)\n"},
	} {
		var b strings.Builder
		s := Summary{SimulatorLag: &tt.lag}
		s.WriteText(&b)
		if !strings.HasSuffix(b.String(), tt.want) {
			t.Errorf("%+v: got\n%s\nwant it to end with\n%s", tt.lag, b.String(), tt.want)
		}
	}
	var b strings.Builder
	(&Summary{}).WriteText(&b)
	if strings.Contains(b.String(), "simulator lag") {
		t.Errorf("a lag line without a measurement:\n%s", b.String())
	}
}
