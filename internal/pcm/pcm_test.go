package pcm

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestRoundTrips(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 1, -1, 0.25, -0.75, 1 / 32768.0}
	for _, enc := range []pipeline.Encoding{pipeline.S16LE, pipeline.F32LE, pipeline.ULaw, pipeline.ALaw} {
		b := Append([]byte("x"), in, enc)
		if len(b) != 1+len(in)*enc.Size() || b[0] != 'x' {
			t.Fatalf("%v: appended %d bytes", enc, len(b)-1)
		}
		out := make([]float32, len(in))
		Decode(out, b[1:], enc)
		for i := range in {
			d, x := math.Abs(float64(out[i]-in[i])), math.Abs(float64(in[i]))
			tol := 1.0 / 32768 // one 16-bit step
			if enc == pipeline.ULaw || enc == pipeline.ALaw {
				tol = math.Max(16.0/32768, x/16) // G.711's 4-bit mantissa
			}
			if d > tol {
				t.Errorf("%v: %v came back as %v", enc, in[i], out[i])
			}
		}
	}
	if got := Names(); len(got) != 4 || got[0] != "s16le" || got[3] != "alaw" {
		t.Errorf("Names() = %q", got)
	}
}

var goldenInput = []float32{0, 0.5, -0.5, 1, -1, 1.5, -2, 1.0 / 32768, -1.0 / 32768, 0.25}

func TestAppendGolden(t *testing.T) {
	for enc, want := range map[pipeline.Encoding][]byte{
		pipeline.S16LE: {0x00, 0x00, 0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F, 0x00, 0x80,
			0xFF, 0x7F, 0x00, 0x80, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x20},
		pipeline.F32LE: {0, 0, 0, 0, 0, 0, 0, 0x3F, 0, 0, 0, 0xBF, 0, 0, 0x80, 0x3F, 0, 0, 0x80, 0xBF,
			0, 0, 0x80, 0x3F, 0, 0, 0x80, 0xBF, 0, 0, 0, 0x38, 0, 0, 0, 0xB8, 0, 0, 0x80, 0x3E},
		// G.711 codes as ffmpeg's pcm_mulaw/pcm_alaw write them for the same
		// 16-bit levels: µ-law 0 is 0xFF, full scale 0x80/0x00; A-law 0 is
		// 0xD5, full scale 0xAA/0x2A.
		pipeline.ULaw: {0xFF, 0x8F, 0x0F, 0x80, 0x00, 0x80, 0x00, 0xFF, 0x7E, 0x9F},
		pipeline.ALaw: {0xD5, 0xBA, 0x3A, 0xAA, 0x2A, 0xAA, 0x2A, 0xD5, 0x55, 0x8A},
	} {
		prefix := []byte("xy")
		got := Append(prefix, goldenInput, enc)
		if !bytes.Equal(got[:2], []byte("xy")) || !bytes.Equal(got[2:], want) {
			t.Errorf("%v:\n got % X\nwant xy % X", enc, got, want)
		}
	}
	if got := Append(nil, goldenInput, pipeline.Encoding(9)); len(got) != 0 {
		t.Errorf("unknown encoding appended %d bytes", len(got))
	}
}

func TestS16Convention(t *testing.T) {
	for x, want := range map[float32]int16{
		0: 0, 1: 32767, -1: -32768, 0.5 / 32768: 1, -0.5 / 32768: -1, 0.49 / 32768: 0,
		100.5 / 32768: 101, 3: 32767, -3: -32768, float32(math.NaN()): 0,
		float32(math.Inf(1)): 32767, float32(math.Inf(-1)): -32768,
	} {
		if got := S16(x); got != want {
			t.Errorf("S16(%v) = %d, want %d", x, got, want)
		}
	}
	for s := -32768; s < 32768; s++ {
		if got := S16(float32(s) / 32768); int(got) != s {
			t.Fatalf("S16(%d/32768) = %d", s, got)
		}
	}
}

// TestG711MatchesFFmpeg encodes every 16-bit level and compares the bytes
// with ffmpeg's pcm_mulaw and pcm_alaw encoders.
func TestG711MatchesFFmpeg(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	x := make([]float32, 65536)
	for i := range x {
		x[i] = float32(i-32768) / 32768
	}
	s16 := filepath.Join(t.TempDir(), "all.s16")
	if err := os.WriteFile(s16, Append(nil, x, pipeline.S16LE), 0o644); err != nil {
		t.Fatal(err)
	}
	for enc, format := range map[pipeline.Encoding]string{pipeline.ULaw: "mulaw", pipeline.ALaw: "alaw"} {
		want := audiotest.Run(t, "ffmpeg", "-v", "error", "-f", "s16le", "-ar", "8000", "-ac", "1",
			"-i", s16, "-f", format, "-")
		got := Append(nil, x, enc)
		if !bytes.Equal(got, want) {
			for i := range got {
				if i >= len(want) || got[i] != want[i] {
					t.Fatalf("%v: %d bytes vs ffmpeg's %d; first difference at level %d", enc, len(got), len(want), i-32768)
				}
			}
			t.Fatalf("%v: %d bytes vs ffmpeg's %d", enc, len(got), len(want))
		}
		// And decoding gives back the level within the code's step.
		for i, b := range got {
			lin := g711.ULawToLinear[b]
			if enc == pipeline.ALaw {
				lin = g711.ALawToLinear[b]
			}
			if d := math.Abs(float64(lin) - float64(i-32768)); d > 1100 {
				t.Fatalf("%v level %d decodes to %d", enc, i-32768, lin)
			}
		}
	}
}

// BenchmarkAppend measures encoding throughput, in input bytes
// (float32) per second.
func BenchmarkAppend(b *testing.B) {
	x := audiotest.Pattern(4096, 2)
	out := make([]byte, 0, len(x)*4)
	for _, enc := range []pipeline.Encoding{pipeline.S16LE, pipeline.F32LE, pipeline.ULaw, pipeline.ALaw} {
		b.Run(enc.String(), func(b *testing.B) {
			b.SetBytes(int64(len(x) * 4))
			b.ReportAllocs()
			for b.Loop() {
				out = Append(out[:0], x, enc)
			}
		})
	}
}
