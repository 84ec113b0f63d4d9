package pipeline

import (
	"errors"
	"fmt"
)

// Extent says whether a stream comes to an end by itself, as far as the
// parameters of its stages tell before any audio is read.
type Extent int

// The extents of a stream.
const (
	// ExtentUnknown: the stream may end or not (standard input, raw -,
	// a stage built in Go or one that does not say).
	ExtentUnknown Extent = iota
	// ExtentFinite: the stream ends (a tone with dur=, anything after
	// trim dur=).
	ExtentFinite
	// ExtentEndless: the stream never ends by itself (tone, noise or
	// silence without dur=, loop without a count).
	ExtentEndless
)

// String names the extent: "unknown", "finite" or "endless".
func (e Extent) String() string {
	switch e {
	case ExtentUnknown:
		return "unknown"
	case ExtentFinite:
		return "finite"
	case ExtentEndless:
		return "endless"
	}
	return fmt.Sprintf("Extent(%d)", int(e))
}

// EndlessWithout returns an Element.Extent for a source that plays forever
// unless the parameter param (a duration, say) is given:
// ExtentEndless without it, ExtentFinite with it.
func EndlessWithout(param string) func(Args, Extent) Extent {
	return func(a Args, _ Extent) Extent {
		if a.Has(param) {
			return ExtentFinite
		}
		return ExtentEndless
	}
}

// EndNeeder is implemented by sinks that keep everything they are given,
// such as wav and raw writing a named file: a stream that never ends would
// fill the disk. Build refuses, before it opens anything, a source chain
// whose Extent is ExtentEndless into a sink whose NeedsEnd reports true.
// Sinks that pass the stream on (raw -, null, elks) do not need an end.
type EndNeeder interface {
	NeedsEnd() bool
}

// Extent says whether the source chain of g ends by itself. Sources joined
// by + are endless if any one is, finite if all are, unknown otherwise;
// each transform then turns the extent of its input into that of its
// output (Element.Extent; transforms without one pass it through). Stages
// built in Go, without a Node, count as unknown sources and as transforms
// that pass the extent through.
func (g *Graph) Extent() Extent {
	e, _ := g.extent()
	return e
}

// extent returns g's Extent and, when it is endless, the label of the last
// stage that made it so.
func (g *Graph) extent() (Extent, string) {
	if g == nil || len(g.Sources) == 0 {
		return ExtentUnknown, ""
	}
	e, culprit := ExtentFinite, ""
	for _, st := range g.Sources {
		se := st.extent(ExtentUnknown)
		switch {
		case se == ExtentEndless:
			if e != ExtentEndless {
				e, culprit = ExtentEndless, st.Name
			}
		case se == ExtentUnknown && e == ExtentFinite:
			e = ExtentUnknown
		}
	}
	for _, st := range g.Transforms {
		te := st.extent(e)
		if te == ExtentEndless && e != ExtentEndless {
			culprit = st.Name
		}
		e = te
	}
	if e != ExtentEndless {
		culprit = ""
	}
	return e, culprit
}

// extent is the Extent of the stage's output for an input of extent in:
// its element's Extent, or for a stage without one, in for a transform and
// ExtentUnknown for a source.
func (st Stage) extent(in Extent) Extent {
	if st.Node == nil || st.Node.Element == nil || st.Node.Element.Extent == nil {
		if st.Transform != nil {
			return in
		}
		return ExtentUnknown
	}
	return st.Node.Element.Extent(st.Node.Args, in)
}

// checkEnd refuses an endless source chain into a sink that needs an end
// (see EndNeeder), saying how to bound it.
func (g *Graph) checkEnd() error {
	n, ok := g.Sink.Sink.(EndNeeder)
	if !ok || !n.NeedsEnd() {
		return nil
	}
	e, culprit := g.extent()
	if e != ExtentEndless {
		return nil
	}
	what := "the stream never ends"
	if culprit != "" {
		what = fmt.Sprintf("%q never ends", culprit)
	}
	return StageErr(g.Sink.Name, errors.New(what+" and a file cannot hold an endless stream: "+
		"bound it with dur= on the source (tone 440 dur=10s), trim dur=10s or loop N (a count), "+
		"or give endless=true to write until interrupted"))
}
