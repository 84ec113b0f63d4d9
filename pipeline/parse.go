package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Node is one parsed stage of a pipeline: an element and its arguments.
type Node struct {
	Element *Element
	Args    Args
	// Words are the words the user wrote after the element's name.
	Words []string

	// For each word, as the parser read it: the parameter it set, and
	// whether it was given as key=value (a quoted word never is).
	params []*Param
	named  []bool
}

// Label names the node in errors and in the printed chain, e.g.
// `file "in.mp3"` or `resample 8k`. The values of secret parameters
// (Param.Secret) read xxx: `elks token=xxx`.
func (n *Node) Label() string { return n.text(true) }

// text renders the node in pipe syntax. With hide, it is for people:
// the values of secret parameters read xxx and odd words are quoted as
// Go strings; without, it reads back as the same node (see Spec.String).
func (n *Node) text(hide bool) string {
	var b strings.Builder
	b.WriteString(n.Element.Name)
	pos := 0
	for i, w := range n.Words {
		b.WriteByte(' ')
		key, _, named := splitKeyValue(w)
		var p *Param
		switch {
		case i < len(n.params):
			p, named = n.params[i], n.named[i]
		case named:
			p = n.Element.Param(key)
		default:
			p = n.Element.positional(pos)
			pos++
		}
		switch {
		case hide && p != nil && p.Secret && named:
			b.WriteString(key + "=xxx")
		case hide && p != nil && p.Secret:
			b.WriteString("xxx")
		case named && needsQuotes(w[len(key)+1:], true):
			quote := quoteWord
			if hide {
				quote = strconv.Quote
			}
			b.WriteString(key + "=" + quote(w[len(key)+1:]))
		case p != nil && p.Type == TypePath && !named || needsQuotes(w, named):
			if hide {
				b.WriteString(strconv.Quote(w))
			} else {
				b.WriteString(quoteWord(w))
			}
		default:
			b.WriteString(w)
		}
	}
	return b.String()
}

// needsQuotes reports whether a word must be quoted to read back as
// itself: it is empty, holds white space, quotes, a backslash or a |, is
// a separator (! or +), or is a value that would read as key=value.
func needsQuotes(w string, named bool) bool {
	if w == "" || w == "!" || w == "+" || strings.ContainsAny(w, "\"'\\|") {
		return true
	}
	if _, _, kv := splitKeyValue(w); kv && !named {
		return true
	}
	return strings.ContainsFunc(w, unicode.IsSpace)
}

// quoteWord quotes w in the parser's syntax: in double quotes, with a
// backslash before each double quote and backslash; everything else,
// white space and control characters included, stands for itself.
func quoteWord(w string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range w {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String()
}

// Spec is a parsed pipeline: sources played one after another (joined by
// `+`), transforms in order, and an optional sink. Parsing checks element
// names and parameter values against the registry but opens nothing.
type Spec struct {
	Sources    []*Node
	Transforms []*Node
	Sink       *Node
}

// String renders the spec back in pipe syntax, secrets included: it is
// for passing a pipeline on, not for printing (print the Labels).
func (s *Spec) String() string {
	var parts []string
	var srcs []string
	for _, n := range s.Sources {
		srcs = append(srcs, n.text(false))
	}
	parts = append(parts, strings.Join(srcs, " + "))
	for _, n := range s.Transforms {
		parts = append(parts, n.text(false))
	}
	if s.Sink != nil {
		parts = append(parts, s.Sink.text(false))
	}
	return strings.Join(parts, " | ")
}

// Parse reads a pipeline written in pipe syntax, with the default registry:
//
//	STAGE | STAGE | ... | SINK     or     STAGE ! STAGE ! ... ! SINK
//	STAGE  = NAME { VALUE | KEY=VALUE }
//	SOURCE = STAGE { + STAGE }
//
// Words may be quoted with '...' or "..." and characters escaped with \.
// A word that starts with a quote is one value, never key=value; a quote
// after key= quotes the value: path="my file.wav".
func Parse(text string) (*Spec, error) { return DefaultRegistry.Parse(text) }

// ParseWords reads a pipeline already split into words, as a shell passes
// them to a program: `|`, `!` and `+` separate stages only as whole words.
func ParseWords(words []string) (*Spec, error) { return DefaultRegistry.ParseWords(words) }

// Parse reads a pipeline in pipe syntax with the elements of r.
func (r *Registry) Parse(text string) (*Spec, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	return r.parseTokens(toks)
}

// ParseWords reads a pipeline split into words with the elements of r.
func (r *Registry) ParseWords(words []string) (*Spec, error) {
	toks := make([]token, len(words))
	for i, w := range words {
		toks[i] = token{text: w, sep: w == "|" || w == "!" || w == "+"}
	}
	return r.parseTokens(toks)
}

type token struct {
	text   string
	sep    bool // an unquoted |, ! or +
	quoted bool // written with quotes: never a separator or key=value
}

func tokenize(text string) ([]token, error) {
	var toks []token
	var cur strings.Builder
	inWord, quoted := false, false
	flush := func() {
		if inWord {
			w := cur.String()
			toks = append(toks, token{text: w, quoted: quoted, sep: !quoted && (w == "!" || w == "+")})
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			flush()
		case c == '|':
			flush()
			toks = append(toks, token{text: "|", sep: true})
		case c == '\\':
			if i+1 >= len(rs) {
				return nil, fmt.Errorf("pipeline ends with a lone backslash")
			}
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case c == '\'' || c == '"':
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == '\\' && c == '"' && j+1 < len(rs) {
					cur.WriteRune(rs[j+1])
					j++
					continue
				}
				if rs[j] == c {
					end = j
					break
				}
				cur.WriteRune(rs[j])
			}
			if end < 0 {
				return nil, fmt.Errorf("unclosed %c quote", c)
			}
			i = end
			// A word that starts with a quote is one value, never
			// key=value; a quote after key= quotes the value.
			if !inWord {
				quoted = true
			}
			inWord = true
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	flush()
	return toks, nil
}

func (r *Registry) parseTokens(toks []token) (*Spec, error) {
	// Split into stages at | and !, and the first stage's sources at +.
	type group struct {
		words []token
		plus  bool // joined to the previous group by +
	}
	var groups []group
	cur := group{}
	startNew := func(plus bool) error {
		if len(cur.words) == 0 {
			if len(groups) == 0 {
				return fmt.Errorf("pipeline starts with a separator")
			}
			return fmt.Errorf("empty stage after %q", groups[len(groups)-1].words[0].text)
		}
		groups = append(groups, cur)
		cur = group{plus: plus}
		return nil
	}
	for _, t := range toks {
		if t.sep && !t.quoted {
			if err := startNew(t.text == "+"); err != nil {
				return nil, err
			}
			continue
		}
		cur.words = append(cur.words, t)
	}
	if len(cur.words) == 0 {
		if len(groups) == 0 {
			return nil, fmt.Errorf("empty pipeline")
		}
		return nil, fmt.Errorf("pipeline ends with a separator")
	}
	groups = append(groups, cur)

	spec := &Spec{}
	stageNo := 0
	for gi, g := range groups {
		if !g.plus {
			stageNo++
		}
		prefer := []Kind{KindTransform, KindSink}
		switch {
		case stageNo == 1:
			prefer = []Kind{KindSource}
		case gi == len(groups)-1:
			prefer = []Kind{KindSink, KindTransform}
		}
		node, err := r.parseNode(g.words, prefer)
		if err != nil {
			return nil, fmt.Errorf("stage %d (%s): %w", stageNo, g.words[0].text, err)
		}
		name := node.Element.Name
		last := gi == len(groups)-1
		switch {
		case stageNo == 1:
			if node.Element.Kind != KindSource {
				return nil, fmt.Errorf("stage 1 (%s): a pipeline starts with a source, and %s is a %s", name, name, node.Element.Kind)
			}
			spec.Sources = append(spec.Sources, node)
		case g.plus:
			return nil, fmt.Errorf("stage %d (%s): `+` joins sources only in the first stage", stageNo, name)
		case node.Element.Kind == KindSource:
			return nil, fmt.Errorf("stage %d (%s): %s is a source; join sources with `+`, not `|`", stageNo, name, name)
		case node.Element.Kind == KindSink:
			if !last {
				return nil, fmt.Errorf("stage %d (%s): %s is a sink and must be the last stage", stageNo, name, name)
			}
			spec.Sink = node
		default:
			spec.Transforms = append(spec.Transforms, node)
		}
	}
	return spec, nil
}

// positional returns the i-th positional parameter, counting a variadic
// parameter for all remaining positions.
func (e *Element) positional(i int) *Param {
	k := 0
	for j := range e.Params {
		p := &e.Params[j]
		if !p.Positional {
			continue
		}
		if k == i || p.Variadic && i >= k {
			return p
		}
		k++
	}
	return nil
}

func (r *Registry) parseNode(words []token, prefer []Kind) (*Node, error) {
	if words[0].quoted {
		return nil, fmt.Errorf("element name %q must not be quoted", words[0].text)
	}
	e, err := r.Lookup(words[0].text, prefer...)
	if err != nil {
		return nil, err
	}
	n := &Node{Element: e}
	a := Args{elem: e, values: map[string]any{}, given: map[string]bool{}}
	pos := 0
	for _, w := range words[1:] {
		n.Words = append(n.Words, w.text)
		if key, val, ok := splitKeyValue(w.text); ok && !w.quoted {
			if err := a.set(key, val); err != nil {
				return nil, fmt.Errorf("%q: %w", w.text, err)
			}
			n.params = append(n.params, e.Param(key))
			n.named = append(n.named, true)
			continue
		}
		p := e.positional(pos)
		for p != nil && a.given[p.Name] && !p.Variadic {
			pos++
			p = e.positional(pos)
		}
		if p == nil {
			return nil, fmt.Errorf("unexpected value %q: %s", w.text, positionalHelp(e))
		}
		pos++
		if err := a.set(p.Name, w.text); err != nil {
			return nil, fmt.Errorf("%q: %w", w.text, err)
		}
		n.params = append(n.params, p)
		n.named = append(n.named, false)
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	n.Args = a
	return n, nil
}

func positionalHelp(e *Element) string {
	var names []string
	for _, p := range e.Params {
		if p.Positional {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return e.Name + " takes only key=value parameters"
	}
	return e.Name + " takes " + strings.Join(names, ", ") + " by position"
}

// splitKeyValue splits "key=value" where key looks like a parameter name.
func splitKeyValue(w string) (key, value string, ok bool) {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return "", "", false
	}
	for _, c := range w[:i] {
		// # and * name the keys of a phone: elks on-#=hangup.
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '#' || c == '*') {
			return "", "", false
		}
	}
	return w[:i], w[i+1:], true
}
