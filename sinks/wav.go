package sinks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "wav",
		Kind:    pipeline.KindSink,
		Summary: "write a WAV file (16-bit PCM by default), or a streaming WAV to stdout with -",
		Example: "tone 440 dur=3s | wav out.wav bits=24",
		Details: wavDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the file to write (created or truncated), or - for stdout"},
			{Name: "bits", Type: pipeline.TypeEnum, Choices: append([]string(nil), wavEncodingNames...),
				Default: WAVS16.String(),
				Doc:     "sample format: 8 (unsigned), 16, 24 or 32-bit integer PCM, float (32-bit) or float64"},
			{Name: "endless", Type: pipeline.TypeBool, Default: "false",
				Doc: "accept a stream that never ends (tone without dur=, loop without a count) into a file, written until interrupted; without it such a pipeline is refused (- is never refused)"},
		},
		NewSink: func(a pipeline.Args) (pipeline.Sink, error) {
			enc, err := ParseWAVEncoding(a.String("bits"))
			if err != nil {
				return nil, err
			}
			return WAV(a.String("path"), WAVOptions{Encoding: enc, Endless: a.Bool("endless")})
		},
	})
}

// WAVEncoding is the sample format of a WAV file that WAVWriter writes. The
// zero value is WAVS16.
type WAVEncoding int

// The sample formats WAVWriter writes.
const (
	// WAVS16 is signed 16-bit integer PCM.
	WAVS16 WAVEncoding = iota
	// WAVU8 is unsigned 8-bit integer PCM.
	WAVU8
	// WAVS24 is signed 24-bit integer PCM in 3 bytes.
	WAVS24
	// WAVS32 is signed 32-bit integer PCM.
	WAVS32
	// WAVF32 is 32-bit IEEE float.
	WAVF32
	// WAVF64 is 64-bit IEEE float.
	WAVF64
)

var wavEncodingNames = []string{WAVU8: "8", WAVS16: "16", WAVS24: "24", WAVS32: "32", WAVF32: "float", WAVF64: "float64"}

var wavEncodingBits = []int{WAVU8: 8, WAVS16: 16, WAVS24: 24, WAVS32: 32, WAVF32: 32, WAVF64: 64}

func (e WAVEncoding) valid() bool { return e >= 0 && int(e) < len(wavEncodingNames) }

// String returns the encoding's name as the bits= parameter takes it: "8",
// "16", "24", "32", "float" or "float64".
func (e WAVEncoding) String() string {
	if e.valid() {
		return wavEncodingNames[e]
	}
	return fmt.Sprintf("WAVEncoding(%d)", int(e))
}

// BitsPerSample returns the bits that one sample takes in the file, or 0
// for an unknown encoding.
func (e WAVEncoding) BitsPerSample() int {
	if e.valid() {
		return wavEncodingBits[e]
	}
	return 0
}

// Float reports whether e is an IEEE float encoding.
func (e WAVEncoding) Float() bool { return e == WAVF32 || e == WAVF64 }

// sample returns how e stores a sample, for internal/wav.
func (e WAVEncoding) sample() wav.SampleFormat {
	return wav.SampleFormat{Bits: e.BitsPerSample(), Float: e.Float()}
}

// ParseWAVEncoding returns the encoding named as the bits= parameter names
// it: 8, 16, 24, 32, float (also f32) or float64 (also f64).
func ParseWAVEncoding(name string) (WAVEncoding, error) {
	switch name {
	case "f32":
		return WAVF32, nil
	case "f64":
		return WAVF64, nil
	}
	for e, n := range wavEncodingNames {
		if n == name {
			return WAVEncoding(e), nil
		}
	}
	return 0, fmt.Errorf("unknown WAV sample format %q (use 8, 16, 24, 32, float or float64)", name)
}

// WAVOptions configures a wav sink.
type WAVOptions struct {
	// Encoding of the samples; the zero value is WAVS16.
	Encoding WAVEncoding
	// Endless lets a stream that never ends be written to a named file,
	// until ctx is cancelled. Without it, Build refuses such a pipeline
	// (see pipeline.EndNeeder): a disk is finite. Standard output ("-")
	// and the writers of WAVTo are never refused.
	Endless bool
}

// WAV returns a sink that writes its stream, at the stream's own rate and
// channel count, as a WAV file at path (created or truncated when Run
// starts), or to standard output for "-" (which is not closed). The file
// is valid at every moment (see WAVWriter); Run completes its header when
// the stream ends, fails or ctx is cancelled. To standard output it writes
// a streaming header whose sizes are 0xFFFFFFFF, as ffmpeg does, and never
// seeks.
func WAV(path string, opt WAVOptions) (pipeline.Sink, error) {
	if path == "" {
		return nil, errors.New("empty path (give a file name or - for stdout)")
	}
	if !opt.Encoding.valid() {
		return nil, fmt.Errorf("unknown WAV encoding %d", int(opt.Encoding))
	}
	return &wavSink{path: path, opt: opt}, nil
}

// WAVTo returns a sink like WAV that writes to w, which it does not close.
// If w is an io.WriteSeeker that can seek (a file), the header's sizes are
// completed at the end; otherwise they stay 0xFFFFFFFF, "until the end".
func WAVTo(w io.Writer, opt WAVOptions) (pipeline.Sink, error) {
	if w == nil {
		return nil, errors.New("nil writer")
	}
	if !opt.Encoding.valid() {
		return nil, fmt.Errorf("unknown WAV encoding %d", int(opt.Encoding))
	}
	return &wavSink{w: w, opt: opt}, nil
}

// NeedsEnd reports whether Build must refuse an endless stream: for a
// named file, unless opt.Endless.
func (s *wavSink) NeedsEnd() bool { return s.w == nil && s.path != "-" && !s.opt.Endless }

// writeOnly hides the Seek method of a writer, so that standard output
// gets a streaming header even when it is redirected to a file.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

type wavSink struct {
	path string
	w    io.Writer
	opt  WAVOptions
}

// wavChunkFrames is how many frames the sink reads and writes at a time.
const wavChunkFrames = 4096

// Run writes src until it ends, fails or ctx is cancelled, then completes
// the header. It returns ctx.Err() when cancelled. It does not close src.
func (s *wavSink) Run(ctx context.Context, src pipeline.Source) (err error) {
	if err := checkSource(src); err != nil {
		return err
	}
	w, closeOutput, err := openOutput(s.path, s.w)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeOutput(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	ww, err := NewWAVWriter(w, src.Format(), s.opt.Encoding)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := ww.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return drain(ctx, src, wavChunkFrames, ww.Write)
}

// WAVWriter writes interleaved float samples as a WAV file.
//
// The header goes out at once, with the RIFF and data sizes set to
// 0xFFFFFFFF: the streaming form that ffmpeg writes to pipes, which ffmpeg,
// sox and elkspipe read as "audio until the end of the file". So the file
// is valid at every moment, even if the process dies before Close. Close
// then writes the real sizes if the writer is an io.WriteSeeker that can
// seek; if not, or if the file outgrew the 4 GiB that a RIFF header can
// describe, the sizes stay 0xFFFFFFFF.
//
// Integer PCM of 8 or 16 bits with one or two channels gets a plain PCM
// header (WAVEFORMAT), float with one or two channels an IEEE float one
// (format tag 3, WAVEFORMATEX, as sox writes it); 24- and 32-bit integers
// and more than two channels get WAVE_FORMAT_EXTENSIBLE, as the format's
// specification recommends. Float files also carry a fact chunk with the
// frame count.
//
// Floats convert to integers by round(x × 2^(bits-1)), halves away from
// zero, clamped to the integer range (u8 is that value plus 128), without
// dither; float files keep values beyond ±1, and write NaN as 0 and
// infinities as ±1.
type WAVWriter struct {
	w         io.Writer
	seeker    io.WriteSeeker // w, when it can seek
	start     int64          // offset of the header in seeker
	format    pipeline.Format
	enc       WAVEncoding
	size      int // bytes per sample
	header    wav.Layout
	dataBytes int64
	buf       []byte
	err       error // sticky write error
	closed    bool
}

// NewWAVWriter writes a WAV header for audio of format f, encoded as enc,
// to w and returns a writer for the samples. It does not close w.
func NewWAVWriter(w io.Writer, f pipeline.Format, enc WAVEncoding) (*WAVWriter, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if !enc.valid() {
		return nil, fmt.Errorf("unknown WAV encoding %d", int(enc))
	}
	ww := &WAVWriter{w: w, format: f, enc: enc, size: enc.BitsPerSample() / 8}
	if s, ok := w.(io.WriteSeeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			ww.seeker, ww.start = s, pos
		}
	}
	hdr, layout := wav.HeaderBytes(f, enc.sample())
	ww.header = layout
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return ww, nil
}

// Format returns the format of the audio being written.
func (w *WAVWriter) Format() pipeline.Format { return w.format }

// Frames returns the number of frames written so far.
func (w *WAVWriter) Frames() int64 {
	return w.dataBytes / int64(w.size*w.format.Channels)
}

// Write encodes and writes interleaved samples, a whole number of frames.
// After a write error every call returns that error.
func (w *WAVWriter) Write(samples []float32) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("WAV writer used after Close")
	}
	ch := w.format.Channels
	if len(samples)%ch != 0 {
		return fmt.Errorf("%d samples is not a whole number of %d-channel frames", len(samples), ch)
	}
	for len(samples) > 0 {
		n := min(len(samples), wavChunkFrames*ch)
		need := n * w.size
		if cap(w.buf) < need {
			w.buf = make([]byte, need)
		}
		b := w.buf[:need]
		wav.Encode(b, samples[:n], w.enc.sample())
		k, err := w.w.Write(b)
		w.dataBytes += int64(k)
		if err == nil && k < len(b) {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.err = err
			return err
		}
		samples = samples[n:]
	}
	return nil
}

// Close ends the data chunk (with a pad byte when its size is odd) and, if
// the writer can seek, writes the sizes into the header and seeks back to
// the end. It does not close the underlying writer. It returns the first
// error of the writer's life; calling it again returns nil.
func (w *WAVWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	pad := w.dataBytes & 1
	if pad == 1 && err == nil {
		if _, werr := w.w.Write([]byte{0}); werr != nil {
			err = werr
			pad = 0
		}
	}
	if w.seeker == nil {
		return err
	}
	if perr := w.patch(pad); perr != nil && err == nil {
		err = perr
	}
	return err
}

// patch writes the final sizes into the header.
func (w *WAVWriter) patch(pad int64) error {
	end := w.start + int64(w.header.Length) + w.dataBytes + pad
	riffSize, dataSize, frames, ok := wav.Sizes(int64(w.header.Length), w.dataBytes, pad, w.Frames())
	if !ok {
		return nil // too big for RIFF: keep "until the end of the file"
	}
	le := binary.LittleEndian
	put := func(off int, v uint32) error {
		if _, err := w.seeker.Seek(w.start+int64(off), io.SeekStart); err != nil {
			return err
		}
		_, err := w.seeker.Write(le.AppendUint32(nil, v))
		return err
	}
	if err := put(4, riffSize); err != nil {
		return err
	}
	if err := put(w.header.Data, dataSize); err != nil {
		return err
	}
	if w.header.Fact != 0 {
		if err := put(w.header.Fact, frames); err != nil {
			return err
		}
	}
	_, err := w.seeker.Seek(end, io.SeekStart)
	return err
}
