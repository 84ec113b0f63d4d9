package pipeline

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind says where an element may stand in a pipeline.
type Kind int

// The kinds of element.
const (
	KindSource Kind = iota + 1
	KindTransform
	KindSink
)

// String names the kind: "source", "transform" or "sink".
func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindTransform:
		return "transform"
	case KindSink:
		return "sink"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParamType says how a parameter's text is read.
type ParamType int

// The parameter types and the syntax each accepts.
const (
	TypeString    ParamType = iota + 1 // any text
	TypePath                           // a file path, or - for stdin/stdout where the element says so
	TypeInt                            // a whole number
	TypeFloat                          // a number
	TypeDuration                       // 250ms, 1.5s, 2m or plain seconds
	TypeRate                           // a sample rate: 8k, 44.1k, 16000
	TypeFrequency                      // a frequency in Hz: 440, 1k, 2.5k
	TypeGain                           // decibels: -6dB or -6
	TypeBool                           // true/false, yes/no, on/off
	TypeEnum                           // one of Param.Choices
)

var paramTypeNames = map[ParamType]string{
	TypeString: "text", TypePath: "path", TypeInt: "integer", TypeFloat: "number",
	TypeDuration: "duration", TypeRate: "rate", TypeFrequency: "frequency",
	TypeGain: "dB", TypeBool: "bool", TypeEnum: "choice",
}

// String names the type as `inspect` prints it.
func (t ParamType) String() string { return paramTypeNames[t] }

// Param declares one parameter of an element.
type Param struct {
	Name string
	Type ParamType
	Doc  string
	// Default is the value used when the parameter is not given, written as
	// a user would write it; empty means "not set" (the element decides).
	Default string
	// Required parameters must be given.
	Required bool
	// Positional parameters may be given without their name, in the order
	// they are declared.
	Positional bool
	// Variadic (last positional parameter only) collects all remaining
	// positional values; read them with Args.Strings.
	Variadic bool
	// Choices lists the accepted words of a TypeEnum parameter.
	Choices []string
	// Hints maps words that are not Choices but that users write for
	// one (in lower case, "opus" for a format, say) to what to write
	// instead ("Ogg Opus is format=ogg"), for the error that refuses them.
	Hints map[string]string
	// Min and Max bound numeric values (durations in seconds) when HasRange.
	Min, Max float64
	HasRange bool
	// Secret parameters (a token, say) never show their value where a
	// stage is named: labels in errors, the -v chain and logs print
	// xxx instead (see Node.Label).
	Secret bool
	// Aliases are other names that set the parameter (on-# for on-hash,
	// say); inspect shows them.
	Aliases []string
}

// Range returns p with the numeric bounds min and max set.
func (p Param) Range(min, max float64) Param {
	p.Min, p.Max, p.HasRange = min, max, true
	return p
}

// Element describes a named stage that pipelines can use: its kind, its
// parameters, and the constructor that builds it from parsed Args. Exactly
// one constructor matching Kind is set.
type Element struct {
	Name    string
	Kind    Kind
	Summary string
	Params  []Param
	// Example is one line of pipe syntax that uses the element.
	Example string
	// Details, if set, returns more text that `inspect` prints after the
	// parameters, such as the table of formats of the elks sink.
	Details func() string
	// Extent, if set, says whether the element's output ends by itself,
	// from its Args and, for a transform, the Extent of its input, in (for
	// a source, in is ExtentUnknown). Without it a source's output is
	// ExtentUnknown and a transform's is in. Build refuses an endless
	// stream into a sink that keeps it (see EndNeeder and Graph.Extent);
	// EndlessWithout serves sources that are endless without a duration.
	Extent func(a Args, in Extent) Extent
	// Shareable, if set, reports whether the stage built from a is
	// deterministic: every instance of it plays the same samples, given
	// the same input and the same versions of the files it reads (which
	// it must open through the file sources, so that they are known; see
	// Graph.ShareKey). A server may then render a pipeline of such stages
	// once and play it to many listeners. Nil: not shareable (a live
	// input, a random order, a program).
	Shareable func(a Args) bool

	NewSource    func(Args) (Opener, error)
	NewTransform func(Args) (Transform, error)
	NewSink      func(Args) (Sink, error)

	// Live marks a source whose audio depends on the moment it is opened,
	// such as a live stream: two openings at different times play
	// different audio, so its output must not be rendered once and shared
	// between calls or cached. Graph.Live reports it for a pipeline.
	Live bool
}

// Param returns the parameter called name (or one of its Aliases), or
// nil.
func (e *Element) Param(name string) *Param {
	for i := range e.Params {
		if e.Params[i].Name == name || slices.Contains(e.Params[i].Aliases, name) {
			return &e.Params[i]
		}
	}
	return nil
}

// Registry maps element names to Elements. One name may stand for one
// element of each kind (raw is both a source and a sink); the parser picks by
// position. It is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	elements map[string][]*Element
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{elements: map[string][]*Element{}} }

// DefaultRegistry holds the elements that elkspipe's packages register when
// they are imported (sources, transforms, sinks, sinks/elks).
var DefaultRegistry = NewRegistry()

// Register adds e to the default registry. It panics if e is malformed or
// its name is taken: both are programming errors found at start-up.
func Register(e Element) { DefaultRegistry.Register(e) }

// Register adds e to r. It panics if e is malformed or its name is taken
// by an element of the same kind.
func (r *Registry) Register(e Element) {
	if err := e.check(); err != nil {
		panic("pipeline: registering element " + strconv.Quote(e.Name) + ": " + err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.elements[e.Name] {
		if o.Kind == e.Kind {
			panic("pipeline: " + e.Kind.String() + " " + strconv.Quote(e.Name) + " registered twice")
		}
	}
	r.elements[e.Name] = append(r.elements[e.Name], &e)
}

func (e *Element) check() error {
	if e.Name == "" || strings.ContainsAny(e.Name, " =|!+") {
		return fmt.Errorf("bad name")
	}
	ok := (e.Kind == KindSource && e.NewSource != nil) ||
		(e.Kind == KindTransform && e.NewTransform != nil) ||
		(e.Kind == KindSink && e.NewSink != nil)
	if !ok {
		return fmt.Errorf("kind %s needs its constructor", e.Kind)
	}
	for i, p := range e.Params {
		if p.Variadic && (i != len(e.Params)-1 && e.Params[i+1].Positional || !p.Positional) {
			return fmt.Errorf("variadic parameter %q must be the last positional one", p.Name)
		}
		if p.Type == TypeEnum && len(p.Choices) == 0 {
			return fmt.Errorf("enum parameter %q has no choices", p.Name)
		}
		if p.Default != "" {
			if _, err := p.parse(p.Default); err != nil {
				return fmt.Errorf("default of %q: %v", p.Name, err)
			}
		}
	}
	return nil
}

// Lookup returns the element called name, preferring the given kinds in
// order when the name stands for more than one. For an unknown name the
// error suggests the nearest registered name.
func (r *Registry) Lookup(name string, prefer ...Kind) (*Element, error) {
	r.mu.RLock()
	es := r.elements[name]
	r.mu.RUnlock()
	for _, k := range prefer {
		for _, e := range es {
			if e.Kind == k {
				return e, nil
			}
		}
	}
	if len(es) > 0 {
		return es[0], nil
	}
	msg := fmt.Sprintf("unknown element %q", name)
	if near := nearest(name, r.Names()); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	} else {
		msg += " (elkspipe list shows them all)"
	}
	return nil, fmt.Errorf("%s", msg)
}

// Names returns the registered names in alphabetical order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.elements))
	for n := range r.elements {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Elements returns every registered element, sorted by kind then name.
func (r *Registry) Elements() []*Element {
	var out []*Element
	r.mu.RLock()
	for _, es := range r.elements {
		out = append(out, es...)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Args holds the parsed parameter values of one element instance, typed by
// its declared Params. Accessors panic on an undeclared name or a type
// mismatch: that is a bug in the element, not a user error.
type Args struct {
	elem   *Element
	values map[string]any
	given  map[string]bool
}

// NewArgs parses values given by name (as a user would write them) for the
// element e, applying defaults. It is how library code fills Args without
// going through pipe syntax.
func NewArgs(e *Element, named map[string]string) (Args, error) {
	a := Args{elem: e, values: map[string]any{}, given: map[string]bool{}}
	names := make([]string, 0, len(named))
	for k := range named {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := a.set(k, named[k]); err != nil {
			return a, err
		}
	}
	return a, a.finish()
}

func (a *Args) set(name, text string) error {
	p := a.elem.Param(name)
	if p == nil {
		names := make([]string, len(a.elem.Params))
		for i, q := range a.elem.Params {
			names[i] = q.Name
		}
		msg := fmt.Sprintf("unknown parameter %q", name)
		if near := nearest(name, names); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		} else if len(names) == 0 {
			msg += " (it takes none)"
		} else {
			msg += " (it takes " + strings.Join(names, ", ") + ")"
		}
		return fmt.Errorf("%s", msg)
	}
	v, err := p.parse(text)
	if err != nil {
		return fmt.Errorf("%s=%s: %v", name, text, err)
	}
	name = p.Name // an alias sets its parameter
	if p.Variadic {
		prev, _ := a.values[name].([]string)
		a.values[name] = append(prev, v.(string))
	} else {
		if a.given[name] {
			return fmt.Errorf("parameter %q given twice", name)
		}
		a.values[name] = v
	}
	a.given[name] = true
	return nil
}

func (a *Args) finish() error {
	for _, p := range a.elem.Params {
		if a.given[p.Name] {
			continue
		}
		if p.Required {
			return fmt.Errorf("missing %s (%s)", p.Name, p.Doc)
		}
		if p.Default != "" {
			v, _ := p.parse(p.Default)
			if p.Variadic {
				v = []string{v.(string)}
			}
			a.values[p.Name] = v
		}
	}
	return nil
}

func (p *Param) parse(text string) (any, error) {
	var v any
	var num float64
	var err error
	switch p.Type {
	case TypeString, TypePath:
		if text == "" && p.Type == TypePath {
			return nil, fmt.Errorf("empty path")
		}
		return text, nil
	case TypeInt:
		var n int64
		n, err = strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		v, num = int(n), float64(n)
	case TypeFloat:
		num, err = strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(num) || math.IsInf(num, 0) {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		v = num
	case TypeDuration:
		var d time.Duration
		d, err = ParseDuration(text)
		v, num = d, d.Seconds()
	case TypeRate:
		var r int
		r, err = parseRate(text)
		v, num = r, float64(r)
	case TypeFrequency:
		num, err = parseFrequency(text)
		v = num
	case TypeGain:
		num, err = parseGain(text)
		v = num
	case TypeBool:
		v, err = parseBool(text)
	case TypeEnum:
		for _, c := range p.Choices {
			if strings.EqualFold(c, text) {
				return c, nil
			}
		}
		if hint, ok := p.Hints[strings.ToLower(text)]; ok {
			return nil, fmt.Errorf("%q is not a %s; %s (one of %s)", text, p.Name, hint, strings.Join(p.Choices, ", "))
		}
		msg := fmt.Sprintf("%q is not one of %s", text, strings.Join(p.Choices, ", "))
		if near := nearest(text, p.Choices); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		return nil, fmt.Errorf("%s", msg)
	default:
		return nil, fmt.Errorf("parameter type %d unknown", p.Type)
	}
	if err != nil {
		return nil, err
	}
	if p.HasRange && (num < p.Min || num > p.Max) {
		return nil, fmt.Errorf("%s out of range %s", text, p.RangeText())
	}
	return v, nil
}

// RangeText renders the numeric range of p for messages and `inspect`, in
// the notation of its default: whole numbers in full (1000000, not 1e+06),
// durations without zero units (1m, not 1m0s), levels in dB, and rates in
// thousands (6k..510k) when the default is written that way.
func (p *Param) RangeText() string {
	if !p.HasRange {
		return ""
	}
	return p.valueText(p.Min) + ".." + p.valueText(p.Max)
}

// valueText writes x, a bound of p, as a user would write it.
func (p *Param) valueText(x float64) string {
	switch p.Type {
	case TypeDuration:
		s := time.Duration(x * float64(time.Second)).String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	case TypeGain:
		return strconv.FormatFloat(x, 'f', -1, 64) + "dB"
	case TypeRate, TypeFrequency:
		if strings.HasSuffix(p.Default, "k") && x != 0 && math.Abs(x) >= 1000 {
			return strconv.FormatFloat(x/1000, 'f', -1, 64) + "k"
		}
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// Element returns the element these Args belong to.
func (a Args) Element() *Element { return a.elem }

// Has reports whether the user gave the parameter (defaults do not count).
func (a Args) Has(name string) bool { return a.given[name] }

// IsSet reports whether the parameter has a value, given or default.
func (a Args) IsSet(name string) bool { _, ok := a.values[name]; return ok }

func (a Args) get(name string, t ...ParamType) any {
	p := a.elem.Param(name)
	if p == nil {
		panic("pipeline: element " + a.elem.Name + " has no parameter " + name)
	}
	match := false
	for _, want := range t {
		match = match || p.Type == want
	}
	if !match {
		panic("pipeline: parameter " + a.elem.Name + "." + name + " read with the wrong type")
	}
	return a.values[name]
}

// String returns a text, path or choice parameter ("" when unset).
func (a Args) String(name string) string {
	if p := a.elem.Param(name); p != nil && p.Variadic {
		if s := a.Strings(name); len(s) > 0 {
			return s[0]
		}
		return ""
	}
	s, _ := a.get(name, TypeString, TypePath, TypeEnum).(string)
	return s
}

// Strings returns all values of a variadic parameter.
func (a Args) Strings(name string) []string {
	s, _ := a.get(name, TypeString, TypePath).([]string)
	return s
}

// Int returns an integer or rate parameter (0 when unset).
func (a Args) Int(name string) int {
	n, _ := a.get(name, TypeInt, TypeRate).(int)
	return n
}

// Float returns a number, frequency or gain parameter (0 when unset).
func (a Args) Float(name string) float64 {
	f, _ := a.get(name, TypeFloat, TypeFrequency, TypeGain).(float64)
	return f
}

// Duration returns a duration parameter (0 when unset).
func (a Args) Duration(name string) time.Duration {
	d, _ := a.get(name, TypeDuration).(time.Duration)
	return d
}

// Bool returns a yes/no parameter (false when unset).
func (a Args) Bool(name string) bool {
	b, _ := a.get(name, TypeBool).(bool)
	return b
}

// nearest returns the candidate closest to word by edit distance, if it is
// close enough to be a plausible typo.
func nearest(word string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= max(2, len(word)/3) && bestDist < len(word) {
		return best
	}
	return ""
}

// editDistance is the Damerau–Levenshtein (optimal string alignment)
// distance, so that swapped letters ("resampel") count as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
