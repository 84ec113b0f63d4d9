package transforms

import (
	"io"
	"math"
	"math/rand"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// benchSignal returns secs seconds of noise and tones at rate with ch
// channels, like the file bench/compare.sh feeds sox and ffmpeg.
func benchSignal(rate, ch, secs int) []float32 {
	rng := rand.New(rand.NewSource(7))
	x := make([]float32, rate*ch*secs)
	for i := range x {
		f := 997.0 * float64(1+i%ch)
		x[i] = float32(0.2*(rng.Float64()-0.5) + 0.3*math.Sin(2*math.Pi*f*float64(i/ch)/float64(rate)))
	}
	return x
}

// downmixer averages the channels of its source into one: a stand-in for the
// mono transform, so that the benchmark measures the job sox does with
// `-c 1`: downmix, then resample one channel.
type downmixer struct {
	src pipeline.Source
	buf []float32
}

func (d *downmixer) Format() pipeline.Format {
	return pipeline.Format{Rate: d.src.Format().Rate, Channels: 1}
}

func (d *downmixer) Read(p []float32) (int, error) {
	ch := d.src.Format().Channels
	if len(d.buf) < len(p)*ch {
		d.buf = make([]float32, len(p)*ch)
	}
	n, err := d.src.Read(d.buf[:len(p)*ch])
	k := float32(1) / float32(ch)
	for i := 0; i < n; i++ {
		var s float32
		for _, v := range d.buf[i*ch : i*ch+ch] {
			s += v
		}
		p[i] = s * k
	}
	return n, err
}

// benchResample resamples x (format f) to rate, optionally downmixed to mono, and
// reports input frames per second and the speed as a multiple of real time.
func benchResample(b *testing.B, x []float32, f pipeline.Format, rate int, q Quality, mono bool) {
	buf := make([]float32, 4096)
	frames := len(x) / f.Channels
	b.ReportAllocs()
	for b.Loop() {
		var src pipeline.Source = pipeline.FromSlice(f, x)
		if mono {
			src = &downmixer{src: src}
		}
		r, err := ResampleSource(src, rate, q)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	perSec := float64(frames) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "frames/s")
	b.ReportMetric(perSec/float64(f.Rate), "x_realtime")
}

func BenchmarkResample44kStereoTo8kMono(b *testing.B) {
	benchResample(b, benchSignal(44100, 2, 10), pipeline.Format{Rate: 44100, Channels: 2}, 8000, High, true)
}

func BenchmarkResample44kStereoTo16kMono(b *testing.B) {
	benchResample(b, benchSignal(44100, 2, 10), pipeline.Format{Rate: 44100, Channels: 2}, 16000, High, true)
}

func BenchmarkResample44kStereoTo24kMono(b *testing.B) {
	benchResample(b, benchSignal(44100, 2, 10), pipeline.Format{Rate: 44100, Channels: 2}, 24000, High, true)
}

// BenchmarkResample44kStereoTo8kStereo resamples both channels.
func BenchmarkResample44kStereoTo8kStereo(b *testing.B) {
	benchResample(b, benchSignal(44100, 2, 10), pipeline.Format{Rate: 44100, Channels: 2}, 8000, High, false)
}

func BenchmarkResample48kTo8k(b *testing.B) {
	benchResample(b, benchSignal(48000, 1, 10), pipeline.Format{Rate: 48000, Channels: 1}, 8000, High, false)
}

func BenchmarkResample8kTo44k(b *testing.B) {
	benchResample(b, benchSignal(8000, 1, 10), pipeline.Format{Rate: 8000, Channels: 1}, 44100, High, false)
}

func BenchmarkResample44kTo48k(b *testing.B) {
	benchResample(b, benchSignal(44100, 1, 10), pipeline.Format{Rate: 44100, Channels: 1}, 48000, High, false)
}

// BenchmarkResampleQuality measures every quality on 44.1 kHz mono → 8 kHz.
func BenchmarkResampleQuality(b *testing.B) {
	x := benchSignal(44100, 1, 10)
	for _, q := range allQualities {
		b.Run(q.String(), func(b *testing.B) {
			benchResample(b, x, pipeline.Format{Rate: 44100, Channels: 1}, 8000, q, false)
		})
	}
}
