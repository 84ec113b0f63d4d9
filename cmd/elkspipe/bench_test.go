package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// benchPipeline runs text once per iteration and reports how many times
// faster than real time it processes seconds of audio.
func benchPipeline(b *testing.B, text string, seconds float64) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := pipeline.BuildText(ctx, text)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
}

// A whole 44.1 kHz stereo WAV file taken to 8 kHz mono, as a phone call
// needs it: decode, downmix, resample.
func BenchmarkWAVFileTo8kMono(b *testing.B) {
	in := filepath.Join(b.TempDir(), "in.wav")
	p, err := pipeline.BuildText(context.Background(), "noise 10s rate=44.1k channels=2 | wav "+in)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, "file "+in+" | mono | resample 8k | null", 10)
}

// stereoMP3Fixture is a LAME-encoded MP3, 44.1 kHz stereo, 22100 frames.
const stereoMP3Fixture = "../../sources/testdata/mp3/sine44s.mp3"

// The MP3 taken to 8 kHz mono, looped twenty times so that setup is not
// what is measured, with the decoded-MP3 cache off: every iteration
// decodes.
func BenchmarkMP3FileTo8kMono(b *testing.B) {
	sources.SetMP3CacheSize(0)
	b.Cleanup(func() { sources.SetMP3CacheSize(sources.DefaultMP3CacheSize) })
	benchPipeline(b, "file "+stereoMP3Fixture+" | loop 20 | mono | resample 8k | null", 20*22100/44100.0)
}

// The same with the cache on, as hold music plays: the first iteration
// of the process decodes, the others replay the decoded audio.
func BenchmarkMP3LoopTo8kMonoCached(b *testing.B) {
	benchPipeline(b, "file "+stereoMP3Fixture+" | loop 20 | mono | resample 8k | null", 20*22100/44100.0)
}
