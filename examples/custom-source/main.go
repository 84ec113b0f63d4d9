// Command custom-source shows how to write a Source of your own and feed it
// to elkspipe's stages: a source that plays a slice of samples made in
// memory (a rising chirp), converted to 8 kHz µ-law by the raw sink, which
// asks Build for the rate it needs. Run it with:
//
//	go run ./examples/custom-source [FILE]
//
// It writes FILE, or chirp.ul in the temporary folder (os.TempDir) when no
// name is given, and logs the chain and where the file is. FILE - writes
// to standard output, for a pipe or a redirection (not a terminal):
//
//	go run ./examples/custom-source - | play -t ul -r 8000 -
package main

import (
	"context"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	_ "github.com/elkspipe/elkspipe/transforms" // registers the automatic resampler
)

// chirp is a Source: Format and Read, following the io.Reader rules.
type chirp struct {
	rate, pos, frames int
}

func (c *chirp) Format() pipeline.Format { return pipeline.Format{Rate: c.rate, Channels: 1} }

func (c *chirp) Read(p []float32) (int, error) {
	if c.pos >= c.frames {
		return 0, io.EOF
	}
	n := min(len(p), c.frames-c.pos)
	for i := range p[:n] {
		t := float64(c.pos+i) / float64(c.rate)
		p[i] = float32(0.5 * math.Sin(2*math.Pi*(200*t+400*t*t))) // 200 Hz rising 800 Hz/s
	}
	c.pos += n
	return n, nil
}

// Frames tells fades and loops how long the chirp is.
func (c *chirp) Frames() int64 { return int64(c.frames) }

func main() {
	open := func(context.Context) (pipeline.Source, error) {
		return &chirp{rate: 44100, frames: 44100 * 2}, nil
	}
	out := filepath.Join(os.TempDir(), "chirp.ul")
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if out == "-" && isTerminal(os.Stdout) {
		log.Fatal("refusing to write µ-law bytes to a terminal: redirect standard output (- > chirp.ul), or give a file name")
	}
	sink, err := sinks.Raw(out, sinks.RawOptions{Encoding: pipeline.ULaw, Rate: 8000})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p, err := pipeline.Build(ctx, &pipeline.Graph{
		Sources: []pipeline.Stage{{Name: "chirp", Open: open}},
		Sink:    pipeline.Stage{Name: "raw " + out + " enc=ulaw rate=8k", Sink: sink},
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println(p.Describe())
	if err := p.Run(ctx); err != nil {
		log.Fatal(err)
	}
	if out != "-" {
		log.Println("wrote", out)
	}
}

// isTerminal reports whether f is a terminal: a character device other
// than the null device.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
