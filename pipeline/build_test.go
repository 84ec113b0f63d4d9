package pipeline

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// fakeConverters registers converters that change the format by the
// crudest means (sample repetition / dropping), enough to test Build.
func fakeConverters(t *testing.T) *[]string {
	var calls []string
	convertersMu.Lock()
	saved := converters
	convertersMu.Unlock()
	t.Cleanup(func() { convertersMu.Lock(); converters = saved; convertersMu.Unlock() })
	RegisterConverters(Converters{
		Channels: func(src Source, ch int) (Source, error) {
			calls = append(calls, "remix")
			return &naive{Source: src, f: Format{Rate: src.Format().Rate, Channels: ch}}, nil
		},
		Resample: func(src Source, rate int) (Source, error) {
			calls = append(calls, "resample")
			return &naive{Source: src, f: Format{Rate: rate, Channels: src.Format().Channels}}, nil
		},
	})
	return &calls
}

// naive relabels the format and takes the first channel of each frame; it
// stands in for real converters in these tests.
type naive struct {
	Source
	f   Format
	buf []float32
}

func (n *naive) Format() Format { return n.f }
func (n *naive) Read(p []float32) (int, error) {
	in := n.Source.Format().Channels
	frames := len(p) / n.f.Channels
	if cap(n.buf) < frames*in {
		n.buf = make([]float32, frames*in)
	}
	k, err := n.Source.Read(n.buf[:frames*in])
	for i := 0; i < k; i++ {
		for c := 0; c < n.f.Channels; c++ {
			p[i*n.f.Channels+c] = n.buf[i*in]
		}
	}
	return k, err
}
func (n *naive) Close() error { return Close(n.Source) }

func buildText(t *testing.T, r *Registry, ctx context.Context, text string) (*Pipeline, *collect) {
	t.Helper()
	spec, err := r.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	return p, g.Sink.Sink.(*collect)
}

func TestBuildInsertsConvertersInOrder(t *testing.T) {
	r := testRegistry()
	calls := fakeConverters(t)
	ctx := context.Background()
	p, sink := buildText(t, r, ctx, "const 0.5 channels=2 rate=16k dur=10ms | gain -6dB | collect rate=8k")
	want := "const 0.5 channels=2 rate=16k dur=10ms [16000 Hz stereo] | gain -6dB [16000 Hz stereo] | " +
		"channels 1 (auto) [16000 Hz mono] | resample 8000 (auto) [8000 Hz mono] | collect rate=8k"
	if got := p.Describe(); got != want {
		t.Errorf("Describe:\n got %s\nwant %s", got, want)
	}
	if strings.Join(*calls, ",") != "remix,resample" {
		t.Errorf("converters called %v; want downmix before resampling", *calls)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if sink.f != (Format{8000, 1}) || len(sink.got) != 160 {
		t.Fatalf("sink got %v, %d samples", sink.f, len(sink.got))
	}
	if v := sink.got[10]; v < 0.2505 || v > 0.2507 {
		t.Errorf("sample = %v, want 0.5 at -6 dB", v)
	}

	*calls = nil
	p, _ = buildText(t, r, ctx, "const rate=8k | collect rate=16k")
	p.Close()
	if strings.Join(*calls, ",") != "resample" {
		t.Errorf("calls %v", *calls)
	}
}

func TestBuildWithoutConverters(t *testing.T) {
	convertersMu.Lock()
	saved := converters
	converters = Converters{}
	convertersMu.Unlock()
	defer func() { convertersMu.Lock(); converters = saved; convertersMu.Unlock() }()
	spec, _ := testRegistry().Parse("const rate=16k | collect rate=8k")
	g, _ := spec.Graph()
	_, err := Build(context.Background(), g)
	if err == nil || !strings.Contains(err.Error(), "no resample stage registered") {
		t.Fatalf("err = %v", err)
	}
}

func TestConcatEventsAndFormat(t *testing.T) {
	r := testRegistry()
	fakeConverters(t)
	var events []string
	ctx := WithObserver(context.Background(), func(e Event) { events = append(events, e.Kind.String()) })
	p, sink := buildText(t, r, ctx, "const 0.1 dur=5ms + const 0.2 dur=10ms rate=16k + const 0.3 dur=1ms | collect")
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if sink.f != (Format{8000, 1}) {
		t.Errorf("format %v; want the first item's", sink.f)
	}
	// The naive converter relabels the 16 kHz item's 160 frames as 8 kHz.
	if len(sink.got) != 40+160+8 {
		t.Errorf("%d samples", len(sink.got))
	}
	if sink.got[39] != 0.1 || sink.got[40] != 0.2 || sink.got[199] != 0.2 || sink.got[200] != 0.3 {
		t.Errorf("boundaries wrong: %v %v %v", sink.got[39], sink.got[40], sink.got[200])
	}
	want := "item started,item ended,item started,item ended,item started,item ended"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("events %s", got)
	}
}

// failing is a source that fails, or panics, after some frames.
type failing struct {
	left  int
	panic bool
}

func (f *failing) Format() Format { return Format{8000, 1} }
func (f *failing) Read(p []float32) (int, error) {
	if f.left == 0 {
		if f.panic {
			var m map[string]int
			m["boom"]++ // a nil-map write, like a decoder bug
		}
		return 0, errors.New("disk on fire")
	}
	n := min(f.left, len(p))
	f.left -= n
	return n, nil
}

func TestStageErrorsAndPanics(t *testing.T) {
	for _, panics := range []bool{false, true} {
		g := &Graph{
			Sources: []Stage{{Name: `file "x.wav"`, Open: func(context.Context) (Source, error) {
				return &failing{left: 100, panic: panics}, nil
			}}},
			Transforms: []Stage{{Name: "gain -1", Transform: scale(0.9)}},
			Sink:       Stage{Name: "collect", Sink: &collect{}},
		}
		p, err := Build(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Run(context.Background())
		want := `file "x.wav": disk on fire`
		if panics {
			want = `file "x.wav": internal error (recovered panic: assignment to entry in nil map)`
		}
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v; want prefix %q", err, want)
		}
	}
}

func TestOpenErrorNamesStage(t *testing.T) {
	g := &Graph{
		Sources: []Stage{{Name: `file "missing.wav"`, Open: func(context.Context) (Source, error) {
			return nil, errors.New("no such file")
		}}},
		Sink: Stage{Name: "collect", Sink: &collect{}},
	}
	_, err := Build(context.Background(), g)
	if err == nil || err.Error() != `file "missing.wav": no such file` {
		t.Errorf("err = %v", err)
	}
	if _, err := Build(context.Background(), &Graph{Sources: g.Sources}); err == nil {
		t.Error("Build without a sink succeeded")
	}
}

func TestConcatSkipsBroken(t *testing.T) {
	bad := func(context.Context) (Source, error) { return nil, errors.New("corrupt") }
	good := func(context.Context) (Source, error) { return FromSlice(Format{8000, 1}, []float32{1, 2, 3}), nil }
	var skipped []string
	ctx := WithObserver(context.Background(), func(e Event) {
		if e.Kind == ItemSkipped {
			skipped = append(skipped, e.String())
		}
	})
	src, err := Concat(ctx, []Opener{bad, good, bad, good}, ConcatOptions{Stage: "playlist", Names: []string{"a", "b", "c", "d"}, SkipBroken: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := FramesOf(src); n != 6 {
		t.Errorf("Frames = %d, want 6 (two good items of 3)", n)
	}
	buf := make([]float32, 10)
	var got []float32
	for {
		n, err := src.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 6 || len(skipped) != 2 || skipped[0] != `playlist: item skipped #1 "a": corrupt` {
		t.Errorf("got %v, skipped %q", got, skipped)
	}
	_, err = Concat(ctx, []Opener{good, bad}, ConcatOptions{Stage: "playlist", Names: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	src, _ = Concat(ctx, []Opener{good, bad}, ConcatOptions{Stage: "playlist", Names: []string{"a", "b"}})
	src.Read(buf)
	if _, err := src.Read(buf); err == nil || err.Error() != `item 2 "b": corrupt` {
		t.Errorf("strict playlist error = %v", err)
	}
	if _, err := Concat(ctx, []Opener{bad, bad}, ConcatOptions{SkipBroken: true}); err == nil {
		t.Error("a playlist of broken items opened")
	}
}

type adaptable struct{ Source }

func (a adaptable) Adapt(f Format) (Source, error) {
	return FromSlice(f, make([]float32, 10*f.Channels)), nil
}

func TestLabelKeepsAdaptable(t *testing.T) {
	src := Label("tone", adaptable{FromSlice(Format{48000, 1}, make([]float32, 10))})
	a, ok := src.(Adaptable)
	if !ok {
		t.Fatal("Label hid Adaptable")
	}
	out, err := a.Adapt(Format{8000, 2})
	if err != nil || out.Format() != (Format{8000, 2}) || FramesOf(out) != 10 {
		t.Errorf("Adapt through Label: %v %v %d", out, err, FramesOf(out))
	}
}

// serverSink opens the chain for each of its "calls", as the elks sink does.
type serverSink struct {
	calls int
	got   [][]float32
	f     Format
}

func (s *serverSink) Run(context.Context, Source) error { return errors.New("Run called on a Server") }
func (s *serverSink) Want(Format) Format                { return Format{Rate: 8000, Channels: 1} }
func (s *serverSink) Serve(ctx context.Context, g *Graph) error {
	for i := 0; i < s.calls; i++ {
		src, _, err := g.Open(ctx)
		if err != nil {
			return err
		}
		c := &collect{}
		if err := c.Run(ctx, src); err != nil {
			return err
		}
		Close(src)
		s.got, s.f = append(s.got, c.got), c.f
	}
	return nil
}

func TestServerSinkOpensPerUse(t *testing.T) {
	fakeConverters(t)
	opens := 0
	sink := &serverSink{calls: 3}
	g := &Graph{
		Sources: []Stage{{Name: "gen", Open: func(context.Context) (Source, error) {
			opens++
			return FromSlice(Format{16000, 2}, make([]float32, 2*100)), nil
		}}},
		Sink: Stage{Name: "server", Sink: sink},
	}
	p, err := Build(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if opens != 0 || p.Source() != nil {
		t.Fatalf("Build opened the chain of a Server sink (%d opens)", opens)
	}
	if got := p.Describe(); got != "gen | server" {
		t.Errorf("Describe = %q", got)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if opens != 3 || len(sink.got) != 3 || sink.f != (Format{8000, 1}) || len(sink.got[2]) != 100 {
		t.Errorf("opens %d, uses %d, format %v", opens, len(sink.got), sink.f)
	}
}

// SourceGraph takes sources and transforms and refuses a sink; the graph
// opens fresh instances of the chain.
func TestSourceGraph(t *testing.T) {
	r := testRegistry()
	g, err := r.SourceGraph("const 0.25 dur=3ms rate=1k | gain 6dB")
	if err != nil {
		t.Fatal(err)
	}
	open, err := g.Opener()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		src, err := open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 8)
		n, err := ReadFull(src, buf)
		if n != 3 || math.Abs(float64(buf[2])-0.4988) > 1e-4 || (err != nil && err != io.ErrUnexpectedEOF) {
			t.Errorf("read %d frames %v, %v", n, buf[:n], err)
		}
		Close(src)
	}
	_, err = r.SourceGraph("const 0.5 | collect")
	if err == nil || !strings.Contains(err.Error(), `ends with the sink "collect"`) {
		t.Errorf("a sink: %v", err)
	}
	if _, err := r.SourceGraph("const 0.5 | gian 2"); err == nil || !strings.Contains(err.Error(), `did you mean "gain"`) {
		t.Errorf("a misspelt element: %v", err)
	}
}
