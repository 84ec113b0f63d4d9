package transforms

import (
	"math"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// must returns a function that returns the transform a constructor made,
// failing the test if it returned an error: must(t)(Gain(-6)).
func must(t testing.TB) func(pipeline.Transform, error) pipeline.Transform {
	return func(tr pipeline.Transform, err error) pipeline.Transform {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
}

// TestConstructorsValidate checks that every transform constructor refuses
// bad arguments with an error, before any source is at hand.
func TestConstructorsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		make func() (pipeline.Transform, error)
		want string // "" for success
	}{
		{"Gain(-6)", func() (pipeline.Transform, error) { return Gain(-6) }, ""},
		{"Gain(-120)", func() (pipeline.Transform, error) { return Gain(-120) }, ""},
		{"Gain(60)", func() (pipeline.Transform, error) { return Gain(60) }, ""},
		{"Gain(NaN)", func() (pipeline.Transform, error) { return Gain(math.NaN()) }, "finite"},
		{"Gain(+Inf)", func() (pipeline.Transform, error) { return Gain(math.Inf(1)) }, "finite"},
		{"Gain(-Inf)", func() (pipeline.Transform, error) { return Gain(math.Inf(-1)) }, "finite"},
		{"Gain(61)", func() (pipeline.Transform, error) { return Gain(61) }, "out of range"},
		{"Gain(-121)", func() (pipeline.Transform, error) { return Gain(-121) }, "out of range"},
		{"Resample(8000, 0)", func() (pipeline.Transform, error) { return Resample(8000, 0) }, ""},
		{"Resample(8000, VeryHigh)", func() (pipeline.Transform, error) { return Resample(8000, VeryHigh) }, ""},
		{"Resample(0, High)", func() (pipeline.Transform, error) { return Resample(0, High) }, "out of range"},
		{"Resample(-8000, High)", func() (pipeline.Transform, error) { return Resample(-8000, High) }, "out of range"},
		{"Resample(MaxRate+1, High)", func() (pipeline.Transform, error) { return Resample(pipeline.MaxRate+1, High) }, "out of range"},
		{"Resample(8000, 42)", func() (pipeline.Transform, error) { return Resample(8000, Quality(42)) }, "quality"},
		{"Resample(8000, -1)", func() (pipeline.Transform, error) { return Resample(8000, Quality(-1)) }, "quality"},
		{"Loop(0)", func() (pipeline.Transform, error) { return Loop(0) }, ""},
		{"Loop(3)", func() (pipeline.Transform, error) { return Loop(3) }, ""},
		{"Loop(-1)", func() (pipeline.Transform, error) { return Loop(-1) }, "negative"},
		{"Mono()", Mono, ""},
		{"Channels(0)", func() (pipeline.Transform, error) { return Channels(0) }, "out of range"},
	} {
		tr, err := c.make()
		switch {
		case c.want == "" && (err != nil || tr == nil):
			t.Errorf("%s = %v, %v; want a transform", c.name, tr, err)
		case c.want != "" && (err == nil || tr != nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s = %v, %v; want no transform and an error about %q", c.name, tr, err, c.want)
		}
	}
}
