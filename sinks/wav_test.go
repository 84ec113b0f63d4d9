package sinks

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

var wavAllEncodings = []WAVEncoding{WAVU8, WAVS16, WAVS24, WAVS32, WAVF32, WAVF64}

// wavTestSignal returns frames of a distinct tone per channel (amplitude
// 0.7) with edge values at the start: full scale, beyond full scale, half
// an LSB of 16 bits either way, NaN and infinities.
func wavTestSignal(frames, ch int) []float32 {
	edges := []float32{1, -1, 1.5, -2, 0.5, -0.5, 1.0 / 65536, -1.0 / 65536, 3.0 / 65536, 1.0 / 256,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0}
	x := make([]float32, frames*ch)
	for i := range x {
		if i < len(edges) {
			x[i] = edges[i]
			continue
		}
		f, c := i/ch, i%ch
		x[i] = float32(0.7 * math.Sin(2*math.Pi*float64(440+110*c)*float64(f)/8000))
	}
	return x
}

// wavExpected is what a file of enc holds for x, as floats: the project's
// conversion convention computed with math.Round.
func wavExpected(x []float32, enc WAVEncoding) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) {
			f = 0
		}
		if enc.Float() {
			if math.IsInf(f, 0) {
				f = math.Copysign(1, f)
			}
			out[i] = float32(f)
			continue
		}
		scale := math.Ldexp(1, enc.BitsPerSample()-1)
		q := math.Max(-scale, math.Min(scale-1, math.Round(f*scale)))
		out[i] = float32(q / scale)
	}
	return out
}

// wavRunSink writes x through the wav sink at path.
func wavRunSink(t *testing.T, path string, f pipeline.Format, x []float32, enc WAVEncoding) {
	t.Helper()
	sink, err := WAV(path, WAVOptions{Encoding: enc})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, x)); err != nil {
		t.Fatal(err)
	}
}

// wavParsed is what a test reads back from a written header.
type wavParsed struct {
	riffSize, dataSize, fact uint32
	tag                      uint16 // format tag, or the subformat's for EXTENSIBLE
	extensible               bool
	channels, rate, bits     int
	mask                     uint32
	dataAt                   int
}

func wavParse(t *testing.T, b []byte) wavParsed {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " {
		t.Fatalf("not a RIFF WAVE header: %q", b[:min(len(b), 16)])
	}
	var p wavParsed
	p.riffSize = le.Uint32(b[4:])
	fmtSize := int(le.Uint32(b[16:]))
	fm := b[20 : 20+fmtSize]
	p.tag = le.Uint16(fm)
	p.channels = int(le.Uint16(fm[2:]))
	p.rate = int(le.Uint32(fm[4:]))
	p.bits = int(le.Uint16(fm[14:]))
	if p.tag == 0xFFFE {
		p.extensible = true
		p.mask = le.Uint32(fm[20:])
		p.tag = le.Uint16(fm[24:])
		if v := int(le.Uint16(fm[18:])); v != p.bits {
			t.Errorf("valid bits %d, container %d", v, p.bits)
		}
	}
	i := 20 + fmtSize
	for i+8 <= len(b) {
		id, size := string(b[i:i+4]), le.Uint32(b[i+4:])
		switch id {
		case "fact":
			p.fact = le.Uint32(b[i+8:])
		case "data":
			p.dataSize, p.dataAt = size, i+8
			return p
		}
		i += 8 + int(size)
	}
	t.Fatal("no data chunk")
	return p
}

// Every encoding and channel count round-trips through the sink, the
// header says what it holds, and elkspipe's decoder, ffmpeg and sox all
// read back the expected samples.
func TestWAVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const frames = 1001 // odd: 8-bit mono needs a pad byte
	for _, enc := range wavAllEncodings {
		for _, ch := range []int{1, 2, 6} {
			name := fmt.Sprintf("%s-%dch", enc, ch)
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name+".wav")
				f := pipeline.Format{Rate: 8000, Channels: ch}
				x := wavTestSignal(frames, ch)
				wavRunSink(t, path, f, x, enc)
				want := wavExpected(x, enc)

				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				h := wavParse(t, b)
				bits := enc.BitsPerSample()
				dataBytes := frames * ch * bits / 8
				if int(h.riffSize) != len(b)-8 || int(h.dataSize) != dataBytes || len(b) != h.dataAt+dataBytes+dataBytes%2 {
					t.Errorf("RIFF size %d, data size %d, file %d bytes; want %d, %d", h.riffSize, h.dataSize, len(b), len(b)-8, dataBytes)
				}
				if h.channels != ch || h.rate != 8000 || h.bits != bits {
					t.Errorf("fmt: %d ch %d Hz %d bits", h.channels, h.rate, h.bits)
				}
				wantTag := uint16(1)
				if enc.Float() {
					wantTag = 3
					if h.fact != frames {
						t.Errorf("fact chunk says %d frames, want %d", h.fact, frames)
					}
				}
				if h.tag != wantTag || h.extensible != (ch > 2 || bits > 16 && !enc.Float()) {
					t.Errorf("format tag %d, extensible %v", h.tag, h.extensible)
				}

				src, err := sources.WAV(path)(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got := audiotest.MustReadAll(t, src)
				pipeline.Close(src)
				wavSame(t, "elkspipe decoder", got, want, 0)
				wavSame(t, "ffmpeg", audiotest.FFmpegDecode(t, path, 0), want, 0)

				// sox works in 32-bit integers, rounds its float output to about
				// 2^-24 and clips beyond ±1.
				audiotest.NeedTool(t, "sox")
				raw := audiotest.Run(t, "sox", "-V1", path, "-t", "f32", "-")
				soxed := make([]float32, len(raw)/4)
				for i := range soxed {
					soxed[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				}
				clipped := make([]float32, len(want))
				for i, v := range want {
					clipped[i] = max(-1, min(v, 1))
				}
				wavSame(t, "sox", soxed, clipped, 1.0/(1<<23))
			})
		}
	}
}

func wavSame(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > tol || math.IsNaN(d) {
			t.Fatalf("%s: sample %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// `wav -` writes a streaming header (sizes 0xFFFFFFFF) and never seeks,
// even when standard output is a file; ffmpeg reads it from a pipe.
func TestWAVStdout(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("wav", pipeline.KindSink)
	if err != nil || e.Kind != pipeline.KindSink {
		t.Fatalf("wav sink not registered: %v", err)
	}
	args, err := pipeline.NewArgs(e, map[string]string{"path": "-"})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := e.NewSink(args)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	saved := stdout
	stdout = out
	defer func() { stdout = saved }()
	f := pipeline.Format{Rate: 16000, Channels: 2}
	x := wavTestSignal(3000, 2)
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, x)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	h := wavParse(t, b)
	if h.riffSize != 0xFFFFFFFF || h.dataSize != 0xFFFFFFFF {
		t.Errorf("sizes %#x, %#x; want the streaming 0xFFFFFFFF", h.riffSize, h.dataSize)
	}
	if len(b) != h.dataAt+3000*4 {
		t.Errorf("%d bytes, want %d", len(b), h.dataAt+3000*4)
	}
	want := wavExpected(x, WAVS16)

	src, err := sources.DecodeWAV(io.MultiReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("Frames() = %d from a pipe, want -1", n)
	}
	wavSame(t, "elkspipe from a pipe", audiotest.MustReadAll(t, src), want, 0)

	audiotest.NeedTool(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", "-f", "f32le", "-")
	cmd.Stdin = bytes.NewReader(b) // a pipe, for ffmpeg
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	got := make([]float32, len(raw)/4)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	wavSame(t, "ffmpeg from a pipe", got, want, 0)
}

// wavCancelling plays a tone forever and cancels its context on read k.
type wavCancelling struct {
	f      pipeline.Format
	reads  int
	k      int
	cancel context.CancelFunc
	frames int64
}

func (s *wavCancelling) Format() pipeline.Format { return s.f }

func (s *wavCancelling) Read(p []float32) (int, error) {
	s.reads++
	if s.reads == s.k {
		s.cancel()
	}
	n := len(p) / s.f.Channels
	for i := range p[:n*s.f.Channels] {
		p[i] = float32(0.5 * math.Sin(float64(s.frames+int64(i/s.f.Channels))*0.1))
	}
	s.frames += int64(n)
	return n, nil
}

// Cancelling a run (Ctrl-C) completes the header and returns ctx.Err():
// the file holds every frame read, and its sizes say so.
func TestWAVCancelLeavesValidFile(t *testing.T) {
	for _, enc := range []WAVEncoding{WAVS16, WAVF32} {
		path := filepath.Join(t.TempDir(), "cancelled.wav")
		ctx, cancel := context.WithCancel(context.Background())
		src := &wavCancelling{f: pipeline.Format{Rate: 8000, Channels: 2}, k: 5, cancel: cancel}
		sink, err := WAV(path, WAVOptions{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Run(ctx, src); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h := wavParse(t, b)
		block := enc.BitsPerSample() / 8 * 2
		if int64(h.dataSize) != src.frames*int64(block) || int(h.riffSize) != len(b)-8 {
			t.Errorf("%s: data size %d, RIFF size %d, file %d bytes; %d frames were read", enc, h.dataSize, h.riffSize, len(b), src.frames)
		}
		got := audiotest.FFmpegDecode(t, path, 0)
		if int64(len(got)/2) != src.frames {
			t.Errorf("%s: ffmpeg decodes %d frames, want %d", enc, len(got)/2, src.frames)
		}
		dec, err := sources.DecodeWAV(io.MultiReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		if n := pipeline.FramesOf(dec); n != src.frames {
			t.Errorf("%s: header declares %d frames, want %d", enc, n, src.frames)
		}
	}
}

// A writer that is never closed (the process died) leaves a file that
// ffmpeg, sox and elkspipe read to its end.
func TestWAVWriterUnclosedFileIsValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWAVWriter(f, pipeline.Format{Rate: 8000, Channels: 1}, WAVS24)
	if err != nil {
		t.Fatal(err)
	}
	x := wavTestSignal(5000, 1)
	for i := 0; i < len(x); i += 1000 {
		if err := w.Write(x[i : i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if w.Frames() != 5000 {
		t.Errorf("Frames() = %d", w.Frames())
	}
	f.Close() // no w.Close
	want := wavExpected(x, WAVS24)
	wavSame(t, "ffmpeg", audiotest.FFmpegDecode(t, path, 0), want, 0)
	src, err := sources.WAV(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if n := pipeline.FramesOf(src); n != 5000 {
		t.Errorf("elkspipe: Frames() = %d", n)
	}
	wavSame(t, "elkspipe", audiotest.MustReadAll(t, src), want, 0)
	audiotest.NeedTool(t, "sox")
	raw := audiotest.Run(t, "sox", "-V1", path, "-t", "s32", "-")
	if len(raw) != 5000*4 {
		t.Errorf("sox reads %d samples, want 5000", len(raw)/4)
	}
}

// A writer that starts in the middle of a file patches its own header.
func TestWAVWriterAtOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offset.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("hello"))
	w, err := NewWAVWriter(f, pipeline.Format{Rate: 8000, Channels: 1}, WAVU8)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]float32{0, 0.5, -0.5}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("bye")) // Close left the offset at the end
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte("helloRIFF")) || !bytes.HasSuffix(b, []byte{128, 192, 64, 0, 'b', 'y', 'e'}) {
		t.Fatalf("file %q", b)
	}
	h := wavParse(t, b[5:])
	if h.riffSize != 36+4 || h.dataSize != 3 {
		t.Errorf("RIFF size %d, data size %d", h.riffSize, h.dataSize)
	}
}

type wavFailWriter struct{ after int }

func (w *wavFailWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

type wavFailSource struct{ pipeline.Source }

func (wavFailSource) Read([]float32) (int, error) { return 0, errors.New("decoder broke") }

// Errors: bad arguments, failing writers and sources, misuse.
func TestWAVErrors(t *testing.T) {
	f := pipeline.Format{Rate: 8000, Channels: 2}
	if _, err := WAV("", WAVOptions{}); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := WAV("x.wav", WAVOptions{Encoding: 99}); err == nil {
		t.Error("unknown encoding accepted")
	}
	if _, err := WAVTo(nil, WAVOptions{}); err == nil {
		t.Error("nil writer accepted")
	}
	if _, err := NewWAVWriter(io.Discard, pipeline.Format{Rate: 0, Channels: 1}, WAVS16); err == nil {
		t.Error("rate 0 accepted")
	}
	if _, err := NewWAVWriter(&wavFailWriter{}, f, WAVS16); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("header write error: %v", err)
	}
	w, _ := NewWAVWriter(io.Discard, f, WAVS16)
	if err := w.Write(make([]float32, 3)); err == nil {
		t.Error("half a frame accepted")
	}
	w.Close()
	if err := w.Write(make([]float32, 2)); err == nil {
		t.Error("write after Close accepted")
	}
	sink, _ := WAVTo(&wavFailWriter{after: 1}, WAVOptions{})
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, make([]float32, 200))); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("data write error: %v", err)
	}
	// A source error ends the run with that error; the file stays valid.
	path := filepath.Join(t.TempDir(), "failed.wav")
	sink, _ = WAV(path, WAVOptions{})
	if err := sink.Run(context.Background(), wavFailSource{pipeline.FromSlice(f, nil)}); err == nil || !strings.Contains(err.Error(), "decoder broke") {
		t.Errorf("source error: %v", err)
	}
	b, _ := os.ReadFile(path)
	if h := wavParse(t, b); h.dataSize != 0 || int(h.riffSize) != len(b)-8 {
		t.Errorf("after a failed run: data size %d, RIFF size %d, %d bytes", h.dataSize, h.riffSize, len(b))
	}
	sink, _ = WAV(filepath.Join(t.TempDir(), "no", "such", "dir.wav"), WAVOptions{})
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, nil)); err == nil {
		t.Error("unwritable path accepted")
	}
}

// The bits= parameter picks the encoding; unknown values fail.
func TestWAVElementBits(t *testing.T) {
	e, _ := pipeline.DefaultRegistry.Lookup("wav", pipeline.KindSink)
	for _, bits := range []string{"8", "16", "24", "32", "float", "float64"} {
		path := filepath.Join(t.TempDir(), "b.wav")
		args, err := pipeline.NewArgs(e, map[string]string{"path": path, "bits": bits})
		if err != nil {
			t.Fatal(err)
		}
		sink, err := e.NewSink(args)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 10))); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		enc, _ := ParseWAVEncoding(bits)
		if h := wavParse(t, b); h.bits != enc.BitsPerSample() || enc.String() != bits {
			t.Errorf("bits=%s wrote %d bits (%s)", bits, h.bits, enc)
		}
	}
	if _, err := pipeline.NewArgs(e, map[string]string{"path": "x.wav", "bits": "12"}); err == nil {
		t.Error("bits=12 accepted")
	}
	if e, err := ParseWAVEncoding("f64"); err != nil || e != WAVF64 {
		t.Errorf("f64: %v %v", e, err)
	}
}

// Write does not allocate once its buffer has grown.
func TestWAVWriterAllocs(t *testing.T) {
	w, _ := NewWAVWriter(io.Discard, pipeline.Format{Rate: 8000, Channels: 2}, WAVS16)
	x := wavTestSignal(4096, 2)
	w.Write(x)
	if n := testing.AllocsPerRun(20, func() { w.Write(x) }); n != 0 {
		t.Errorf("%v allocations per Write", n)
	}
}

// BenchmarkWAVWriter16 encodes 10 s of 44.1 kHz stereo as 16-bit WAV.
func BenchmarkWAVWriter16(b *testing.B) {
	x := wavTestSignal(441000, 2)
	b.SetBytes(int64(len(x) * 2))
	for b.Loop() {
		w, _ := NewWAVWriter(io.Discard, pipeline.Format{Rate: 44100, Channels: 2}, WAVS16)
		w.Write(x)
		w.Close()
	}
}
