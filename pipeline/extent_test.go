package pipeline

import (
	"context"
	"strings"
	"testing"
)

// keeper is a sink that needs an end unless it was given endless=true.
type keeper struct {
	collect
	endless bool
}

func (k *keeper) NeedsEnd() bool { return !k.endless }

// extentRegistry has sources and transforms that declare their Extent as
// tone, loop and trim do, one of each that does not, and sinks that do and
// do not need an end. It counts the sources it opens in *opens.
func extentRegistry(opens *int) *Registry {
	r := NewRegistry()
	open := func(Args) (Opener, error) {
		o := constOpener(Format{Rate: 8000, Channels: 1}, 80)
		return func(ctx context.Context) (Source, error) { *opens++; return o(ctx) }, nil
	}
	r.Register(Element{Name: "gen", Kind: KindSource, Summary: "endless without dur",
		Params: []Param{{Name: "dur", Type: TypeDuration}}, Extent: EndlessWithout("dur"), NewSource: open})
	r.Register(Element{Name: "file", Kind: KindSource, Summary: "finite",
		Extent: func(Args, Extent) Extent { return ExtentFinite }, NewSource: open})
	r.Register(Element{Name: "stdin", Kind: KindSource, Summary: "says nothing", NewSource: open})
	r.Register(Element{Name: "loop", Kind: KindTransform, Summary: "endless without count",
		Params: []Param{{Name: "count", Type: TypeInt, Positional: true}},
		Extent: func(a Args, in Extent) Extent {
			if a.Has("count") {
				return in
			}
			return ExtentEndless
		},
		NewTransform: func(Args) (Transform, error) { return scale(1), nil }})
	r.Register(Element{Name: "trim", Kind: KindTransform, Summary: "finite with dur",
		Params: []Param{{Name: "dur", Type: TypeDuration}},
		Extent: func(a Args, in Extent) Extent {
			if a.Has("dur") {
				return ExtentFinite
			}
			return in
		},
		NewTransform: func(Args) (Transform, error) { return scale(1), nil }})
	r.Register(Element{Name: "gain", Kind: KindTransform, Summary: "says nothing",
		NewTransform: func(Args) (Transform, error) { return scale(1), nil }})
	r.Register(Element{Name: "keep", Kind: KindSink, Summary: "needs an end",
		Params:  []Param{{Name: "endless", Type: TypeBool}},
		NewSink: func(a Args) (Sink, error) { return &keeper{endless: a.Bool("endless")}, nil }})
	r.Register(Element{Name: "pass", Kind: KindSink, Summary: "takes anything",
		NewSink: func(Args) (Sink, error) { return &collect{}, nil }})
	return r
}

func TestGraphExtent(t *testing.T) {
	cases := []struct {
		text string
		want Extent
	}{
		{"gen", ExtentEndless},
		{"gen dur=1s", ExtentFinite},
		{"file", ExtentFinite},
		{"stdin", ExtentUnknown},
		{"file + gen", ExtentEndless},
		{"stdin + gen dur=1s", ExtentUnknown},
		{"file + gen dur=1s", ExtentFinite},
		{"gen | gain", ExtentEndless},
		{"gen | trim dur=1s", ExtentFinite},
		{"gen | trim", ExtentEndless},
		{"file | loop", ExtentEndless},
		{"file | loop 3", ExtentFinite},
		{"stdin | loop 3", ExtentUnknown},
		{"stdin | loop", ExtentEndless},
		{"gen | trim dur=1s | loop", ExtentEndless},
		{"file | loop | trim dur=1s | gain", ExtentFinite},
	}
	var opens int
	r := extentRegistry(&opens)
	for _, c := range cases {
		g, err := r.SourceGraph(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Extent(); got != c.want {
			t.Errorf("%s: %v, want %v", c.text, got, c.want)
		}
	}
	// Stages built in Go say nothing: unknown sources, transforms pass through.
	g := &Graph{Sources: []Stage{{Name: "go", Open: constOpener(Format{Rate: 8000, Channels: 1}, 1)}},
		Transforms: []Stage{{Name: "t", Transform: scale(1)}}}
	if got := g.Extent(); got != ExtentUnknown {
		t.Errorf("a Go-built graph: %v, want unknown", got)
	}
}

func TestBuildRefusesEndlessIntoKeepingSink(t *testing.T) {
	cases := []struct{ text, culprit string }{
		{"gen | keep", `"gen" never ends`},
		{"file | gain | loop | keep", `"loop" never ends`},
		{"file + gen | trim | keep", `"gen" never ends`},
	}
	for _, c := range cases {
		var opens int
		spec, err := extentRegistry(&opens).Parse(c.text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(context.Background(), g)
		if err == nil {
			p.Close()
			t.Errorf("%s: built, want refused", c.text)
			continue
		}
		if !IsConfigError(err) {
			t.Errorf("%s: %v is not a ConfigError", c.text, err)
		}
		msg := err.Error()
		for _, want := range []string{"keep: " + c.culprit, "dur=", "trim dur=", "loop N", "endless=true"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not say %q", c.text, msg, want)
			}
		}
		if opens != 0 {
			t.Errorf("%s: %d sources opened before refusing", c.text, opens)
		}
	}
	for _, text := range []string{
		"gen | keep endless=true", // opted in
		"gen | pass",              // a sink that passes the stream on
		"gen dur=1s | keep",
		"gen | trim dur=1s | keep",
		"file | loop 2 | keep",
		"stdin | keep", // unknown: allowed
	} {
		var opens int
		spec, err := extentRegistry(&opens).Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(context.Background(), g)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		p.Close()
	}
}
