package sources

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	iwav "github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// goAudioWAV decodes a WAV file with github.com/go-audio/wav, scaled as
// elkspipe scales integer PCM (unsigned 8-bit about 128, the others signed
// over 2^(bits-1)). It returns nil if go-audio/wav fails.
func goAudioWAV(t *testing.T, data []byte) []float32 {
	t.Helper()
	d := wav.NewDecoder(bytes.NewReader(data))
	buf, err := d.FullPCMBuffer()
	if err != nil || buf == nil {
		return nil
	}
	bits := int(d.BitDepth)
	out := make([]float32, len(buf.Data))
	for i, v := range buf.Data {
		if bits == 8 {
			out[i] = float32(v-128) / 128
		} else {
			out[i] = float32(float64(v) / math.Ldexp(1, bits-1))
		}
	}
	return out
}

// go-audio/wav is the reference for what it reads right: plain integer PCM
// (8, 16, 24 and 32 bits, any channel count, chunks before the data),
// where elkspipe's decoder gives the same samples. Where it reads wrong,
// elkspipe's decoder does the work (see README, Dependencies), and this
// test shows that it still does: if go-audio/wav fixes one of them, the
// test says so, and the project can use it for that case too.
func TestWAVAgainstGoAudioWAV(t *testing.T) {
	for _, c := range []struct {
		file  string
		right bool // go-audio/wav decodes it right
	}{
		{"u8.wav", true},
		{"s16.wav", true},
		{"s16-stereo-44k.wav", true},
		{"s16-6ch.wav", true},
		{"s24.wav", true},
		{"s32.wav", true},
		{"f32.wav", false},        // IEEE float read as integers
		{"f64.wav", false},        // likewise
		{"alaw.wav", false},       // A-law bytes read as 8-bit PCM
		{"ulaw.wav", false},       // µ-law likewise
		{"pipe.wav", false},       // data size 0xFFFFFFFF (ffmpeg to a pipe)
		{"rf64.wav", false},       // RF64 is not RIFF
		{"s24in32-ext.wav", true}, // valid bits left-justified, as they should be
		{"s20in24-ext.wav", true},
		{"odd-chunks.wav", false}, // the pad byte of an odd-sized data chunk read as a sample
		{"zero-size.wav", false},  // data size 0 read as empty
		{"sox-pipe.wav", true},    // sox's huge sizes for a pipe
		{"f32-sox.wav", false},
		{"alaw-ext.wav", false},
		{"ulaw-ext.wav", false},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "wav", c.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Skip(err)
			}
			src, err := WAV(path)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ours := audiotest.MustReadAll(t, src)
			pipeline.Close(src)
			theirs := goAudioWAV(t, data)
			same := len(theirs) == len(ours) && len(ours) > 0 && audiotest.MaxDiff(ours, theirs) < 1e-7
			if same != c.right {
				t.Errorf("go-audio/wav gives %d samples (max diff %g) against elkspipe's %d: right %v, expected %v",
					len(theirs), audiotest.MaxDiff(ours, theirs), len(ours), same, c.right)
			}
		})
	}
}

// go-audio/wav shifts samples when its reader returns short reads (a pipe,
// a network stream); elkspipe's decoder reads the same samples whatever
// the reads return.
func TestWAVShortReadsAgainstGoAudioWAV(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "wav", "s24.wav"))
	if err != nil {
		t.Skip(err)
	}
	whole := goAudioWAV(t, data)
	d := wav.NewDecoder(shortSeeker{bytes.NewReader(data)})
	if err := d.FwdToPCM(); err != nil {
		t.Fatal(err)
	}
	buf := &audio.IntBuffer{Data: make([]int, 1000)}
	var got []int
	for {
		n, err := d.PCMBuffer(buf)
		got = append(got, buf.Data[:n]...)
		if n == 0 || err != nil {
			break
		}
	}
	shifted := len(got) != len(whole)
	for i := 0; !shifted && i < len(got); i++ {
		shifted = float32(float64(got[i])/math.Ldexp(1, 23)) != whole[i]
	}
	if !shifted {
		t.Error("go-audio/wav read short reads right: elkspipe could use it for them")
	}
	src, err := DecodeWAV(io.MultiReader(shortSeeker{bytes.NewReader(data)}))
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if ours := audiotest.MustReadAll(t, src); audiotest.MaxDiff(ours, whole) != 0 || len(ours) != len(whole) {
		t.Error("elkspipe's decoder differs on short reads")
	}
}

// shortSeeker returns at most 7 bytes per Read.
type shortSeeker struct{ *bytes.Reader }

func (s shortSeeker) Read(p []byte) (int, error) { return s.Reader.Read(p[:min(len(p), 7)]) }

// BenchmarkDecodeWAV16GoAudio decodes the data of BenchmarkDecodeWAV16
// with go-audio/wav, read in blocks of the same size, for comparison.
func BenchmarkDecodeWAV16GoAudio(b *testing.B) {
	data := benchWAV(iwav.TagPCM, 16, 2, 10)
	buf := &audio.IntBuffer{Data: make([]int, 4096*2)}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := wav.NewDecoder(bytes.NewReader(data))
		if err := d.FwdToPCM(); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := d.PCMBuffer(buf)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}
