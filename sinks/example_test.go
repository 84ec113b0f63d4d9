package sinks_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	_ "github.com/elkspipe/elkspipe/transforms" // the converters that raw's Rate needs
)

// ramp returns a source of n mono frames at rate, rising from -0.5 by
// 1/n per frame.
func ramp(n, rate int) pipeline.Source {
	x := make([]float32, n)
	for i := range x {
		x[i] = -0.5 + float32(i)/float32(n)
	}
	return pipeline.FromSlice(pipeline.Format{Rate: rate, Channels: 1}, x)
}

// WAV writes a WAV file; its header is written first with sizes meaning
// "until the end of the file", then filled in with the real sizes.
func ExampleWAV() {
	dir, err := os.MkdirTemp("", "elkspipe-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "out.wav")

	wav, err := sinks.WAV(path, sinks.WAVOptions{Encoding: sinks.WAVS16})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := wav.Run(context.Background(), ramp(8000, 8000)); err != nil {
		fmt.Println(err)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	le := binary.LittleEndian
	fmt.Printf("%s %s, %d bytes\n", b[0:4], b[8:12], len(b))
	fmt.Printf("format %d, %d channel, %d Hz, %d bits\n", le.Uint16(b[20:]), le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]))
	fmt.Printf("%s: %d bytes; first sample %d\n", b[36:40], le.Uint32(b[40:]), int16(le.Uint16(b[44:])))
	// Output:
	// RIFF WAVE, 16044 bytes
	// format 1, 1 channel, 8000 Hz, 16 bits
	// data: 16000 bytes; first sample -16384
}

// Raw writes headerless samples, converted to the rate it is asked for:
// Build inserts a resampler before it. A second of 16 kHz audio becomes
// 8000 bytes of 8 kHz µ-law.
func ExampleRawTo() {
	var out bytes.Buffer
	raw, err := sinks.RawTo(&out, sinks.RawOptions{Encoding: pipeline.ULaw, Rate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	p, err := pipeline.Build(ctx, &pipeline.Graph{
		Sources: []pipeline.Stage{{Name: "ramp", Open: func(context.Context) (pipeline.Source, error) {
			return ramp(16000, 16000), nil
		}}},
		Sink: pipeline.Stage{Name: "raw ulaw", Sink: raw},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Describe())
	if err := p.Run(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Len(), "bytes")
	// Output:
	// ramp [16000 Hz mono] | resample 8000 (auto) [8000 Hz mono] | raw ulaw
	// 8000 bytes
}
