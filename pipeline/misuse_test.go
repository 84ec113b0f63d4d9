package pipeline

import (
	"context"
	"errors"
	"testing"
)

func constOpener(f Format, frames int) Opener {
	return func(context.Context) (Source, error) {
		return FromSlice(f, make([]float32, frames*max(f.Channels, 0))), nil
	}
}

func TestRunTwiceIsAnError(t *testing.T) {
	for _, sink := range []Sink{&collect{}, &serverSink{}} {
		g := &Graph{
			Sources: []Stage{{Name: "const", Open: constOpener(Format{Rate: 8000, Channels: 1}, 80)}},
			Sink:    Stage{Name: "collect", Sink: sink},
		}
		p, err := Build(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		err = p.Run(context.Background())
		want := "the pipeline has already run (Build the Graph again to run it again)"
		if !errors.Is(err, ErrAlreadyRun) || err.Error() != want {
			t.Errorf("%T: second Run: %v; want %q", sink, err, want)
		}
	}
}

func TestRunAfterCloseIsAnError(t *testing.T) {
	g := &Graph{
		Sources: []Stage{{Name: "const", Open: constOpener(Format{Rate: 8000, Channels: 1}, 80)}},
		Sink:    Stage{Name: "collect", Sink: &collect{}},
	}
	p, err := Build(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	if want := "the pipeline is closed"; err == nil || err.Error() != want {
		t.Errorf("Run after Close: %v; want %q", err, want)
	}
}

func TestBuildRejectsIncompleteStages(t *testing.T) {
	good := Stage{Name: "const", Open: constOpener(Format{Rate: 8000, Channels: 1}, 80)}
	sink := Stage{Name: "collect", Sink: &collect{}}
	cases := []struct {
		name string
		g    *Graph
		want string
	}{
		{"nil graph", nil, "nil Graph"},
		{"source without Open", &Graph{Sources: []Stage{{Name: "x"}}, Sink: sink},
			`x: a source Stage needs Open`},
		{"second source without Open", &Graph{Sources: []Stage{good, {Name: "y"}}, Sink: sink},
			`y: a source Stage needs Open`},
		{"nameless transform", &Graph{Sources: []Stage{good}, Transforms: []Stage{{Transform: scale(1)}, {}}, Sink: sink},
			`transform 2: a transform Stage needs Transform`},
		{"transform without Transform", &Graph{Sources: []Stage{good}, Transforms: []Stage{{Name: "gain"}}, Sink: sink},
			`gain: a transform Stage needs Transform`},
		{"sink without Sink", &Graph{Sources: []Stage{good}, Sink: Stage{Name: "out"}},
			`out: a sink Stage needs Sink`},
		{"no sink", &Graph{Sources: []Stage{good}},
			"the pipeline has no sink (end it with wav, raw, null or elks)"},
		{"no source", &Graph{Sink: sink}, "the pipeline has no source"},
		{"zero format", &Graph{Sources: []Stage{{Name: "custom", Open: constOpener(Format{}, 0)}}, Sink: sink},
			"custom: sample rate 0 Hz out of range 1..768000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Build panicked: %v", r)
					}
				}()
				_, err = Build(context.Background(), c.g)
			}()
			if err == nil || err.Error() != c.want {
				t.Errorf("Build: %v; want %q", err, c.want)
			}
		})
	}
	if _, err := (*Graph)(nil).Opener(); err == nil || err.Error() != "nil Graph" {
		t.Errorf("nil Graph Opener: %v", err)
	}
	if _, err := (&Graph{Sources: []Stage{{Name: "x"}}}).Opener(); err == nil || err.Error() != "x: a source Stage needs Open" {
		t.Errorf("Opener: %v", err)
	}
}

func TestFromSliceInvalidFormat(t *testing.T) {
	for _, f := range []Format{{}, {Rate: 8000}, {Channels: 1}, {Rate: -1, Channels: 1}} {
		src := FromSlice(f, []float32{1, 2, 3})
		if src.Format() != f {
			t.Errorf("Format() = %v; want %v", src.Format(), f)
		}
		n, err := src.Read(make([]float32, 16))
		want := "FromSlice: " + f.Validate().Error()
		if n != 0 || err == nil || err.Error() != want {
			t.Errorf("%v: Read = %d, %v; want 0, %q", f, n, err, want)
		}
		if got := FramesOf(src); got != -1 {
			t.Errorf("%v: Frames = %d", f, got)
		}
	}
}
