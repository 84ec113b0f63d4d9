package pipeline

import "strings"

// Always is an Element.Shareable for elements that are deterministic
// whatever their arguments.
func Always(Args) bool { return true }

// ShareKey returns the source chain of g in pipe syntax, canonical
// (the words as the parser read them, secrets included), and true when
// every stage is shareable (see Element.Shareable): two instances of
// chains with the same key then play the same samples as long as the
// files they open are the same versions. A stage built in Go, without
// a Node, or one whose element does not say it is shareable, makes the
// chain unshareable: ShareKey returns its label and false.
func (g *Graph) ShareKey() (string, bool) {
	if g == nil || len(g.Sources) == 0 {
		return "", false
	}
	var b strings.Builder
	write := func(st Stage, sep string) (string, bool) {
		n := st.Node
		if n == nil || n.Element == nil || n.Element.Shareable == nil || !n.Element.Shareable(n.Args) {
			return st.Name, false
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(n.text(false))
		return "", true
	}
	for _, st := range g.Sources {
		if name, ok := write(st, " + "); !ok {
			return name, false
		}
	}
	for _, st := range g.Transforms {
		if name, ok := write(st, " | "); !ok {
			return name, false
		}
	}
	return b.String(), true
}
