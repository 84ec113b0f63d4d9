package sources

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// open opens o, failing the test on error.
func open(t testing.TB, o pipeline.Opener) pipeline.Source {
	t.Helper()
	src, err := o(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return src
}

// element builds the registered source element name from named parameter
// values, as the pipe syntax would.
func element(name string, params map[string]string) (pipeline.Opener, error) {
	e, err := pipeline.DefaultRegistry.Lookup(name, pipeline.KindSource)
	if err != nil {
		return nil, err
	}
	a, err := pipeline.NewArgs(e, params)
	if err != nil {
		return nil, err
	}
	return e.NewSource(a)
}

// mustElement is element that fails the test on error.
func mustElement(t testing.TB, name string, params map[string]string) pipeline.Opener {
	t.Helper()
	o, err := element(name, params)
	if err != nil {
		t.Fatalf("%s %v: %v", name, params, err)
	}
	return o
}

// opener adapts an Opener to audiotest.CheckContract.
func opener(o pipeline.Opener) func() (pipeline.Source, error) {
	return func() (pipeline.Source, error) { return o(context.Background()) }
}

// quantize16 rounds samples to 16 bits by the project's convention.
func quantize16(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		s := math.Max(-32768, math.Min(32767, math.Round(v*32768)))
		out[i] = s / 32768
	}
	return out
}

func db(x float64) float64 { return 20 * math.Log10(x) }

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
