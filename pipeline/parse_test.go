package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// testRegistry holds small elements for parser and Build tests.
func testRegistry() *Registry {
	r := NewRegistry()
	constSrc := func(a Args) (Opener, error) {
		n := int(a.Duration("dur").Seconds() * float64(a.Int("rate")))
		f := Format{Rate: a.Int("rate"), Channels: a.Int("channels")}
		v := float32(a.Float("value"))
		return func(context.Context) (Source, error) {
			data := make([]float32, n*f.Channels)
			for i := range data {
				data[i] = v
			}
			return FromSlice(f, data), nil
		}, nil
	}
	r.Register(Element{Name: "const", Kind: KindSource, Summary: "constant samples",
		Params: []Param{
			{Name: "value", Type: TypeFloat, Positional: true, Default: "0.5"},
			{Name: "dur", Type: TypeDuration, Default: "1s"},
			{Name: "rate", Type: TypeRate, Default: "8k"},
			{Name: "channels", Type: TypeInt, Default: "1", HasRange: true, Min: 1, Max: 8},
		}, NewSource: constSrc})
	r.Register(Element{Name: "files", Kind: KindSource, Summary: "variadic test",
		Params: []Param{
			{Name: "paths", Type: TypePath, Positional: true, Variadic: true, Required: true},
			{Name: "shuffle", Type: TypeBool},
		}, NewSource: constSrc})
	r.Register(Element{Name: "resample", Kind: KindTransform, Summary: "rate",
		Params: []Param{
			{Name: "rate", Type: TypeRate, Positional: true, Required: true},
			{Name: "quality", Type: TypeEnum, Choices: []string{"low", "high"}, Default: "high"},
		}, NewTransform: func(a Args) (Transform, error) {
			return TransformFunc(func(s Source) (Source, error) { return s, nil }), nil
		}})
	r.Register(Element{Name: "gain", Kind: KindTransform, Summary: "level",
		Params:       []Param{{Name: "db", Type: TypeGain, Positional: true, Required: true}},
		NewTransform: func(a Args) (Transform, error) { return scale(DBToAmplitude(a.Float("db"))), nil }})
	r.Register(Element{Name: "raw", Kind: KindSource, Summary: "raw in",
		Params: []Param{{Name: "path", Type: TypePath, Positional: true, Required: true}}, NewSource: constSrc})
	r.Register(Element{Name: "raw", Kind: KindSink, Summary: "raw out",
		Params:  []Param{{Name: "path", Type: TypePath, Positional: true, Required: true}},
		NewSink: func(a Args) (Sink, error) { return &collect{}, nil }})
	r.Register(Element{Name: "collect", Kind: KindSink, Summary: "test sink",
		Params: []Param{{Name: "rate", Type: TypeRate}, {Name: "key", Type: TypeString, Positional: true, Secret: true}},
		NewSink: func(a Args) (Sink, error) {
			return &collect{want: Format{Rate: a.Int("rate"), Channels: 1}}, nil
		}})
	return r
}

type scale float64

func (g scale) Apply(s Source) (Source, error) { return &scaled{Source: s, g: float32(g)}, nil }

type scaled struct {
	Source
	g float32
}

func (s *scaled) Read(p []float32) (int, error) {
	n, err := s.Source.Read(p)
	for i := range p[:n*s.Format().Channels] {
		p[i] *= s.g
	}
	return n, err
}

type collect struct {
	want Format
	got  []float32
	f    Format
}

func (c *collect) Want(offered Format) Format {
	if c.want.Rate == 0 {
		return offered
	}
	return c.want
}

func (c *collect) Run(ctx context.Context, src Source) error {
	c.f = src.Format()
	buf := make([]float32, 256*c.f.Channels)
	for {
		n, err := src.Read(buf)
		c.got = append(c.got, buf[:n*c.f.Channels]...)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestParseShapes(t *testing.T) {
	r := testRegistry()
	cases := []struct{ in, want string }{
		{"const 0.25 dur=2s | gain -6dB | collect", "const 0.25 dur=2s | gain -6dB | collect"},
		{"const | resample 16k quality=low | raw out.pcm", `const | resample 16k quality=low | raw "out.pcm"`},
		{"const 1 + const 2 | collect", "const 1 + const 2 | collect"},
		{"raw in.pcm|raw out.pcm", `raw "in.pcm" | raw "out.pcm"`},
		{`files "a b.wav" c.wav shuffle=yes | collect`, `files "a b.wav" "c.wav" shuffle=yes | collect`},
		{"const ! gain -3 ! collect", "const | gain -3 | collect"},
		{"const", "const"},
	}
	for _, c := range cases {
		spec, err := r.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := spec.String(); got != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseValues(t *testing.T) {
	r := testRegistry()
	spec, err := r.Parse("files a.wav b.mp3 'c d.wav' | resample 44.1k | gain +3db | raw -")
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Sources[0].Args.Strings("paths"); strings.Join(got, ",") != "a.wav,b.mp3,c d.wav" {
		t.Errorf("paths = %q", got)
	}
	if got := spec.Transforms[0].Args.Int("rate"); got != 44100 {
		t.Errorf("rate = %d", got)
	}
	if got := spec.Transforms[0].Args.String("quality"); got != "high" {
		t.Errorf("default quality = %q", got)
	}
	if got := spec.Transforms[1].Args.Float("db"); got != 3 {
		t.Errorf("gain = %v", got)
	}
	if spec.Sink.Element.Kind != KindSink || spec.Sources[0].Element.Kind != KindSource {
		t.Errorf("kinds: %v %v", spec.Sources[0].Element.Kind, spec.Sink.Element.Kind)
	}
	words, err := r.ParseWords([]string{"raw", "my file.pcm", "!", "gain", "-6dB", "|", "raw", "-"})
	if err != nil {
		t.Fatal(err)
	}
	if got := words.Sources[0].Args.String("path"); got != "my file.pcm" || words.Sink.Element.Kind != KindSink {
		t.Errorf("ParseWords path %q sink %v", got, words.Sink.Element.Kind)
	}
}

func TestParseErrors(t *testing.T) {
	r := testRegistry()
	cases := []struct{ in, want string }{
		{"", "empty pipeline"},
		{"| const", "starts with a separator"},
		{"const |", "ends with a separator"},
		{"const | | collect", "empty stage"},
		{"cnost", `unknown element "cnost"; did you mean "const"?`},
		{"const | resampel 8k", `stage 2 (resampel): unknown element "resampel"; did you mean "resample"?`},
		{"const | resample", "stage 2 (resample): missing rate"},
		{"const | resample 8k qualty=low", `unknown parameter "qualty"; did you mean "quality"?`},
		{"const | resample 8k quality=hgih", `"hgih" is not one of low, high; did you mean "high"?`},
		{"const | resample eight", `"eight" is not a sample rate`},
		{"const channels=9", "out of range 1..8"},
		{"const dur=-1s", "negative"},
		{"const 1 2", "unexpected value \"2\""},
		{"gain -6 | collect", "a pipeline starts with a source, and gain is a transform"},
		{"const | collect | gain 1", "collect is a sink and must be the last stage"},
		{"const | const", "const is a source; join sources with `+`"},
		{"const | gain 1 + const", "`+` joins sources only in the first stage"},
		{"const 'unclosed", "unclosed ' quote"},
		{"const dur=1s dur=2s", "given twice"},
	}
	for _, c := range cases {
		_, err := r.Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", c.in, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", c.in, err, c.want)
		}
	}
}

func TestValueSyntax(t *testing.T) {
	durs := map[string]time.Duration{"250ms": 250 * time.Millisecond, "1.5s": 1500 * time.Millisecond,
		"2m": 2 * time.Minute, "3": 3 * time.Second, "0.25": 250 * time.Millisecond}
	for in, want := range durs {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	rates := map[string]int{"8k": 8000, "44.1k": 44100, "16000": 16000, "16kHz": 16000}
	for in, want := range rates {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"8.5", "0", "-8k", "x"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
	gains := map[string]float64{"-6dB": -6, "-6": -6, "+3db": 3, "0dBFS": 0}
	for in, want := range gains {
		if got, err := parseGain(in); err != nil || got != want {
			t.Errorf("parseGain(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if f, err := parseFrequency("1k"); err != nil || f != 1000 {
		t.Errorf("parseFrequency(1k) = %v, %v", f, err)
	}
}

func TestHelpText(t *testing.T) {
	r := testRegistry()
	var b strings.Builder
	if err := r.WriteInspect(&b, "resample"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"resample (transform)", "resample RATE [key=value...]", "quality", "one of low|high", "default high", "positional; required"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := r.WriteInspect(&b, "raw"); err != nil || !strings.Contains(b.String(), "raw (source)") || !strings.Contains(b.String(), "raw (sink)") {
		t.Errorf("inspect raw: %v\n%s", err, b.String())
	}
	if err := r.WriteInspect(&b, "resampel"); err == nil || !strings.Contains(err.Error(), `did you mean "resample"`) {
		t.Errorf("inspect of a typo: %v", err)
	}
	b.Reset()
	r.WriteList(&b)
	if !strings.Contains(b.String(), "Sources:") || !strings.Contains(b.String(), "files PATHS...") {
		t.Errorf("list:\n%s", b.String())
	}
}

func TestRangeTextUsesTheDefaultsNotation(t *testing.T) {
	for _, c := range []struct {
		p    Param
		want string
	}{
		{Param{Type: TypeInt}.Range(0, 1e6), "0..1000000"},
		{Param{Type: TypeRate, Default: "24k"}.Range(6000, 510000), "6k..510k"},
		{Param{Type: TypeRate, Default: "48000"}.Range(1, MaxRate), "1..768000"},
		{Param{Type: TypeRate}.Range(1, MaxRate), "1..768000"},
		{Param{Type: TypeDuration}.Range(0, 3600), "0s..1h"},
		{Param{Type: TypeDuration}.Range(0.0025, 600), "2.5ms..10m"},
		{Param{Type: TypeDuration}.Range(1, 90), "1s..1m30s"},
		{Param{Type: TypeGain}.Range(-120, 60), "-120dB..60dB"},
		{Param{Type: TypeFloat}.Range(0, 360), "0..360"},
	} {
		if got := c.p.RangeText(); got != c.want {
			t.Errorf("%v %g..%g (default %q): %q, want %q", c.p.Type, c.p.Min, c.p.Max, c.p.Default, got, c.want)
		}
	}
}

// A table too wide for helpWidth puts each parameter's notes under its
// wrapped doc; one that fits keeps them in a column.
func TestInspectKeepsWithinWidth(t *testing.T) {
	long := strings.Repeat("a long explanation of the parameter ", 4)
	r := NewRegistry()
	r.Register(Element{Name: "wide", Kind: KindSink, Summary: strings.Repeat("summary words ", 12),
		Params: []Param{
			{Name: "first", Type: TypeInt, Doc: long, Default: "3"},
			{Name: "second", Type: TypeEnum, Doc: "short", Choices: []string{"a", "b"}, Default: "a"},
		},
		NewSink: func(Args) (Sink, error) { return nil, nil }})
	r.Register(Element{Name: "narrow", Kind: KindSink, Summary: "fits",
		Params:  []Param{{Name: "n", Type: TypeInt, Doc: "a number", Default: "1"}},
		NewSink: func(Args) (Sink, error) { return nil, nil }})
	var b strings.Builder
	if err := r.WriteInspect(&b, "wide"); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if len(line) > helpWidth || strings.HasSuffix(line, " ") {
			t.Errorf("line of %d columns (or with trailing space): %q", len(line), line)
		}
	}
	for _, want := range []string{"\n  first   integer  a long explanation", "\n                   (default 3)\n",
		"\n  second  choice   short\n                   (default a; one of a|b)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect wide lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := r.WriteInspect(&b, "narrow"); err != nil {
		t.Fatal(err)
	}
	if want := "\n  n  integer  a number  (default 1)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("inspect narrow lacks %q:\n%s", want, b.String())
	}
}

// A secret parameter's value never shows in a stage's label (errors, the
// -v chain), named or positional; Spec.String keeps it, so that the spec
// can be passed on.
func TestSecretParamsAreHidden(t *testing.T) {
	r := testRegistry()
	for _, c := range []struct{ text, label string }{
		{"const | collect key=s3cret rate=8k", "collect key=xxx rate=8k"},
		{"const | collect s3cret", "collect xxx"},
		{"const | collect rate=8k", "collect rate=8k"},
	} {
		spec, err := r.Parse(c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		if got := spec.Sink.Label(); got != c.label {
			t.Errorf("%s: label %q, want %q", c.text, got, c.label)
		}
		if got := spec.String(); got != c.text {
			t.Errorf("%s: String %q", c.text, got)
		}
	}
}

// sameSpec reports how two specs differ, in their elements and words, or
// "" when they are the same.
func sameSpec(a, b *Spec) string {
	nodes := func(s *Spec) []*Node {
		ns := append(append([]*Node(nil), s.Sources...), s.Transforms...)
		if s.Sink != nil {
			ns = append(ns, s.Sink)
		}
		return ns
	}
	na, nb := nodes(a), nodes(b)
	if len(na) != len(nb) {
		return fmt.Sprintf("%d stages, then %d", len(na), len(nb))
	}
	for i := range na {
		if na[i].Element != nb[i].Element || !slices.Equal(na[i].Words, nb[i].Words) || !slices.Equal(na[i].named, nb[i].named) {
			return fmt.Sprintf("stage %d: %s %q, then %s %q", i+1, na[i].Element.Name, na[i].Words, nb[i].Element.Name, nb[i].Words)
		}
	}
	return ""
}

// Spec.String reads back as the same spec, whatever the words hold:
// values that look like key=value, white space, quotes, backslashes,
// separators, control characters; and a quote after key= quotes the
// value, not the whole word.
func TestSpecStringRoundTrips(t *testing.T) {
	r := testRegistry()
	for _, text := range []string{
		`files "a=b.wav" | collect`,
		`files "a b.wav" 'x"y' "back\\slash" "!" "+" "a|b" | collect`,
		"files \"tab\there\" \"nul\x00\" \"new\nline\" | collect",
		`files x | collect key="a b"`,
		`const 0.5 dur=2s + const | gain -6 | collect rate=8k`,
	} {
		spec, err := r.Parse(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		again, err := r.Parse(spec.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", text, spec.String(), err)
		}
		if d := sameSpec(spec, again); d != "" {
			t.Errorf("%q printed as %q reads back otherwise: %s", text, spec.String(), d)
		}
	}
	spec, _ := r.Parse(`files x | collect key="a b"`)
	if got := spec.Sink.Words[0]; got != "key=a b" || !spec.Sink.named[0] {
		t.Errorf(`key="a b" read as %q (named %v)`, got, spec.Sink.named[0])
	}
}

// FuzzSpecRoundTrip checks on any pipeline text that parses that its
// Spec.String parses back to the same spec.
func FuzzSpecRoundTrip(f *testing.F) {
	for _, s := range []string{
		`files "a=b.wav" | collect`, `files 'x y' | collect key="a b"`, "files \"\\\\\" \"\x01\" | collect",
		`const + const 1 | resample 8k quality=low | raw out.raw`, `files a ! collect`,
	} {
		f.Add(s)
	}
	r := testRegistry()
	f.Fuzz(func(t *testing.T, text string) {
		spec, err := r.Parse(text)
		if err != nil {
			return
		}
		again, err := r.Parse(spec.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", text, spec.String(), err)
		}
		if d := sameSpec(spec, again); d != "" {
			t.Fatalf("%q printed as %q reads back otherwise: %s", text, spec.String(), d)
		}
	})
}
