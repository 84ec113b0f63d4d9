package sources

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
)

// rawFFmpegFormat names each encoding as ffmpeg's raw muxers and demuxers do.
var rawFFmpegFormat = map[pipeline.Encoding]string{pipeline.S16LE: "s16le", pipeline.F32LE: "f32le", pipeline.ULaw: "mulaw", pipeline.ALaw: "alaw"}

// rawMakeRaw has ffmpeg write 0.5 s of a stereo test signal at rate in enc,
// and returns the file and ffmpeg's own decoding of it as float32.
func rawMakeRaw(t *testing.T, enc pipeline.Encoding, rate int) (path string, want []float32) {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	path = filepath.Join(t.TempDir(), "x."+enc.String())
	audiotest.Run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		"aevalsrc=0.8*sin(2*PI*440*t)|0.5*sin(2*PI*1003*t)+0.3*sin(2*PI*97*t):s="+genItoa(rate)+":d=0.5",
		"-f", rawFFmpegFormat[enc], path)
	b := audiotest.Run(t, "ffmpeg", "-v", "error", "-f", rawFFmpegFormat[enc], "-ar", genItoa(rate), "-ac", "2",
		"-i", path, "-f", "f32le", "-")
	want = make([]float32, len(b)/4)
	for i := range want {
		want[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return path, want
}

// Every encoding decodes exactly as ffmpeg decodes it.
func TestRawMatchesFFmpeg(t *testing.T) {
	for _, enc := range []pipeline.Encoding{pipeline.S16LE, pipeline.F32LE, pipeline.ULaw, pipeline.ALaw} {
		path, want := rawMakeRaw(t, enc, 8000)
		if len(want) != 8000 {
			t.Fatalf("%s: ffmpeg decoded %d samples", enc, len(want))
		}
		o := mustGen(t, "raw", map[string]string{"path": path, "enc": enc.String(), "rate": "8k", "channels": "2"})
		got := audiotest.CheckContract(t, genContract(o))
		if len(got) != len(want) {
			t.Fatalf("%s: %d samples, ffmpeg %d", enc, len(got), len(want))
		}
		if d := audiotest.MaxDiff(got, want); d != 0 {
			t.Errorf("%s: differs from ffmpeg by up to %g", enc, d)
		}
		src := genOpen(t, o)
		if n := pipeline.FramesOf(src); n != 4000 {
			t.Errorf("%s: Frames() = %d, want 4000", enc, n)
		}
		if f := src.Format(); f != (pipeline.Format{Rate: 8000, Channels: 2}) {
			t.Errorf("%s: format %v", enc, f)
		}
		pipeline.Close(src)
		// A measured check besides: the left channel is the 440 Hz sine at 0.8.
		if lvl := audiotest.Level(audiotest.Channel(got, 2, 0), 440, 8000); math.Abs(lvl-audiotest.DB(0.8)) > 0.1 {
			t.Errorf("%s: 440 Hz at %.2f dBFS, want %.2f", enc, lvl, audiotest.DB(0.8))
		}
	}
}

// rawOneBytePipe feeds b through a pipe one byte per Write, so that every
// Read on the other end is short.
func rawOneBytePipe(t *testing.T, b []byte) io.Reader {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range b {
			if _, err := pw.Write(b[i : i+1]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	t.Cleanup(func() {
		pr.Close()
		<-done
	})
	return pr
}

func TestRawShortReads(t *testing.T) {
	for _, enc := range []pipeline.Encoding{pipeline.S16LE, pipeline.F32LE, pipeline.ULaw, pipeline.ALaw} {
		path, want := rawMakeRaw(t, enc, 8000)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{3, 4096} {
			src, err := DecodeRaw(rawOneBytePipe(t, b), RawOptions{Rate: 8000, Channels: 2, Encoding: enc})
			if err != nil {
				t.Fatal(err)
			}
			if n := pipeline.FramesOf(src); n != -1 {
				t.Errorf("%s from a pipe: Frames() = %d, want -1", enc, n)
			}
			got, err := audiotest.ReadAll(src, chunk)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || audiotest.MaxDiff(got, want) != 0 {
				t.Errorf("%s, 1-byte writes, %d-frame reads: %d samples, max diff %g", enc, chunk, len(got), audiotest.MaxDiff(got, want))
			}
			pipeline.Close(src)
		}
	}
}

func TestRawPartialFrameDropped(t *testing.T) {
	// Two stereo s16 frames and three bytes of a third.
	b := []byte{0, 0x40, 0, 0xC0, 0xFF, 0x7F, 0x00, 0x80, 1, 2, 3}
	for _, r := range []io.Reader{bytes.NewReader(b), rawOneBytePipe(t, b)} {
		src, err := DecodeRaw(r, RawOptions{Channels: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := audiotest.MustReadAll(t, src)
		want := []float32{0.5, -0.5, 32767.0 / 32768, -1}
		if len(got) != 4 || audiotest.MaxDiff(got, want) != 0 {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	// A file shorter than one frame is empty.
	src, _ := DecodeRaw(bytes.NewReader([]byte{1}), RawOptions{Channels: 2})
	if got := audiotest.MustReadAll(t, src); len(got) != 0 {
		t.Errorf("one byte gave %v", got)
	}
}

func TestRawFloatClipping(t *testing.T) {
	var b []byte
	for _, v := range []float32{0.25, 1.5, -7, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	src, err := DecodeRaw(bytes.NewReader(b), RawOptions{Encoding: pipeline.F32LE})
	if err != nil {
		t.Fatal(err)
	}
	got := audiotest.MustReadAll(t, src)
	want := []float32{0.25, 1, -1, 0, 1, -1, -1}
	if len(got) != len(want) || audiotest.MaxDiff(got, want) != 0 {
		t.Errorf("got %v, want %v", got, want)
	}
}

// The G.711 tables decode every byte as ITU-T G.711 says.
func TestRawG711AllCodes(t *testing.T) {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	for _, c := range []struct {
		enc   pipeline.Encoding
		table *[256]int16
	}{{pipeline.ULaw, &g711.ULawToLinear}, {pipeline.ALaw, &g711.ALawToLinear}} {
		src, _ := DecodeRaw(bytes.NewReader(b), RawOptions{Encoding: c.enc})
		if src.Format().Rate != 8000 {
			t.Errorf("%s: default rate %d, want 8000", c.enc, src.Format().Rate)
		}
		got := audiotest.MustReadAll(t, src)
		for i, v := range got {
			if v != float32(c.table[i])/32768 {
				t.Fatalf("%s byte %#x: %v", c.enc, i, v)
			}
		}
	}
}

type rawFailingReader struct {
	data []byte
	err  error
}

func (r *rawFailingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestRawReadError(t *testing.T) {
	boom := errors.New("boom")
	src, _ := DecodeRaw(&rawFailingReader{data: []byte{0, 0x40, 0, 0x20, 7}, err: boom}, RawOptions{})
	buf := make([]float32, 16)
	n, err := src.Read(buf)
	if n != 2 || err != nil || buf[0] != 0.5 || buf[1] != 0.25 {
		t.Fatalf("first Read = %d, %v, %v", n, err, buf[:n])
	}
	for range 2 {
		if n, err := src.Read(buf); n != 0 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "raw: ") {
			t.Fatalf("Read after the failure = %d, %v", n, err)
		}
	}
	// A reader that never makes progress is an error, not a hang.
	src, _ = DecodeRaw(&rawFailingReader{err: nil}, RawOptions{})
	if _, err := src.Read(buf); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("empty reads: %v", err)
	}
}

func TestRawFileLengthAndDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcm")
	if err := os.WriteFile(path, make([]byte, 32001), 0o644); err != nil {
		t.Fatal(err)
	}
	src := genOpen(t, mustGen(t, "raw", map[string]string{"path": path}))
	defer pipeline.Close(src)
	if f := src.Format(); f != (pipeline.Format{Rate: 16000, Channels: 1}) {
		t.Errorf("default format %v, want 16000 Hz mono", f)
	}
	if n := pipeline.FramesOf(src); n != 16000 {
		t.Errorf("Frames() = %d, want 16000 (a trailing odd byte is no frame)", n)
	}
	if got := audiotest.MustReadAll(t, src); len(got) != 16000 {
		t.Errorf("read %d frames", len(got))
	}
	for enc, rate := range map[string]int{"ulaw": 8000, "alaw": 8000, "f32le": 16000} {
		src := genOpen(t, mustGen(t, "raw", map[string]string{"path": path, "enc": enc}))
		if src.Format().Rate != rate {
			t.Errorf("enc=%s: default rate %d, want %d", enc, src.Format().Rate, rate)
		}
		pipeline.Close(src)
	}
	src = genOpen(t, mustGen(t, "raw", map[string]string{"path": path, "enc": "ulaw", "rate": "16k"}))
	if src.Format().Rate != 16000 {
		t.Errorf("enc=ulaw rate=16k: rate %d", src.Format().Rate)
	}
	pipeline.Close(src)
	// A regular file as standard input has a length too, from where it
	// stands.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Seek(2001, io.SeekStart)
	src, _ = DecodeRaw(f, RawOptions{})
	if n := pipeline.FramesOf(src); n != 15000 {
		t.Errorf("file read from byte 2001: Frames() = %d, want 15000", n)
	}
	if err := pipeline.Close(src); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := src.Read(make([]float32, 4)); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestRawStdinOnce(t *testing.T) {
	o := mustGen(t, "raw", map[string]string{"path": "-"})
	src := genOpen(t, o) // not read: the test's standard input stays untouched
	if err := pipeline.Close(src); err != nil {
		t.Fatal(err)
	}
	if _, err := o(context.Background()); err == nil || !strings.Contains(err.Error(), "only once") {
		t.Errorf("second open of standard input: %v", err)
	}
}

func TestRawErrors(t *testing.T) {
	_, err := genTryOpen(mustGen(t, "raw", map[string]string{"path": filepath.Join(t.TempDir(), "missing.pcm")}))
	if err == nil || strings.Contains(err.Error(), "missing.pcm") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v (want the reason, without the name the stage label carries)", err)
	}
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{}, "missing path"},
		{map[string]string{"path": "x", "enc": "s24le"}, "not one of"},
		{map[string]string{"path": "x", "rate": "0"}, "sample rate"},
		{map[string]string{"path": "x", "channels": "0"}, "out of range"},
	} {
		_, err := genElement("raw", c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("raw %v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
	for _, opt := range []RawOptions{{Encoding: 9}, {Rate: -1}, {Channels: 1000}} {
		if _, err := Raw("x", opt); err == nil {
			t.Errorf("Raw(%+v) accepted", opt)
		}
		if _, err := DecodeRaw(bytes.NewReader(nil), opt); err == nil {
			t.Errorf("DecodeRaw(%+v) accepted", opt)
		}
	}
	if _, err := Raw("", RawOptions{}); err == nil {
		t.Error("empty path accepted")
	}
}

func genTryOpen(o pipeline.Opener) (pipeline.Source, error) { return o(context.Background()) }

// rawCycleReader yields data over and over.
type rawCycleReader struct {
	data []byte
	pos  int
}

func (r *rawCycleReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.pos:])
	r.pos = (r.pos + n) % len(r.data)
	return n, nil
}

// BenchmarkRawS16LE decodes one second of 48 kHz mono s16le per iteration.
func BenchmarkRawS16LE(b *testing.B) {
	data := make([]byte, 2*48000)
	for i := range 48000 {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(10000*math.Sin(float64(i)/10))))
	}
	src, _ := DecodeRaw(&rawCycleReader{data: data}, RawOptions{Rate: 48000})
	buf := make([]float32, 4096)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < 48000; {
			k, err := src.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}
