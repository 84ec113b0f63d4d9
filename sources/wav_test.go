package sources

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
)

const (
	wavCorpusDir  = "../../shared/corpus"
	wavFixtureDir = "testdata/wav"
)

// wavHeader builds a RIFF/WAVE header: a fmt chunk from the given fields
// (WAVE_FORMAT_EXTENSIBLE with subformat tag when ext), then the extra
// chunks, then a data chunk header declaring dataSize.
func wavHeader(tag uint16, channels, rate, bits, blockAlign int, ext bool, valid int, dataSize uint32, extra ...[]byte) []byte {
	le := binary.LittleEndian
	var fmtBody []byte
	ftag := tag
	if ext {
		ftag = wav.TagExtensible
	}
	fmtBody = le.AppendUint16(fmtBody, ftag)
	fmtBody = le.AppendUint16(fmtBody, uint16(channels))
	fmtBody = le.AppendUint32(fmtBody, uint32(rate))
	fmtBody = le.AppendUint32(fmtBody, uint32(rate*blockAlign))
	fmtBody = le.AppendUint16(fmtBody, uint16(blockAlign))
	fmtBody = le.AppendUint16(fmtBody, uint16(bits))
	if ext {
		fmtBody = le.AppendUint16(fmtBody, 22)
		fmtBody = le.AppendUint16(fmtBody, uint16(valid))
		fmtBody = le.AppendUint32(fmtBody, 0)
		fmtBody = le.AppendUint16(fmtBody, tag)
		fmtBody = append(fmtBody, wav.GUIDTail[:]...)
	}
	b := []byte("RIFF\xff\xff\xff\xffWAVE")
	b = append(b, wavChunk("fmt ", fmtBody)...)
	for _, e := range extra {
		b = append(b, e...)
	}
	b = append(b, "data"...)
	return le.AppendUint32(b, dataSize)
}

// wavChunk renders a chunk with its pad byte.
func wavChunk(id string, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32([]byte(id), uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// decodeBytes decodes a whole WAV held in b, read through wrap (nil: a
// bytes.Reader, which is an io.Seeker).
func decodeBytes(b []byte, wrap func(io.Reader) io.Reader) (pipeline.Source, []float32, error) {
	var r io.Reader = bytes.NewReader(b)
	if wrap != nil {
		r = wrap(r)
	}
	src, err := DecodeWAV(r)
	if err != nil {
		return nil, nil, err
	}
	out, err := audiotest.ReadAll(src, 1000)
	return src, out, err
}

// noSeek hides the io.Seeker of a reader, as a pipe would.
func noSeek(r io.Reader) io.Reader { return io.MultiReader(r) }

func openWAV(path string) func() (pipeline.Source, error) {
	return func() (pipeline.Source, error) { return WAV(path)(context.Background()) }
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameSamples(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: sample %d = %v, want %v (max diff %g)", what, i, got[i], want[i], audiotest.MaxDiff(got, want))
		}
	}
}

// houndReference is the audio of hound's two 24-bit-in-4-byte files (plain
// PCM tag and EXTENSIBLE), from hound's own test suite: the valid bits sit
// in the low three bytes. ffmpeg 5.1 mis-probes both as pcm_f24le.
var houndReference = []float32{-96.0 / 8388608, 23052.0 / 8388608, 8388607.0 / 8388608, -8360672.0 / 8388608}

// Every WAV of the public corpus decodes to the samples ffmpeg decodes, with
// the exact length, and passes the Source contract; the malformed files of
// the fuzz folder fail with an error.
func TestWAVCorpus(t *testing.T) {
	if _, err := os.Stat(wavCorpusDir); err != nil {
		t.Skip("no corpus at " + wavCorpusDir)
	}
	var paths []string
	filepath.WalkDir(wavCorpusDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".wav") {
			paths = append(paths, path)
		}
		return nil
	})
	if len(paths) < 30 {
		t.Fatalf("found only %d WAV files in the corpus", len(paths))
	}
	for _, path := range paths {
		rel, _ := filepath.Rel(wavCorpusDir, path)
		t.Run(rel, func(t *testing.T) {
			if strings.Contains(rel, "fuzz") {
				src, out, err := decodeBytes(mustRead(t, path), nil)
				if err == nil {
					t.Fatalf("malformed file decoded: %v, %d samples", src.Format(), len(out))
				}
				t.Logf("fails cleanly: %v", err)
				return
			}
			src, err := WAV(path)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			if st, _ := os.Stat(path); st.Size() < 1<<20 {
				got = audiotest.CheckContract(t, openWAV(path))
			} else { // large: one pass is enough
				got, err = audiotest.ReadAll(src, 4096)
				if err != nil {
					t.Fatal(err)
				}
			}
			f := src.Format()
			if n := pipeline.FramesOf(src); n != int64(len(got)/f.Channels) {
				t.Errorf("Frames() = %d, decoded %d", n, len(got)/f.Channels)
			}
			pipeline.Close(src)
			var want []float32
			if strings.Contains(rel, "24bit-4byte") {
				want = houndReference
			} else {
				want = audiotest.FFmpegDecode(t, path, 0)
			}
			sameSamples(t, rel, got, want)
			t.Logf("%v, %d frames", f, len(got)/f.Channels)
		})
	}
}

// wavFixtures are the files of testdata/wav (see make.sh) that decode.
var wavFixtures = []struct {
	name           string
	rate, channels int
	frames         int64  // the decoded length
	ref            string // decode this fixture with ffmpeg as the reference ("" = itself)
	freq           float64
	minSNR         float64
}{
	{name: "u8.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 40},
	{name: "s16.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 80},
	{name: "s16-stereo-44k.wav", rate: 44100, channels: 2, frames: 2205, freq: 440, minSNR: 80},
	{name: "s16-6ch.wav", rate: 8000, channels: 6, frames: 400, freq: 440, minSNR: 80},
	{name: "s24.wav", rate: 48000, channels: 1, frames: 2400, freq: 440, minSNR: 120},
	{name: "s24in32-ext.wav", rate: 48000, channels: 1, frames: 2400, ref: "s24.wav", freq: 440, minSNR: 120},
	{name: "s20in24-ext.wav", rate: 48000, channels: 1, frames: 2400, freq: 440, minSNR: 110},
	{name: "s32.wav", rate: 16000, channels: 1, frames: 1600, freq: 440, minSNR: 130},
	{name: "f32.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 130},
	{name: "f32-sox.wav", rate: 48000, channels: 1, frames: 4800, freq: 440, minSNR: 130},
	{name: "f64.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 130},
	{name: "alaw.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 30},
	{name: "ulaw.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 30},
	{name: "alaw-ext.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 30},
	{name: "ulaw-ext.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 30},
	{name: "odd-chunks.wav", rate: 8000, channels: 1, frames: 799, freq: 440, minSNR: 40},
	{name: "pipe.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 80},
	{name: "sox-pipe.wav", rate: 48000, channels: 1, frames: 4800, freq: 440, minSNR: 80},
	{name: "zero-size.wav", rate: 8000, channels: 1, frames: 800, freq: 440, minSNR: 80},
	{name: "rf64.wav", rate: 22050, channels: 2, frames: 1103, freq: 440, minSNR: 80},
}

// Every fixture decodes to ffmpeg's samples, bit for bit, with its exact
// length and format, and holds the tone it was made with.
func TestWAVFixtures(t *testing.T) {
	for _, fx := range wavFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(wavFixtureDir, fx.name)
			got := audiotest.CheckContract(t, openWAV(path))
			src, err := WAV(path)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer pipeline.Close(src)
			if f := src.Format(); f.Rate != fx.rate || f.Channels != fx.channels {
				t.Fatalf("format %v, want %d Hz %d ch", f, fx.rate, fx.channels)
			}
			if n := int64(len(got) / fx.channels); n != fx.frames {
				t.Errorf("decoded %d frames, want %d", n, fx.frames)
			}
			if n := pipeline.FramesOf(src); n != fx.frames {
				t.Errorf("Frames() = %d, want %d", n, fx.frames)
			}
			ref := path
			if fx.ref != "" {
				ref = filepath.Join(wavFixtureDir, fx.ref)
			}
			sameSamples(t, "against ffmpeg", got, audiotest.FFmpegDecode(t, ref, 0))
			for c := 0; c < fx.channels; c++ {
				f := fx.freq
				if !strings.Contains(fx.name, "sox") {
					f += 220 * float64(c) // make.sh gives channel c 440+220c Hz
				}
				x := audiotest.Channel(got, fx.channels, c)
				amp, _, snr := audiotest.SineFit(x, f, fx.rate)
				if math.Abs(amp-0.5) > 0.01 || snr < fx.minSNR {
					t.Errorf("channel %d: %g Hz at amplitude %.4f, SNR %.1f dB; want 0.5 and ≥ %g dB", c, f, amp, snr, fx.minSNR)
				}
			}
		})
	}
}

// Without a known input size, Frames reports what the header declares, and
// -1 for streams that run until the end; the audio is the same.
func TestWAVFramesOfStreams(t *testing.T) {
	for _, c := range []struct {
		name   string
		frames int64
	}{
		{"s16.wav", 800},
		{"pipe.wav", -1},
		{"zero-size.wav", -1},
		{"sox-pipe.wav", 0x7ffff000 / 2},
		{"rf64.wav", 1103},
		{"odd-chunks.wav", 799},
	} {
		b := mustRead(t, filepath.Join(wavFixtureDir, c.name))
		src, streamed, err := decodeBytes(b, noSeek)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := pipeline.FramesOf(src); n != c.frames {
			t.Errorf("%s: Frames() = %d from a pipe, want %d", c.name, n, c.frames)
		}
		_, whole, err := decodeBytes(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameSamples(t, c.name+" from a pipe", streamed, whole)
	}
}

// Readers that return a byte at a time, half of what is asked, or data
// with io.EOF give the same samples.
func TestWAVShortReads(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"OneByteReader": iotest.OneByteReader,
		"HalfReader":    iotest.HalfReader,
		"DataErrReader": iotest.DataErrReader,
		"pipe":          noSeek,
	}
	for _, fx := range wavFixtures {
		b := mustRead(t, filepath.Join(wavFixtureDir, fx.name))
		_, want, err := decodeBytes(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, wrap := range readers {
			_, got, err := decodeBytes(b, wrap)
			if err != nil {
				t.Fatalf("%s through %s: %v", fx.name, name, err)
			}
			sameSamples(t, fx.name+" through "+name, got, want)
		}
	}
}

// A file cut anywhere fails cleanly inside the header and, past it, plays
// every whole frame before the cut and ends with io.EOF.
func TestWAVTruncated(t *testing.T) {
	for _, name := range []string{"s16-6ch.wav", "odd-chunks.wav", "s24in32-ext.wav", "rf64.wav"} {
		b := mustRead(t, filepath.Join(wavFixtureDir, name))
		_, full, err := decodeBytes(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		src, _ := DecodeWAV(bytes.NewReader(b))
		block := src.(*wavSource).block
		ch := src.Format().Channels
		start := bytes.Index(b, []byte("data")) + 8
		for cut := 0; cut < len(b); cut++ {
			if cut > start+64 && (cut-start)%37 != 0 && cut < len(b)-64 {
				continue // every byte of the header and of the data's ends
			}
			for _, wrap := range []func(io.Reader) io.Reader{nil, noSeek} {
				src, got, err := decodeBytes(b[:cut], wrap)
				if cut < start {
					if err == nil {
						t.Fatalf("%s cut at %d (inside the header) decoded", name, cut)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s cut at %d: %v", name, cut, err)
				}
				frames := min((cut-start)/block, len(full)/ch)
				sameSamples(t, name+" cut", got, full[:frames*ch])
				if wrap == nil && pipeline.FramesOf(src) != int64(frames) {
					t.Fatalf("%s cut at %d: Frames() = %d, want %d", name, cut, pipeline.FramesOf(src), frames)
				}
			}
		}
	}
}

// Hand-made headers that are malformed or unsupported fail with an error
// that says why.
func TestWAVMalformed(t *testing.T) {
	s16 := func(extra ...[]byte) []byte { return wavHeader(wav.TagPCM, 1, 8000, 16, 2, false, 0, 4, extra...) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty input"},
		{"short", []byte("RIFF"), "too short"},
		{"text", []byte("hello, this is not a sound file at all"), "not a WAV file"},
		{"mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb"), "not a WAV file"},
		{"RIFX", []byte("RIFX\x00\x00\x00\x24WAVEfmt "), "big-endian"},
		{"AVI", []byte("RIFF\x00\x00\x00\x00AVI LIST"), `RIFF form "AVI "`},
		{"no chunks", []byte("RIFF\x04\x00\x00\x00WAVE"), "no fmt chunk"},
		{"no data", s16()[:36], "no data chunk"},
		{"data first", append([]byte("RIFF\x00\x00\x00\x00WAVE"), wavChunk("data", []byte{1, 2})...), "data chunk before the fmt chunk"},
		{"short fmt", append([]byte("RIFF\x00\x00\x00\x00WAVE"), wavChunk("fmt ", make([]byte, 14))...), "fmt chunk too short"},
		{"cut fmt", append([]byte("RIFF\x00\x00\x00\x00WAVE"), wavChunk("fmt ", make([]byte, 16))[:20]...), "truncated"},
		{"huge chunk", append([]byte("RIFF\x00\x00\x00\x00WAVEJUNK\xf0\xff\xff\xff"), make([]byte, 100)...), "truncated"},
		{"no channels", wavHeader(wav.TagPCM, 0, 8000, 16, 2, false, 0, 4), "channel count 0"},
		{"many channels", wavHeader(wav.TagPCM, 65, 8000, 16, 130, false, 0, 4), "channel count 65"},
		{"rate 0", wavHeader(wav.TagPCM, 1, 0, 16, 2, false, 0, 4), "sample rate 0"},
		{"0 bits", wavHeader(wav.TagPCM, 1, 8000, 0, 2, false, 0, 4), "0 bits"},
		{"bad block align", wavHeader(wav.TagPCM, 2, 8000, 16, 3, false, 0, 4), "block align 3"},
		{"64-bit int", wavHeader(wav.TagPCM, 1, 8000, 64, 8, false, 0, 8), "64-bit integer"},
		{"valid > container", wavHeader(wav.TagPCM, 1, 8000, 16, 2, true, 24, 4), "24 valid bits in a 16-bit container"},
		{"16-bit float", wavHeader(wav.TagFloat, 1, 8000, 16, 2, false, 0, 4), "16-bit float"},
		{"16-bit alaw", wavHeader(wav.TagALaw, 1, 8000, 16, 2, false, 0, 4), "16-bit G.711"},
		{"ADPCM", wavHeader(2, 1, 8000, 4, 256, false, 0, 4), "unsupported encoding ADPCM (format tag 2); convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav"},
		{"extensible MP3", wavHeader(0x55, 1, 8000, 0, 1, true, 0, 4), "unsupported encoding MP3 (format tag 85)"},
		{"unknown tag", wavHeader(0x1234, 1, 8000, 16, 2, false, 0, 4), "format tag 4660, 0x1234"},
		{"extensible short", append([]byte("RIFF\x00\x00\x00\x00WAVE"), wavChunk("fmt ", append([]byte{0xfe, 0xff, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0}, 0, 0))...), "EXTENSIBLE fmt chunk too short"},
		{"ds64 short", []byte("RF64\xff\xff\xff\xffWAVEds64\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "ds64 chunk too short"},
	}
	guid := wavHeader(wav.TagPCM, 1, 8000, 16, 2, true, 16, 4)
	copy(guid[12+8+24+2:], "\x00\x00\x21\x07\xd3\x11\x86\x44\xc8\xc1\xca\x00\x00\x00") // ambisonic, not a plain subformat
	cases = append(cases, struct {
		name string
		data []byte
		want string
	}{"unknown GUID", guid, "unsupported WAVE_FORMAT_EXTENSIBLE subformat {00000001-0721-11D3-8644-C8C1CA000000}"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{nil, noSeek, iotest.OneByteReader} {
				_, _, err := decodeBytes(c.data, wrap)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wav: ") {
					t.Fatalf("error %v, want one containing %q", err, c.want)
				}
			}
		})
	}
	for _, name := range []string{"adpcm.wav", "adpcm-ima.wav"} {
		_, _, err := decodeBytes(mustRead(t, filepath.Join(wavFixtureDir, name)), nil)
		if err == nil || !strings.Contains(err.Error(), "ADPCM (format tag ") || !strings.Contains(err.Error(), "ffmpeg -i") {
			t.Errorf("%s: error %v, want unsupported ADPCM with a conversion hint", name, err)
		}
	}
}

// A header that declares 4 GB of data or a 4 GB chunk costs no more memory
// than a small file.
func TestWAVMemoryBounded(t *testing.T) {
	b := append(wavHeader(wav.TagPCM, 2, 8000, 16, 4, false, 0, 0xFFFFFFF0), make([]byte, 1000)...)
	src, err := DecodeWAV(noSeek(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c := cap(src.(*wavSource).buf); c > wavBufSize {
		t.Errorf("buffer of %d bytes", c)
	}
	out, err := audiotest.ReadAll(src, 4096)
	if err != nil || len(out) != 500 {
		t.Errorf("read %d samples, %v; want the 500 the input holds", len(out), err)
	}
}

// Integers with fewer valid bits than their container: the specification's
// layout (high bits) by default, the low-bit layout that some writers use
// when the audio shows it.
func TestWAVJustification(t *testing.T) {
	le := binary.LittleEndian
	var left, right, quietLeft, silentRight []byte
	for i := range 1000 {
		v := int32(4e6 * math.Sin(float64(i)/10)) // a 24-bit sample
		left = le.AppendUint32(left, uint32(v<<8))
		right = le.AppendUint32(right, uint32(v)&0x00FFFFFF) // hound: zero high byte
		quietLeft = le.AppendUint32(quietLeft, uint32((v>>12)<<8))
		if i < 500 {
			silentRight = le.AppendUint32(silentRight, 0)
		} else {
			silentRight = le.AppendUint32(silentRight, uint32(v)) // sign-extended high byte
		}
	}
	for _, c := range []struct {
		name  string
		data  []byte
		right bool
	}{
		{"left", left, false}, {"right", right, true},
		{"quiet left", quietLeft, false}, {"right after silence", silentRight, true},
	} {
		if got := wav.DetectRightJustified(c.data, 4, 24); got != c.right {
			t.Errorf("%s: right-justified = %v, want %v", c.name, got, c.right)
		}
		for _, ext := range []bool{false, true} {
			b := append(wavHeader(wav.TagPCM, 1, 48000, 24, 4, false, 0, uint32(len(c.data))), c.data...)
			if ext {
				b = append(wavHeader(wav.TagPCM, 1, 48000, 32, 4, true, 24, uint32(len(c.data))), c.data...)
			}
			_, got, err := decodeBytes(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 500; i < 1000; i++ {
				want := float32(int32(4e6*math.Sin(float64(i)/10))) / 8388608
				if c.name == "quiet left" {
					want = float32(int32(4e6*math.Sin(float64(i)/10))>>12) / 8388608
				}
				if got[i] != want {
					t.Fatalf("%s (extensible %v): sample %d = %v, want %v", c.name, ext, i, got[i], want)
				}
			}
		}
	}
}

// Float files keep values beyond ±1; NaN becomes 0 and infinities ±1.
func TestWAVFloatSpecialValues(t *testing.T) {
	le := binary.LittleEndian
	in := []float64{0.25, -1.5, 2, math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300}
	want := []float32{0.25, -1.5, 2, 0, 1, -1, 1, -1}
	var d32, d64 []byte
	for _, x := range in {
		d32 = le.AppendUint32(d32, math.Float32bits(float32(x)))
		d64 = le.AppendUint64(d64, math.Float64bits(x))
	}
	want32 := append([]float32(nil), want...)
	want32[6], want32[7] = 1, -1 // 1e300 is infinite as a float32
	_, got, err := decodeBytes(append(wavHeader(wav.TagFloat, 1, 8000, 32, 4, false, 0, uint32(len(d32))), d32...), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "f32", got, want32)
	_, got, err = decodeBytes(append(wavHeader(wav.TagFloat, 2, 8000, 64, 16, true, 64, uint32(len(d64))), d64...), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "f64", got, want)
}

// Odd bit depths: 12 valid bits in 16-bit containers and 4 in 8.
func TestWAVOddBitDepths(t *testing.T) {
	b := append(wavHeader(wav.TagPCM, 1, 8000, 12, 2, false, 0, 6), 0x10, 0x80, 0xF0, 0x7F, 0x05, 0x00)
	_, got, err := decodeBytes(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	// High 12 bits: 0x801 and 0x7FF; the pad bits are ignored (0x005 → 0).
	sameSamples(t, "12-bit", got, []float32{-2047.0 / 2048, 2047.0 / 2048, 0})
	b = append(wavHeader(wav.TagPCM, 1, 8000, 4, 1, false, 0, 3), 0x00, 0xF3, 0x80)
	_, got, err = decodeBytes(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "4-bit", got, []float32{-1, 112.0 / 128, 0})
}

// The wav element opens files by path; missing files and directories fail
// with errors that do not repeat the path (the stage label names it).
func TestWAVElement(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("wav", pipeline.KindSource)
	if err != nil || e.Kind != pipeline.KindSource {
		t.Fatalf("wav source not registered: %v", err)
	}
	path := filepath.Join(wavFixtureDir, "s16.wav")
	args, err := pipeline.NewArgs(e, map[string]string{"path": path})
	if err != nil {
		t.Fatal(err)
	}
	open, err := e.NewSource(args)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := audiotest.MustReadAll(t, src)
	if err := pipeline.Close(src); err != nil {
		t.Fatal(err)
	}
	_, want, _ := decodeBytes(mustRead(t, path), nil)
	sameSamples(t, "element", got, want)

	_, err = WAV(filepath.Join(t.TempDir(), "missing.wav"))(context.Background())
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing file: %v", err)
	}
	if _, err = WAV(t.TempDir())(context.Background()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// DecodeWAV owns its reader: the Source closes it once, and a failed
// header closes it too. Reads after Close fail.
func TestWAVClose(t *testing.T) {
	b := mustRead(t, filepath.Join(wavFixtureDir, "s16.wav"))
	cc := &closeCounter{Reader: bytes.NewReader(b)}
	src, err := DecodeWAV(cc)
	if err != nil {
		t.Fatal(err)
	}
	if err := pipeline.Close(src); err != nil {
		t.Fatal(err)
	}
	pipeline.Close(src)
	if cc.closed != 1 {
		t.Errorf("closed %d times", cc.closed)
	}
	if n, err := src.Read(make([]float32, 10)); n != 0 || err == nil || err == io.EOF {
		t.Errorf("Read after Close = %d, %v", n, err)
	}
	cc = &closeCounter{Reader: strings.NewReader("not a wav file")}
	if _, err := DecodeWAV(cc); err == nil || cc.closed != 1 {
		t.Errorf("failed header: err %v, closed %d times", err, cc.closed)
	}
}

// A read error in the audio is returned, wrapped, and stays.
func TestWAVReadError(t *testing.T) {
	b := mustRead(t, filepath.Join(wavFixtureDir, "s16.wav"))
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(b[:100]), iotest.ErrReader(boom))
	src, err := DecodeWAV(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = audiotest.ReadAll(src, 4096)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "wav: ") {
		t.Fatalf("error %v, want the read error", err)
	}
	if _, err2 := src.Read(make([]float32, 10)); !errors.Is(err2, boom) {
		t.Errorf("second Read: %v", err2)
	}
}

// Read does not allocate.
func TestWAVReadAllocs(t *testing.T) {
	b := benchWAV(wav.TagPCM, 16, 2, 1)
	src, err := DecodeWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, 4096*2)
	if n := testing.AllocsPerRun(50, func() { src.Read(p) }); n != 0 {
		t.Errorf("%v allocations per Read", n)
	}
}

// FuzzDecodeWAV checks that no input makes the decoder panic, hang or
// return more frames than its input holds. `go test` runs the seeds: the
// fixtures and the corpus's fuzz crash files.
func FuzzDecodeWAV(f *testing.F) {
	for _, dir := range []string{wavFixtureDir, filepath.Join(wavCorpusDir, "ruuda-hound/fuzz")} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 16<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, wrap := range []func(io.Reader) io.Reader{nil, noSeek} {
			src, out, err := decodeBytes(b, wrap)
			if err != nil {
				continue
			}
			if len(out)%src.Format().Channels != 0 || len(out) > len(b) {
				t.Fatalf("%d samples from %d bytes", len(out), len(b))
			}
		}
	})
}

// benchWAV renders seconds of a stereo-or-more tone as a WAV in memory.
func benchWAV(tag uint16, bits, channels, seconds int) []byte {
	const rate = 44100
	container := bits / 8
	n := rate * seconds * channels
	b := wavHeader(tag, channels, rate, bits, container*channels, bits > 16 || channels > 2, bits, uint32(n*container))
	le := binary.LittleEndian
	for i := range n {
		x := 0.5 * math.Sin(float64(i/channels)*2*math.Pi*440/rate)
		switch {
		case tag == wav.TagFloat && bits == 32:
			b = le.AppendUint32(b, math.Float32bits(float32(x)))
		case tag == wav.TagULaw:
			b = append(b, byte(i))
		case bits == 16:
			b = le.AppendUint16(b, uint16(int16(x*32767)))
		case bits == 24:
			v := int32(x * 8388607)
			b = append(b, byte(v), byte(v>>8), byte(v>>16))
		}
	}
	return b
}

func benchDecode(b *testing.B, tag uint16, bits int) {
	data := benchWAV(tag, bits, 2, 10)
	p := make([]float32, 4096*2)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := DecodeWAV(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := src.Read(p)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeWAV16 decodes 10 s of 44.1 kHz stereo 16-bit PCM from
// memory; the other benchmarks do the same in other encodings.
func BenchmarkDecodeWAV16(b *testing.B)    { benchDecode(b, wav.TagPCM, 16) }
func BenchmarkDecodeWAV24(b *testing.B)    { benchDecode(b, wav.TagPCM, 24) }
func BenchmarkDecodeWAVFloat(b *testing.B) { benchDecode(b, wav.TagFloat, 32) }
func BenchmarkDecodeWAVMuLaw(b *testing.B) { benchDecode(b, wav.TagULaw, 8) }
