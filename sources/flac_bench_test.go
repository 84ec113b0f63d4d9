package sources

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// BenchmarkDecodeFLAC decodes a 3-minute 44.1 kHz stereo 16-bit FLAC file
// (a chirp over pink noise, ffmpeg's default compression) from memory. The
// bytes are those of the float32 output, as `ffmpeg -i x.flac -f f32le -`
// writes them; x_realtime is seconds of audio per second.
func BenchmarkDecodeFLAC(b *testing.B) {
	dir := b.TempDir()
	audiotest.NeedTool(b, "sox")
	audiotest.NeedTool(b, "ffmpeg")
	audiotest.Run(b, "sox", "-n", "-r", "44100", "-c", "2", "-b", "16", dir+"/x.wav",
		"synth", "180", "sine", "100-8000", "pinknoise", "vol", "0.5")
	audiotest.Run(b, "ffmpeg", "-v", "error", "-i", dir+"/x.wav", dir+"/x.flac")
	data, err := os.ReadFile(dir + "/x.flac")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(180 * 44100 * 2 * 4)
	benchDecoding(b, data, DecodeFLAC)
}

// benchDecoding decodes data with decode b.N times and reports how many
// times faster than real time that is (x_realtime), for 44.1 kHz audio.
func benchDecoding(b *testing.B, data []byte, decode func(io.Reader) (pipeline.Source, error)) {
	buf := make([]float32, 2*4096)
	frames := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		src, err := decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			n, err := src.Read(buf)
			frames += n
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(frames)/44100/b.Elapsed().Seconds(), "x_realtime")
}
