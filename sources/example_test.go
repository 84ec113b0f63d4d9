package sources_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
)

// Tone makes an Opener: every opening plays the tone afresh. One second
// at the default 48 kHz is 48000 frames, at the default level of −6 dBFS.
// Counting the rising zero crossings of one second gives the frequency.
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
	var frames, cycles int
	var prev, peak float32
	buf := make([]float32, 4096)
	for {
		n, err := pipeline.ReadSome(src, buf) // never spins on a broken Source
		for _, v := range buf[:n] {
			if prev <= 0 && v > 0 {
				cycles++
			}
			prev, peak = v, max(peak, v, -v)
		}
		frames += n
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(src.Format(), frames, "frames")
	fmt.Printf("%d cycles, peak %.3f\n", cycles, peak)

	_, err = sources.Tone(sources.ToneOptions{Freq: 30000})
	fmt.Println(err)
	// Output:
	// 48000 Hz mono 48000 frames
	// 440 cycles, peak 0.501
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
	buf := make([]float32, 2*4000) // a quarter of a second
	n, err := pipeline.ReadFull(in, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	cycles, prev := 0, float32(0)
	for i := range n { // rising zero crossings of the left channel
		v := buf[2*i]
		if prev <= 0 && v > 0 {
			cycles++
		}
		prev = v
	}
	fmt.Println(cycles, "cycles in 250ms:", 4*cycles, "Hz")

	_, err = sources.File(filepath.Join(dir, "missing.mp3"))(ctx)
	fmt.Println(err != nil)
	// Output:
	// 16000 Hz stereo 4000 frames
	// 250 cycles in 250ms: 1000 Hz
	// true
}

// DTMF dials digits: each plays its two tones for 100 ms, then 100 ms of
// silence, by default.
func ExampleDTMF() {
	open, err := sources.DTMF(sources.DTMFOptions{Digits: "123", Rate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, _ := open(context.Background())
	fmt.Println(pipeline.FramesOf(src), "frames:", time.Duration(pipeline.FramesOf(src))*time.Second/8000)
	// Output:
	// 4800 frames: 600ms
}

// DTMFFrequencies gives the two tones of a key: what a detector listens
// for. A letter that is not a key reports false.
func ExampleDTMFFrequencies() {
	for _, key := range "15#x" {
		low, high, ok := sources.DTMFFrequencies(key)
		if !ok {
			fmt.Printf("%c: not a DTMF key\n", key)
			continue
		}
		fmt.Printf("%c: %g Hz + %g Hz\n", key, low, high)
	}
	// Output:
	// 1: 697 Hz + 1209 Hz
	// 5: 770 Hz + 1336 Hz
	// #: 941 Hz + 1477 Hz
	// x: not a DTMF key
}
