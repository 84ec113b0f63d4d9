package pipeline

import (
	"fmt"
	"os"
	"slices"
)

// PathParams returns the values of the path parameters (TypePath) of the
// node, in the order the element declares them, skipping unset ones and
// "-" (standard input or output). For a source they are the files it
// reads; for a sink, the files it writes.
func (n *Node) PathParams() []string {
	var paths []string
	for _, v := range n.pathValues() {
		if v != "" && v != "-" {
			paths = append(paths, v)
		}
	}
	return paths
}

// pathValues returns every value given to the node's path parameters.
func (n *Node) pathValues() []string {
	if n == nil || n.Element == nil {
		return nil
	}
	var vals []string
	for _, p := range n.Element.Params {
		if p.Type != TypePath || !n.Args.IsSet(p.Name) {
			continue
		}
		if p.Variadic {
			vals = append(vals, n.Args.Strings(p.Name)...)
		} else {
			vals = append(vals, n.Args.String(p.Name))
		}
	}
	return vals
}

// checkOutputs refuses a graph whose sink writes a file that one of its
// stages reads: the sink would truncate its own input before reading it,
// as ffmpeg's "output same as input" guards against. Files are compared
// with os.SameFile, so links to the same file count; an output that does
// not exist yet cannot be an input. Only paths given as parameters are
// compared, not the items listed inside playlists.
func (g *Graph) checkOutputs() error {
	outputs := g.Sink.Node.PathParams()
	if len(outputs) == 0 {
		return nil
	}
	type input struct {
		path  string
		stage int
		name  string
	}
	var inputs []input
	for _, st := range g.Sources {
		for _, p := range st.Node.PathParams() {
			inputs = append(inputs, input{p, 1, st.Node.Element.Name})
		}
	}
	for i, st := range g.Transforms {
		for _, p := range st.Node.PathParams() {
			inputs = append(inputs, input{p, i + 2, st.Node.Element.Name})
		}
	}
	for _, out := range outputs {
		outInfo, err := os.Stat(out)
		if err != nil {
			continue
		}
		for _, in := range inputs {
			inInfo, err := os.Stat(in.path)
			if err == nil && os.SameFile(outInfo, inInfo) {
				return StageErr(g.Sink.Name, fmt.Errorf("the output is the input file %q of stage %d (%s)", in.path, in.stage, in.name))
			}
		}
	}
	return nil
}

// ReadsStdin reports whether the node reads standard input: a source or
// transform given "-" for one of its path parameters.
func (n *Node) ReadsStdin() bool {
	if n == nil || n.Element == nil || n.Element.Kind == KindSink {
		return false
	}
	return slices.Contains(n.pathValues(), "-")
}

// StdinStage returns the first source or transform stage of g that reads
// standard input (see Node.ReadsStdin), and false if none does. Standard
// input can be read only once, so whatever opens the chain more than once
// (a loop, a sink that serves calls) refuses such a graph; the error names
// the stage: pipeline.StageErr(st.Name, ...).
func (g *Graph) StdinStage() (Stage, bool) {
	if g == nil {
		return Stage{}, false
	}
	for _, st := range g.Sources {
		if st.Node.ReadsStdin() {
			return st, true
		}
	}
	for _, st := range g.Transforms {
		if st.Node.ReadsStdin() {
			return st, true
		}
	}
	return Stage{}, false
}

// checkReopenStdin refuses a Reopener transform (loop) placed after a stage
// that reads standard input: the first re-opening would find it empty.
func (g *Graph) checkReopenStdin() error {
	stdin, found := Stage{}, false
	for _, st := range g.Sources {
		if !found && st.Node.ReadsStdin() {
			stdin, found = st, true
		}
	}
	for _, st := range g.Transforms {
		if _, ok := st.Transform.(Reopener); ok && found {
			return StageErr(stdin.Name, fmt.Errorf("%s cannot re-open standard input for its next iteration: save the input to a file first and play the file", st.Name))
		}
		if !found && st.Node.ReadsStdin() {
			stdin, found = st, true
		}
	}
	return nil
}
