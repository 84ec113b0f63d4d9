package main

import (
	"math"
	"slices"
	"testing"

	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// heardWithoutGaps returns the audio of a simulated call's recording (mono,
// at rate, the rate of the audio played) with the silence of every gap
// the report lists cut out, having checked that each is silence where the
// report puts it. The end-to-end tests over real sockets compare what the
// caller heard with what the pipeline made this way: on a loaded machine
// a real-time call may run dry (the machine, not the code, was late), and
// the precise timing claims are made on a fake clock (the synctest tests
// of package elkstest), but the audio heard must be all there, in order,
// sample for sample.
func heardWithoutGaps(t *testing.T, heard []float32, rate int, rep *elkstest.Report) []float32 {
	t.Helper()
	heard = afterFirstAudio(t, heard, rate, rep)
	if rep.Gaps.Count > len(rep.Gaps.List) {
		t.Fatalf("%d gaps, %d listed: cannot cut them all out of the recording", rep.Gaps.Count, len(rep.Gaps.List))
	}
	if rep.Gaps.Count > 0 {
		t.Logf("the call ran dry %d times (%.3f s): %+v", rep.Gaps.Count, rep.Gaps.Seconds, rep.Gaps.List)
	}
	out := make([]float32, 0, len(heard))
	pos, silent := 0, 0.0 // samples of the recording taken; seconds of gaps before
	for i, g := range rep.Gaps.List {
		// The recording holds the audio played before the gap, then the
		// gap's silence, as many samples as the simulator rounds it to.
		audio := int(math.Round((g.Heard - silent) * float64(rate)))
		at := audio + pos - len(out)
		n := int(math.Round(g.Seconds * float64(rate)))
		if at < pos || at+n > len(heard) {
			t.Fatalf("gap %d (%+v) is outside the recording of %d samples", i, g, len(heard))
		}
		for k := at; k < at+n; k++ {
			if heard[k] != 0 {
				t.Fatalf("gap %d (%+v): sample %d of the recording is %g, want silence", i, g, k, heard[k])
			}
		}
		out = append(out, heard[pos:at]...)
		pos = at + n
		silent += g.Seconds
	}
	return append(out, heard[pos:]...)
}

// afterFirstAudio checks that a simulated call's recording (mono, at
// rate) starts with the silence the caller heard before the first audio,
// and returns what follows it.
func afterFirstAudio(t *testing.T, heard []float32, rate int, rep *elkstest.Report) []float32 {
	t.Helper()
	n := int(math.Round(rep.FirstAudio * float64(rate)))
	if n > len(heard) {
		t.Fatalf("the recording (%d samples) is shorter than the silence before the first audio at %v s", len(heard), rep.FirstAudio)
	}
	for i, v := range heard[:n] {
		if v != 0 {
			t.Fatalf("sample %d, before the first audio at %v s, is %g: want silence", i, rep.FirstAudio, v)
		}
	}
	return heard[n:]
}

// heardWithoutGaps cuts each gap's silence where the report puts it.
func TestHeardWithoutGaps(t *testing.T) {
	heard := []float32{1, 2, 0, 0, 3, 4, 5, 0, 6}
	rep := &elkstest.Report{Gaps: elkstest.Gaps{Count: 2, Seconds: 3, List: []elkstest.Gap{
		{At: 2, Heard: 2, Seconds: 2}, {At: 7, Heard: 7, Seconds: 1},
	}}}
	got := heardWithoutGaps(t, heard, 1, rep)
	if want := []float32{1, 2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := heardWithoutGaps(t, heard[:4], 1, &elkstest.Report{}); !slices.Equal(got, heard[:4]) {
		t.Errorf("no gaps: got %v", got)
	}
}
