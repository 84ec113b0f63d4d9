package sinks

import (
	"io"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// wav and raw need a stream that ends when they write a named file, unless
// told it may be endless; standard output and Go writers never do.
func TestNeedsEnd(t *testing.T) {
	must := func(s pipeline.Sink, err error) pipeline.Sink {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name string
		sink pipeline.Sink
		want bool
	}{
		{"wav x.wav", must(WAV("x.wav", WAVOptions{})), true},
		{"wav x.wav endless", must(WAV("x.wav", WAVOptions{Endless: true})), false},
		{"wav -", must(WAV("-", WAVOptions{})), false},
		{"WAVTo", must(WAVTo(io.Discard, WAVOptions{})), false},
		{"raw x.raw", must(Raw("x.raw", RawOptions{})), true},
		{"raw x.raw endless", must(Raw("x.raw", RawOptions{Endless: true})), false},
		{"raw -", must(Raw("-", RawOptions{})), false},
		{"RawTo", must(RawTo(io.Discard, RawOptions{})), false},
	}
	for _, c := range cases {
		n, ok := c.sink.(pipeline.EndNeeder)
		if got := ok && n.NeedsEnd(); got != c.want {
			t.Errorf("%s: NeedsEnd %v, want %v", c.name, got, c.want)
		}
	}
	// The registry's endless=true reaches the options.
	for _, text := range []string{"tone 440 | wav x.wav endless=true", "tone 440 | raw x.raw endless=yes"} {
		spec, err := pipeline.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spec.Graph()
		if err != nil {
			t.Fatal(err)
		}
		if n := g.Sink.Sink.(pipeline.EndNeeder); n.NeedsEnd() {
			t.Errorf("%s: NeedsEnd", text)
		}
	}
}
