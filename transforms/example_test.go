package transforms_test

import (
	"context"
	"fmt"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
	"github.com/elkspipe/elkspipe/transforms"
)

// tone opens a mono tone of freq Hz lasting dur at rate.
func tone(freq float64, dur time.Duration, rate int) pipeline.Source {
	open, err := sources.Tone(sources.ToneOptions{Freq: freq, Dur: dur, Rate: rate})
	if err != nil {
		panic(err)
	}
	src, err := open(context.Background())
	if err != nil {
		panic(err)
	}
	return src
}

// Resample converts a source to another rate: one second of a 1 kHz tone
// at 44.1 kHz becomes exactly 8000 frames at 8 kHz, still at 1 kHz.
func ExampleResample() {
	resample, err := transforms.Resample(8000, transforms.High)
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := resample.Apply(tone(1000, time.Second, 44100))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pipeline.Close(src)
	buf := make([]float32, 8000) // one second
	n, err := pipeline.ReadFull(src, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = pipeline.ReadSome(src, buf)
	fmt.Println(src.Format(), n, "frames, then", err)
	cycles, prev := 0, float32(0)
	for _, v := range buf[:n] { // rising zero crossings
		if prev <= 0 && v > 0 {
			cycles++
		}
		prev = v
	}
	fmt.Println(cycles, "cycles")
	// Output:
	// 8000 Hz mono 8000 frames, then EOF
	// 1000 cycles
}

// Fade scales the start and the end of a stream: the first frame of a
// fade-in and the last of a fade-out are silent, and the middle plays at
// full level.
func ExampleFade() {
	fade, err := transforms.Fade(10*time.Millisecond, 10*time.Millisecond, transforms.FadeLinear)
	if err != nil {
		fmt.Println(err)
		return
	}
	ones := make([]float32, 100) // 100 ms of full scale at 1 kHz
	for i := range ones {
		ones[i] = 1
	}
	src, err := fade.Apply(pipeline.FromSlice(pipeline.Format{Rate: 1000, Channels: 1}, ones))
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]float32, 100)
	n, _ := pipeline.ReadFull(src, out)
	fmt.Println(n, "frames:", out[:3], "...", out[48:51], "...", out[97:])

	_, err = fade.Apply(tone(440, 0, 8000)) // endless: no end to fade out at
	fmt.Println(err != nil)
	// Output:
	// 100 frames: [0 0.1 0.2] ... [1 1 1] ... [0.2 0.1 0]
	// true
}

// Loop repeats everything before it, re-opening it every time: it needs
// the upstream's Opener, which Build gives it. Three iterations of 20 ms at
// 8 kHz are exactly 480 frames, and the observer sees every joint.
func ExampleLoop() {
	open, err := sources.Tone(sources.ToneOptions{Freq: 500, Dur: 20 * time.Millisecond, Rate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	loop, err := transforms.Loop(3)
	if err != nil {
		fmt.Println(err)
		return
	}
	sink := sinks.Null()
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		if e.Kind == pipeline.IterationStarted {
			fmt.Println(e)
		}
	})
	p, err := pipeline.Build(ctx, &pipeline.Graph{
		Sources:    []pipeline.Stage{{Name: "tone 500", Open: open}},
		Transforms: []pipeline.Stage{{Name: "loop 3", Transform: loop}},
		Sink:       pipeline.Stage{Name: "null", Sink: sink},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Run(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(sink.Frames(), "frames")
	// Output:
	// loop: iteration started #1
	// loop: iteration started #2
	// loop: iteration started #3
	// 480 frames
}
