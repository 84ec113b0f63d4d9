package pipeline_test

import (
	"context"
	"fmt"

	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sinks"
	_ "github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

// Parse reads pipe syntax into a Spec without opening anything.
func ExampleParse() {
	spec, err := pipeline.Parse("tone 1k dur=200ms + silence 300ms ! resample 16k ! wav out.wav bits=24")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec)
	fmt.Println(spec.Transforms[0].Args.Int("rate"))

	_, err = pipeline.Parse("tone 440 | resampel 8k | null")
	fmt.Println(err)
	// Output:
	// tone 1k dur=200ms + silence 300ms | resample 16k | wav "out.wav" bits=24
	// 16000
	// stage 2 (resampel): unknown element "resampel"; did you mean "resample"?
}

// BuildText builds a pipeline from text, negotiating formats: the raw sink
// asks for 8 kHz, so a resampler is inserted.
func ExampleBuildText() {
	ctx := context.Background()
	p, err := pipeline.BuildText(ctx, "tone 440 dur=1s channels=2 | gain -3dB | raw /dev/null rate=8k channels=1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Describe())
	fmt.Println(p.Run(ctx))
	// Output:
	// tone 440 dur=1s channels=2 [48000 Hz stereo] | gain -3dB [48000 Hz stereo] | channels 1 (auto) [48000 Hz mono] | resample 8000 (auto) [8000 Hz mono] | raw "/dev/null" rate=8k channels=1
	// <nil>
}

// WithObserver reports playlist items and loop iterations as they pass.
func ExampleWithObserver() {
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		fmt.Println(e)
	})
	p, err := pipeline.BuildText(ctx, "tone 440 dur=10ms + silence 10ms | loop 2 | null")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Run(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// loop: iteration started #1
	// +: item started #1 "tone 440 dur=10ms"
	// +: item ended #1 "tone 440 dur=10ms"
	// +: item started #2 "silence 10ms"
	// +: item ended #2 "silence 10ms"
	// loop: iteration ended #1
	// loop: iteration started #2
	// +: item started #1 "tone 440 dur=10ms"
	// +: item ended #1 "tone 440 dur=10ms"
	// +: item started #2 "silence 10ms"
	// +: item ended #2 "silence 10ms"
	// loop: iteration ended #2
}
