package pipeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
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
		head := fmt.Sprintf("%s (%s): %s", e.Name, e.Kind, e.Summary)
		fmt.Fprintf(w, "%s\n\n  %s\n", strings.Join(wrap(head, helpWidth), "\n"), e.Usage())
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

// helpWidth is the width in columns that `inspect` keeps its text within.
const helpWidth = 100

// writeParams prints a table of parameters: name, type, doc and notes
// (default, range, choices). When every row fits in helpWidth, the notes
// are a fourth column; otherwise each parameter's doc is wrapped and its
// notes go on the lines below it, so no line outgrows helpWidth.
func writeParams(w io.Writer, params []Param) error {
	fmt.Fprintln(w, "\nParameters:")
	nameW, typeW, docW, noteW := 0, 0, 0, 0
	notes := make([]string, len(params))
	for i, p := range params {
		notes[i] = paramNotes(&p)
		nameW = max(nameW, len(p.Name))
		typeW = max(typeW, len(p.Type.String()))
		docW = max(docW, utf8.RuneCountInString(p.Doc))
		noteW = max(noteW, len(notes[i]))
	}
	indent := 2 + nameW + 2 + typeW + 2
	if indent+docW+2+noteW <= helpWidth {
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for i, p := range params {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Type, p.Doc, notes[i])
		}
		return tw.Flush()
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for i, p := range params {
		fmt.Fprintf(&b, "  %-*s  %-*s  ", nameW, p.Name, typeW, p.Type)
		lines := wrap(p.Doc, helpWidth-indent)
		if notes[i] != "" {
			lines = append(lines, wrap(notes[i], helpWidth-indent)...)
		}
		for j, line := range lines {
			if j > 0 {
				b.WriteString(pad)
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
		if len(lines) == 0 {
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, strings.ReplaceAll(b.String(), " \n", "\n"))
	return err
}

// paramNotes renders what `inspect` says of p beyond its doc, in
// parentheses: "(positional; default 8k; range 1..768000)", or "".
func paramNotes(p *Param) string {
	var notes []string
	if len(p.Aliases) > 0 {
		notes = append(notes, "also "+strings.Join(p.Aliases, ", "))
	}
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
	if len(notes) == 0 {
		return ""
	}
	return "(" + strings.Join(notes, "; ") + ")"
}

// wrap breaks text at spaces into lines of at most width runes; a word
// longer than width gets a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	line, n := "", 0
	for _, word := range strings.Fields(text) {
		k := utf8.RuneCountInString(word)
		if n > 0 && n+1+k > width {
			lines = append(lines, line)
			line, n = "", 0
		}
		if n > 0 {
			line += " "
			n++
		}
		line += word
		n += k
	}
	if n > 0 {
		lines = append(lines, line)
	}
	return lines
}
