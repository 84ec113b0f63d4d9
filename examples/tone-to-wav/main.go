// Command tone-to-wav builds a pipeline from Go constructors instead of pipe
// syntax: a 440 Hz tone, 6 dB quieter, faded in and out, written to a 16 kHz
// WAV file. The sink asks for nothing, so the explicit resample stage sets
// the rate. Run it with: go run ./examples/tone-to-wav [FILE]
// It writes FILE, or tone.wav in the temporary folder (os.TempDir) when
// no name is given, and prints the chain and where the file is.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
	"github.com/elkspipe/elkspipe/transforms"
)

func main() {
	out := filepath.Join(os.TempDir(), "tone.wav")
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	tone, err := sources.Tone(sources.ToneOptions{Freq: 440, Dur: 2 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fade, err := transforms.Fade(100*time.Millisecond, 300*time.Millisecond, transforms.FadeHalfSine)
	if err != nil {
		log.Fatal(err)
	}
	gain, err := transforms.Gain(-6)
	if err != nil {
		log.Fatal(err)
	}
	resample, err := transforms.Resample(16000, transforms.High)
	if err != nil {
		log.Fatal(err)
	}
	sink, err := sinks.WAV(out, sinks.WAVOptions{})
	if err != nil {
		log.Fatal(err)
	}
	g := &pipeline.Graph{
		Sources: []pipeline.Stage{{Name: "tone 440", Open: tone}},
		Transforms: []pipeline.Stage{
			{Name: "gain -6dB", Transform: gain},
			{Name: "fade", Transform: fade},
			{Name: "resample 16k", Transform: resample},
		},
		Sink: pipeline.Stage{Name: "wav " + out, Sink: sink},
	}
	ctx := context.Background()
	p, err := pipeline.Build(ctx, g)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Describe())
	if err := p.Run(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", out)
}
