package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/pipeline"
)

// RawOptions describes headerless audio.
type RawOptions struct {
	// Rate is the sample rate in Hz; 0 means 16000, or 8000 for µ-law and
	// A-law.
	Rate int
	// Channels is the channel count; 0 means mono.
	Channels int
	// Encoding is the sample encoding; the zero value is pipeline.S16LE.
	// Multi-channel audio is interleaved.
	Encoding pipeline.Encoding
}

func (o RawOptions) normalize() (RawOptions, error) {
	if o.Encoding.Size() == 0 {
		return o, fmt.Errorf("unknown encoding %v (s16le, f32le, ulaw or alaw)", o.Encoding)
	}
	if o.Rate == 0 {
		o.Rate = 16000
		if o.Encoding == pipeline.ULaw || o.Encoding == pipeline.ALaw {
			o.Rate = 8000
		}
	}
	if o.Channels == 0 {
		o.Channels = 1
	}
	if err := (pipeline.Format{Rate: o.Rate, Channels: o.Channels}).Validate(); err != nil {
		return o, fmt.Errorf("raw: %w", err)
	}
	return o, nil
}

// Raw returns an Opener of the headerless audio in the file at path, or on
// standard input when path is "-" (which can be opened only once: Build
// refuses a loop over it, and a second open fails). Every open reads the
// file from its start. See DecodeRaw for how the bytes are read.
func Raw(path string, opt RawOptions) (pipeline.Opener, error) {
	opt, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("raw: no file name (use - for standard input)")
	}
	if path == "-" {
		var used atomic.Bool
		return func(ctx context.Context) (pipeline.Source, error) {
			if used.Swap(true) {
				return nil, fmt.Errorf("raw: standard input can be read only once (loops and repeated calls need a file)")
			}
			return newRaw(openStdin(ctx), nil, opt), nil
		}, nil
	}
	return func(ctx context.Context) (pipeline.Source, error) {
		f, err := os.Open(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("raw: cannot open: %w", err)
		}
		keep.Opened(ctx, path, f)
		return newRaw(f, f, opt), nil
	}, nil
}

// DecodeRaw returns a Source of the headerless audio that r yields. Short
// reads from r are fine: samples are reassembled across them. A partial
// frame at the end of the data (a few bytes too short to make one) is
// dropped. Float samples outside [-1, 1] are clipped, and NaNs read as 0.
// When r is a regular file, the source knows its length (pipeline.Lengther)
// from the bytes left in it. Closing the source closes r if it is an
// io.Closer.
func DecodeRaw(r io.Reader, opt RawOptions) (pipeline.Source, error) {
	opt, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	c, _ := r.(io.Closer)
	return newRaw(r, c, opt), nil
}

func newRaw(r io.Reader, c io.Closer, opt RawOptions) *rawSource {
	s := &rawSource{
		format:    pipeline.Format{Rate: opt.Rate, Channels: opt.Channels},
		enc:       opt.Encoding,
		frameSize: opt.Encoding.Size() * opt.Channels,
		closer:    c,
		frames:    -1,
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && off <= fi.Size() {
				s.frames = (fi.Size() - off) / int64(s.frameSize)
			}
		}
	}
	s.r = bufio.NewReaderSize(r, 32<<10)
	return s
}

// rawSource decodes headerless audio.
type rawSource struct {
	r         io.Reader
	closer    io.Closer
	format    pipeline.Format
	enc       pipeline.Encoding
	frameSize int
	frames    int64
	buf       []byte // buf[:pend] holds bytes read but not yet decoded
	pend      int
	err       error // the error to return once the frames before it are out
}

// Format returns the format the options declared.
func (s *rawSource) Format() pipeline.Format { return s.format }

// Frames returns the length in frames when the input is a regular file,
// -1 otherwise.
func (s *rawSource) Frames() int64 { return s.frames }

var errRawClosed = errors.New("raw: read after close")

// Read decodes the next frames. It returns as soon as it holds at least one
// whole frame, so a live stream (standard input) plays as it arrives.
func (s *rawSource) Read(p []float32) (int, error) {
	ch := s.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	if s.err != nil {
		return 0, s.err
	}
	want := len(p) / ch
	need := want * s.frameSize
	if len(s.buf) < need {
		b := make([]byte, need)
		copy(b, s.buf[:s.pend])
		s.buf = b
	}
	buf := s.buf[:need]
	for empty := 0; s.pend < s.frameSize; {
		n, err := s.r.Read(buf[s.pend:])
		s.pend += n
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("raw: %w", err)
			}
			s.err = err
			if s.pend < s.frameSize {
				s.pend = 0 // a partial frame at the end is dropped
				return 0, err
			}
			break
		}
		if n == 0 {
			if empty++; empty >= 100 {
				s.err = fmt.Errorf("raw: %w", io.ErrNoProgress)
				return 0, s.err
			}
		}
	}
	frames := s.pend / s.frameSize
	s.decode(p[:frames*ch], buf[:frames*s.frameSize])
	s.pend = copy(buf, buf[frames*s.frameSize:s.pend])
	if s.err != nil {
		s.pend = 0
	}
	return frames, nil
}

func (s *rawSource) decode(dst []float32, b []byte) { pcm.Decode(dst, b, s.enc) }

// Close closes the file (never standard input).
func (s *rawSource) Close() error {
	s.err = errRawClosed
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "raw",
		Kind:      pipeline.KindSource,
		Shareable: func(a pipeline.Args) bool { return a.String("path") != "-" },
		Summary:   "headerless audio (s16le, f32le, µ-law, A-law) from a file or standard input",
		Example:   "raw call.ulaw enc=ulaw rate=8k | wav call.wav",
		Details:   rawDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "file to read, or - for standard input"},
			{Name: "rate", Type: pipeline.TypeRate, Default: "16000",
				Doc: "sample rate (when not given: 16000, or 8000 for ulaw and alaw)"},
			pipeline.Param{Name: "channels", Type: pipeline.TypeInt, Default: "1",
				Doc: "channel count (samples interleaved)"}.Range(1, pipeline.MaxChannels),
			{Name: "enc", Type: pipeline.TypeEnum, Default: "s16le", Choices: []string{"s16le", "f32le", "ulaw", "alaw"},
				Doc: "sample encoding: signed 16-bit LE, 32-bit float LE, G.711 µ-law or A-law"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			enc, err := pipeline.ParseEncoding(a.String("enc"))
			if err != nil {
				return nil, err
			}
			opt := RawOptions{Channels: a.Int("channels"), Encoding: enc}
			if a.Has("rate") {
				opt.Rate = a.Int("rate")
			}
			return Raw(a.String("path"), opt)
		},
	})
}
