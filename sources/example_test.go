package sources_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
)

// peak returns the largest absolute sample.
func peak(x []float32) float32 {
	var p float32
	for _, v := range x {
		p = max(p, v, -v)
	}
	return p
}

// Tone makes an Opener: every opening plays the tone afresh. One second
// at the default 48 kHz is 48000 frames, at the default level of −6 dBFS.
func ExampleTone() {
	open, err := sources.Tone(sources.ToneOptions{Freq: 440, Dur: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := open(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pipeline.Close(src)
	buf := make([]float32, 2*48000)
	n, err := pipeline.ReadFull(src, buf) // the buffer is longer than the tone
	fmt.Println(src.Format(), n, "frames,", err)
	fmt.Printf("%.1f Hz, peak %.3f\n", audiotest.CrossingFrequency(buf[:n], 48000), peak(buf[:n]))

	_, err = sources.Tone(sources.ToneOptions{Freq: 30000})
	fmt.Println(err)
	// Output:
	// 48000 Hz mono 48000 frames, unexpected EOF
	// 440.0 Hz, peak 0.501
	// frequency 30000 Hz is not below half the sample rate (24000 Hz at 48000 Hz); raise rate= or lower the frequency
}

// File plays a WAV or MP3 file, recognising it by its content. Here a
// quarter of a second of a 1 kHz stereo tone is written as a 24-bit WAV
// file and played back.
func ExampleFile() {
	dir, err := os.MkdirTemp("", "elkspipe-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "beep.wav")

	ctx := context.Background()
	tone, _ := sources.Tone(sources.ToneOptions{Freq: 1000, Dur: 250 * time.Millisecond, Rate: 16000, Channels: 2})
	src, _ := tone(ctx)
	wav, _ := sinks.WAV(path, sinks.WAVOptions{Encoding: sinks.WAVS24})
	if err := wav.Run(ctx, src); err != nil {
		fmt.Println(err)
		return
	}

	in, err := sources.File(path)(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pipeline.Close(in)
	fmt.Println(in.Format(), pipeline.FramesOf(in), "frames")
	buf := make([]float32, 2*4000)
	n, _ := pipeline.ReadFull(in, buf)
	left := make([]float32, n)
	for i := range left {
		left[i] = buf[2*i]
	}
	fmt.Printf("%.1f Hz\n", audiotest.CrossingFrequency(left, 16000))

	_, err = sources.File(filepath.Join(dir, "missing.mp3"))(ctx)
	fmt.Println(err != nil)
	// Output:
	// 16000 Hz stereo 4000 frames
	// 1000.0 Hz
	// true
}

// DTMF dials digits: each plays its two tones for 100 ms, then 100 ms of
// silence, by default.
func ExampleDTMF() {
	low, high, _ := sources.DTMFFrequencies('5')
	fmt.Println("5:", low, "Hz +", high, "Hz")

	open, err := sources.DTMF(sources.DTMFOptions{Digits: "123", Rate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, _ := open(context.Background())
	fmt.Println(pipeline.FramesOf(src), "frames:", time.Duration(pipeline.FramesOf(src))*time.Second/8000)
	// Output:
	// 5: 770 Hz + 1336 Hz
	// 4800 frames: 600ms
}
