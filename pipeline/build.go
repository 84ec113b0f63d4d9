package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Stage is one constructed stage of a Graph: a source (Open), a transform
// or a sink, with the name that errors and the printed chain use.
type Stage struct {
	Name      string
	Open      Opener
	Transform Transform
	Sink      Sink
	// Node is the parsed node the stage was built from, or nil for stages
	// built in Go. Sinks that treat some sources specially (the elks sink
	// passes plain files through) look at it.
	Node *Node
}

// Graph is a pipeline assembled from constructed stages: sources played one
// after another, transforms in order, and a sink. Build turns it into a
// runnable Pipeline; it can be built any number of times.
type Graph struct {
	Sources    []Stage
	Transforms []Stage
	Sink       Stage
}

// Graph runs the element constructors of every node of the spec.
func (s *Spec) Graph() (*Graph, error) {
	g := &Graph{}
	for _, n := range s.Sources {
		open, err := n.Element.NewSource(n.Args)
		if err != nil {
			return nil, StageErr(n.Label(), err)
		}
		g.Sources = append(g.Sources, Stage{Name: n.Label(), Open: open, Node: n})
	}
	for _, n := range s.Transforms {
		t, err := n.Element.NewTransform(n.Args)
		if err != nil {
			return nil, StageErr(n.Label(), err)
		}
		g.Transforms = append(g.Transforms, Stage{Name: n.Label(), Transform: t, Node: n})
	}
	if s.Sink != nil {
		k, err := s.Sink.Element.NewSink(s.Sink.Args)
		if err != nil {
			return nil, StageErr(s.Sink.Label(), err)
		}
		g.Sink = Stage{Name: s.Sink.Label(), Sink: k, Node: s.Sink}
	}
	return g, nil
}

// StageInfo describes one stage of a built pipeline, for `elkspipe -v`.
type StageInfo struct {
	Name   string
	Format Format // the format the stage outputs (zero for the sink)
	Auto   bool   // inserted automatically to deliver the sink's format
}

// Opener returns an Opener for the source chain of g: the sources joined
// one after another, then the transforms. Every stage's errors name it, and
// its panics become errors.
func (g *Graph) Opener() (Opener, error) {
	o, err := g.opener(nil)
	return o, err
}

// recorder collects the chain while Build opens it for the first time.
type recorder struct {
	active bool
	stages []StageInfo
}

func (r *recorder) add(name string, f Format) {
	if r != nil && r.active {
		r.stages = append(r.stages, StageInfo{Name: name, Format: f})
	}
}

// check reports a graph that cannot run: nil, no source, a stage without
// the function its place needs, or a loop over standard input. Errors name
// the stage.
func (g *Graph) check() error {
	if g == nil {
		return errors.New("nil Graph")
	}
	if len(g.Sources) == 0 {
		return errors.New("the pipeline has no source")
	}
	for i, st := range g.Sources {
		if st.Open == nil {
			return StageErr(st.label("source", i+1), errors.New("a source Stage needs Open"))
		}
	}
	for i, st := range g.Transforms {
		if st.Transform == nil {
			return StageErr(st.label("transform", i+1), errors.New("a transform Stage needs Transform"))
		}
	}
	return g.checkReopenStdin()
}

// label returns the stage's name, or "KIND N" for a stage without one.
func (st Stage) label(kind string, n int) string {
	if st.Name != "" {
		return st.Name
	}
	return fmt.Sprintf("%s %d", kind, n)
}

func (g *Graph) opener(rec *recorder) (Opener, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	var open Opener
	if len(g.Sources) == 1 {
		open = stageOpener(g.Sources[0].Name, rec, g.Sources[0].Open)
	} else {
		opens := make([]Opener, len(g.Sources))
		names := make([]string, len(g.Sources))
		for i, st := range g.Sources {
			names[i] = st.Name
			opens[i] = stageOpener(st.Name, nil, st.Open)
		}
		open = stageOpener(strings.Join(names, " + "), rec, func(ctx context.Context) (Source, error) {
			return Concat(ctx, opens, ConcatOptions{Stage: "+", Names: names})
		})
	}
	for _, st := range g.Transforms {
		if r, ok := st.Transform.(Reopener); ok {
			open = stageOpener(st.Name, rec, r.Wrap(open))
			continue
		}
		upstream, t := open, st.Transform
		open = stageOpener(st.Name, rec, func(ctx context.Context) (Source, error) {
			up, err := upstream(ctx)
			if err != nil {
				return nil, err
			}
			src, err := applyTransform(ctx, t, up)
			if err != nil {
				Close(up)
				return nil, err
			}
			return src, nil
		})
	}
	return open, nil
}

// stageOpener wraps open so that the sources it opens are checked (a valid
// format), labelled with the stage's name (errors name it, panics become
// errors) and recorded in rec (when not nil) for the printed chain. Errors
// that already name a stage pass unchanged.
func stageOpener(name string, rec *recorder, open Opener) Opener {
	return func(ctx context.Context) (Source, error) {
		src, err := open(ctx)
		if err != nil {
			return nil, StageErr(name, err)
		}
		if err := src.Format().Validate(); err != nil {
			Close(src)
			return nil, StageErr(name, err)
		}
		src = Label(name, src)
		rec.add(name, src.Format())
		return src, nil
	}
}

// Open builds one instance of the source chain of g, converted to the
// format that the sink wants when the sink is a Negotiator, and returns it
// with the description of its stages (the sink not included). ctx is the
// context the sources keep for their lifetime: loops re-open with it, and
// events go to its observer.
func (g *Graph) Open(ctx context.Context) (Source, []StageInfo, error) {
	rec := &recorder{active: true}
	open, err := g.opener(rec)
	if err != nil {
		return nil, nil, err
	}
	src, err := open(ctx)
	rec.active = false
	if err != nil {
		return nil, nil, err
	}
	chain := rec.stages
	if n, ok := g.Sink.Sink.(Negotiator); ok {
		want := n.Want(src.Format())
		conv, done, err := Convert(src, want)
		if err != nil {
			Close(src)
			return nil, nil, StageErr(g.Sink.Name, err)
		}
		src = conv
		for _, c := range done {
			chain = append(chain, StageInfo{Name: c.Name, Format: c.Format, Auto: true})
		}
	}
	return src, chain, nil
}

// Pipeline is a built pipeline: its source chain is open and converted to
// the format its sink wants (or, for a Server sink, ready to be opened for
// every use). Run it once; it closes every stage when done.
type Pipeline struct {
	graph    *Graph
	src      Source
	sink     Sink
	sinkName string
	chain    []StageInfo
	ran      bool // Run was called
	closed   bool // Close was called
}

// ErrAlreadyRun is returned by a second call of Pipeline.Run.
var ErrAlreadyRun = errors.New("the pipeline has already run (Build the Graph again to run it again)")

// ErrClosed is returned by Pipeline.Run after Pipeline.Close.
var ErrClosed = errors.New("the pipeline is closed")

// Build opens the source chain of g once, negotiates the sink's format and
// inserts the converters it needs (see Graph.Open). For a sink that is a
// Server, it opens nothing: Run lets the sink open the chain as often as it
// needs.
//
// Before opening anything, Build refuses a sink that would write a file
// that a source or transform reads (compared by the path parameters of
// the stages' Nodes, with os.SameFile), and a source chain that never ends
// (see Graph.Extent) into a sink that keeps all it is given, a file (see
// EndNeeder): the error says how to bound the stream.
func Build(ctx context.Context, g *Graph) (*Pipeline, error) {
	if err := g.check(); err != nil {
		return nil, Misconfigured(err)
	}
	if g.Sink.Sink == nil {
		if g.Sink.Name != "" {
			return nil, Misconfigured(StageErr(g.Sink.Name, errors.New("a sink Stage needs Sink")))
		}
		return nil, Misconfigured(errors.New("the pipeline has no sink (end it with wav, raw, null or elks)"))
	}
	if err := g.checkOutputs(); err != nil {
		return nil, Misconfigured(err)
	}
	if err := g.checkEnd(); err != nil {
		return nil, Misconfigured(err)
	}
	p := &Pipeline{graph: g, sink: g.Sink.Sink, sinkName: g.Sink.Name}
	if _, ok := g.Sink.Sink.(Server); ok {
		for _, st := range append(append([]Stage(nil), g.Sources...), g.Transforms...) {
			p.chain = append(p.chain, StageInfo{Name: st.Name})
		}
	} else {
		src, chain, err := g.Open(ctx)
		if err != nil {
			return nil, err
		}
		p.src, p.chain = src, chain
	}
	p.chain = append(p.chain, StageInfo{Name: g.Sink.Name})
	return p, nil
}

// BuildText parses text in pipe syntax with the default registry and builds
// it: the shortest way from a pipeline description to something to Run.
func BuildText(ctx context.Context, text string) (*Pipeline, error) {
	spec, err := Parse(text)
	if err != nil {
		return nil, err
	}
	g, err := spec.Graph()
	if err != nil {
		return nil, err
	}
	return Build(ctx, g)
}

// SourceGraph parses text in pipe syntax that has sources and transforms
// but no sink (for example "file hold.mp3 | loop"), with the default
// registry: audio for something other than a sink to play, such as a
// phone call.
func SourceGraph(text string) (*Graph, error) { return DefaultRegistry.SourceGraph(text) }

// SourceGraph is the package-level SourceGraph with the elements of r.
func (r *Registry) SourceGraph(text string) (*Graph, error) {
	spec, err := r.Parse(text)
	if err != nil {
		return nil, err
	}
	if spec.Sink != nil {
		return nil, fmt.Errorf("%q ends with the sink %q: give only sources and transforms here", text, spec.Sink.Label())
	}
	return spec.Graph()
}

// OpenerText returns an Opener of the audio that text describes in pipe
// syntax, without a sink (see SourceGraph). Every call of the Opener opens
// a fresh instance of the chain.
func OpenerText(text string) (Opener, error) {
	g, err := SourceGraph(text)
	if err != nil {
		return nil, err
	}
	return g.Opener()
}

// Source returns the pipeline's open source chain, as the sink will read
// it; nil when the sink is a Server, which opens its own.
func (p *Pipeline) Source() Source { return p.src }

// Chain describes the stages in order, sink last, with automatic
// converters marked.
func (p *Pipeline) Chain() []StageInfo { return p.chain }

// Describe renders the chain on one line, e.g.
// `tone 440 [48000 Hz mono] | resample 8000 (auto) [8000 Hz mono] | wav "x.wav"`.
func (p *Pipeline) Describe() string {
	parts := make([]string, len(p.chain))
	for i, s := range p.chain {
		t := s.Name
		if s.Auto {
			t += " (auto)"
		}
		if s.Format != (Format{}) {
			t += " [" + s.Format.String() + "]"
		}
		parts[i] = t
	}
	return strings.Join(parts, " | ")
}

// Run feeds the source chain to the sink until the audio ends, an error
// occurs or ctx is cancelled, then closes every stage. It returns the first
// error; a cancelled ctx yields ctx.Err().
//
// A Pipeline runs once: its sources have been read and closed by then, and
// files such as standard input cannot be read again. A second call returns
// ErrAlreadyRun and a call after Close returns ErrClosed; to play the same
// stages again, Build their Graph again.
func (p *Pipeline) Run(ctx context.Context) error {
	switch {
	case p.ran:
		return ErrAlreadyRun
	case p.closed:
		return ErrClosed
	}
	p.ran = true
	var err error
	if srv, ok := p.sink.(Server); ok {
		err = srv.Serve(ctx, p.graph)
	} else {
		err = p.sink.Run(ctx, p.src)
	}
	cerr := p.Close()
	switch {
	case err == nil && ctx.Err() != nil:
		err = ctx.Err()
	case err != nil && !errors.Is(err, ctx.Err()):
		err = StageErr(p.sinkName, err)
	}
	switch {
	case cerr == nil:
		return err
	case err == nil:
		return cerr
	}
	return errors.Join(err, cerr)
}

// Close closes the source chain. Run calls it; call it yourself only for a
// pipeline you built but do not run.
func (p *Pipeline) Close() error {
	p.closed = true
	if p.src == nil {
		return nil
	}
	err := Close(p.src)
	p.src = nil
	return err
}
