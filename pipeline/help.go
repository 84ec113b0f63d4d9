package pipeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteList prints every element of r, grouped by kind, one line each with
// its summary: what `elkspipe list` shows.
func (r *Registry) WriteList(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, kind := range []Kind{KindSource, KindTransform, KindSink} {
		fmt.Fprintf(tw, "%ss:\n", strings.ToUpper(kind.String()[:1])+kind.String()[1:])
		for _, e := range r.Elements() {
			if e.Kind == kind {
				fmt.Fprintf(tw, "  %s\t%s\n", e.Usage(), e.Summary)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// Usage renders the element's synopsis, e.g. "resample RATE [quality=high]".
func (e *Element) Usage() string {
	parts := []string{e.Name}
	for _, p := range e.Params {
		if !p.Positional {
			continue
		}
		s := strings.ToUpper(p.Name)
		if p.Variadic {
			s += "..."
		}
		if !p.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	if len(parts) < len(e.Params)+1 {
		parts = append(parts, "[key=value...]")
	}
	return strings.Join(parts, " ")
}

// WriteInspect prints everything about the elements called name (a name may
// be both a source and a sink): summary, example and each parameter with its
// type, default, range and choices. It is what `elkspipe inspect` shows.
func (r *Registry) WriteInspect(w io.Writer, name string) error {
	r.mu.RLock()
	es := append([]*Element(nil), r.elements[name]...)
	r.mu.RUnlock()
	if len(es) == 0 {
		_, err := r.Lookup(name)
		return err
	}
	for i, e := range es {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s): %s\n\n  %s\n", e.Name, e.Kind, e.Summary, e.Usage())
		if e.Example != "" {
			fmt.Fprintf(w, "  example: elkspipe '%s'\n", e.Example)
		}
		if len(e.Params) == 0 {
			fmt.Fprintln(w, "\n  no parameters")
		} else if err := writeParams(w, e.Params); err != nil {
			return err
		}
		if e.Details != nil {
			fmt.Fprintf(w, "\n%s\n", strings.TrimRight(e.Details(), "\n"))
		}
	}
	return nil
}

// writeParams prints a table of parameters: name, type, doc and notes.
func writeParams(w io.Writer, params []Param) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "\nParameters:")
	for _, p := range params {
		var notes []string
		if p.Positional {
			notes = append(notes, "positional")
		}
		if p.Required {
			notes = append(notes, "required")
		}
		if p.Default != "" {
			notes = append(notes, "default "+p.Default)
		}
		if p.HasRange {
			notes = append(notes, "range "+p.RangeText())
		}
		if len(p.Choices) > 0 {
			notes = append(notes, "one of "+strings.Join(p.Choices, "|"))
		}
		note := ""
		if len(notes) > 0 {
			note = "(" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Type, p.Doc, note)
	}
	return tw.Flush()
}
