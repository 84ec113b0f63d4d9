package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// pathRegistry has sources and a sink with path parameters, named as in
// testRegistry, that play a tenth of a second of silence.
func pathRegistry() *Registry {
	r := NewRegistry()
	open := func(Args) (Opener, error) { return constOpener(Format{Rate: 8000, Channels: 1}, 800), nil }
	r.Register(Element{Name: "raw", Kind: KindSource, Summary: "raw in",
		Params: []Param{{Name: "path", Type: TypePath, Positional: true, Required: true}}, NewSource: open})
	r.Register(Element{Name: "files", Kind: KindSource, Summary: "variadic",
		Params: []Param{{Name: "paths", Type: TypePath, Positional: true, Variadic: true, Required: true}}, NewSource: open})
	r.Register(Element{Name: "const", Kind: KindSource, Summary: "no path", NewSource: open})
	r.Register(Element{Name: "gain", Kind: KindTransform, Summary: "level",
		Params:       []Param{{Name: "db", Type: TypeGain, Positional: true, Required: true}},
		NewTransform: func(a Args) (Transform, error) { return scale(DBToAmplitude(a.Float("db"))), nil }})
	r.Register(Element{Name: "raw", Kind: KindSink, Summary: "raw out",
		Params:  []Param{{Name: "path", Type: TypePath, Positional: true, Required: true}},
		NewSink: func(a Args) (Sink, error) { return &collect{}, nil }})
	return r
}

func TestBuildRefusesOutputOntoInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "same.pcm")
	if err := os.WriteFile(in, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pcm")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.pcm")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.pcm")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	q := strconv.Quote
	dotted := filepath.Join(dir, ".", "sub", "..", "same.pcm")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ text, want string }{
		{"raw " + q(in) + " | gain -3 | raw " + q(in),
			"raw " + q(in) + ": the output is the input file " + q(in) + " of stage 1 (raw)"},
		{"raw " + q(link) + " | raw " + q(in),
			"raw " + q(in) + ": the output is the input file " + q(link) + " of stage 1 (raw)"},
		{"raw " + q(in) + " | raw " + q(link),
			"raw " + q(link) + ": the output is the input file " + q(in) + " of stage 1 (raw)"},
		{"raw " + q(in) + " | raw " + q(hard),
			"raw " + q(hard) + ": the output is the input file " + q(in) + " of stage 1 (raw)"},
		{"raw " + q(in) + " | raw " + q(dotted),
			"raw " + q(dotted) + ": the output is the input file " + q(in) + " of stage 1 (raw)"},
		{"const + files " + q(other) + " " + q(in) + " | raw " + q(in),
			"raw " + q(in) + ": the output is the input file " + q(in) + " of stage 1 (files)"},
		// Not the same file, standard input/output, or an output not there yet.
		{"raw " + q(in) + " | raw " + q(other), ""},
		{"raw - | raw -", ""},
		{"raw " + q(in) + " | raw " + q(filepath.Join(dir, "new.pcm")), ""},
	}
	for _, c := range cases {
		spec, err := pathRegistry().Parse(c.text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(context.Background(), g)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.text, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%s:\n got %v\nwant %s", c.text, err, c.want)
		}
		if p != nil {
			p.Close()
		}
	}
	if b, _ := os.ReadFile(in); string(b) != "keep me" {
		t.Errorf("input changed: %q", b)
	}
}

// reopen is a Reopener that opens its upstream twice, like loop 2.
type reopen struct{}

func (reopen) Apply(Source) (Source, error) { return nil, errors.New("needs an Opener") }
func (reopen) Wrap(up Opener) Opener {
	return func(ctx context.Context) (Source, error) {
		first, err := up(ctx)
		if err != nil {
			return nil, err
		}
		Close(first)
		return up(ctx)
	}
}

func TestStdinStageAndReopeners(t *testing.T) {
	r := pathRegistry()
	r.Register(Element{Name: "again", Kind: KindTransform, Summary: "re-opens",
		NewTransform: func(Args) (Transform, error) { return reopen{}, nil }})
	cases := []struct{ text, stdin, build string }{
		{"raw - | raw -", `raw "-"`, ""},
		{"raw - | gain -3 | raw out.pcm", `raw "-"`, ""},
		{"const + files a.pcm - | gain -3 | raw -", `files "a.pcm" "-"`, ""},
		{"const | again | raw -", "", ""},
		{"raw in.pcm | again | raw -", "", ""},
		{"raw - | again | raw out.pcm", `raw "-"`,
			`raw "-": again cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
		{"const + raw - | gain -3 | again | raw out.pcm", `raw "-"`,
			`raw "-": again cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
	}
	for _, c := range cases {
		spec, err := r.Parse(c.text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		st, ok := g.StdinStage()
		if ok != (c.stdin != "") || st.Name != c.stdin {
			t.Errorf("%s: StdinStage = %q, %v; want %q", c.text, st.Name, ok, c.stdin)
		}
		p, err := Build(context.Background(), g)
		switch {
		case c.build == "" && err != nil:
			t.Errorf("%s: %v", c.text, err)
		case c.build != "" && (err == nil || err.Error() != c.build):
			t.Errorf("%s:\n got %v\nwant %s", c.text, err, c.build)
		}
		if c.build != "" {
			if _, err := g.Opener(); err == nil || err.Error() != c.build {
				t.Errorf("%s: Opener: %v", c.text, err)
			}
		}
		if p != nil {
			p.Close()
		}
	}
	if _, ok := (*Graph)(nil).StdinStage(); ok {
		t.Error("nil Graph reads standard input")
	}
}
