package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "wav",
		Kind:      pipeline.KindSource,
		Shareable: func(a pipeline.Args) bool { return versioned(a.String("path")) },
		Summary:   "play a WAV file: PCM 8-32 bit, float, A-law, µ-law, RF64 (- reads standard input)",
		Example:   "wav prompt.wav | resample 8k | wav prompt-8k.wav",
		Details:   wavDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the WAV file to play, or - for standard input"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) { return WAV(a.String("path")), nil },
	})
}

// WAV returns an Opener that opens the WAV file at path, buffered, and
// decodes it with DecodeWAV. The path "-" reads standard input, which is
// not closed. Every call of the Opener opens the file anew; within a loop,
// a file that is deleted, truncated or no longer decodable plays again the
// audio the loop's earlier iterations played, as with File.
func WAV(path string) pipeline.Opener {
	decode := func(rc io.ReadCloser) (pipeline.Source, error) {
		return decodeWAV(bufio.NewReaderSize(rc, 64<<10), rc, inputSize(rc))
	}
	return func(ctx context.Context) (pipeline.Source, error) {
		if m := keep.From(ctx); m != nil && path != "-" {
			return openKept(ctx, m, opening{kind: "wav", path: path, open: func(ctx context.Context) (io.ReadCloser, error) { return openPath(ctx, path) },
				decode: decode, decodeCopy: DecodeWAV})
		}
		rc, err := openPath(ctx, path)
		if err != nil {
			return nil, err
		}
		return decode(rc)
	}
}

// inputSize returns how many bytes r holds from its current offset: for a
// regular file or another io.Seeker; -1 when r cannot tell (pipes,
// terminals, plain readers).
func inputSize(r io.Reader) int64 {
	switch f := r.(type) {
	case *os.File:
		return fileAvailable(f)
	case io.Seeker:
		return seekerAvailable(f)
	}
	return -1
}

// fileAvailable returns how many bytes f holds from its current offset, or
// -1 when f is not a regular file.
func fileAvailable(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	cur, err := f.Seek(0, io.SeekCurrent)
	if err != nil || cur > st.Size() {
		return -1
	}
	return st.Size() - cur
}

// DecodeWAV reads a WAV header from r and returns a Source that decodes the
// audio of its data chunk. DecodeWAV takes ownership of r: the Source's
// Close closes r if r is an io.Closer, and so does DecodeWAV when the header
// is malformed or the encoding is not supported.
//
// It reads RIFF, RF64 and BW64 files holding unsigned 8-bit or signed 16-,
// 24- or 32-bit integer PCM (with any number of valid bits in the
// container), 32- or 64-bit IEEE float, A-law or µ-law, in WAVEFORMAT,
// WAVEFORMATEX or WAVE_FORMAT_EXTENSIBLE fmt chunks, at any rate and channel
// count that pipeline.Format accepts. Chunks other than fmt, ds64 and data
// are skipped wherever they stand; the fmt chunk must come before the data.
//
// A data size of 0 or 0xFFFFFFFF (what ffmpeg writes to a pipe) means "until
// the end of the input". A data size larger than the input is read to the
// end of the input. In every case the stream ends with io.EOF after the last
// whole frame: a truncated final frame is dropped.
//
// The Source implements pipeline.Lengther. Frames returns the length that
// the header declares, or -1 for a stream that runs until end of input. When
// r is an io.Seeker (an *os.File of a regular file, a bytes.Reader), the
// size of the input is known, and Frames is exact also for streams that run
// to the end of the input and for truncated files.
func DecodeWAV(r io.Reader) (pipeline.Source, error) {
	c, _ := r.(io.Closer)
	return decodeWAV(r, c, inputSize(r))
}

// seekerAvailable returns the number of bytes from s's offset to its end,
// or -1 if s cannot tell. It leaves the offset where it was.
func seekerAvailable(s io.Seeker) int64 {
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return -1
	}
	if _, err := s.Seek(cur, io.SeekStart); err != nil || end < cur {
		return -1
	}
	return end - cur
}

// parseWAV reads the header up to the first byte of the data chunk's
// audio and returns a source positioned there.
func parseWAV(r io.Reader, avail int64) (*wavSource, error) {
	h, err := wav.ReadHeader(r, avail)
	if err != nil {
		return nil, err
	}
	s, err := newWAVSource(r, h.Format, h.Encoding, h.DataSize)
	if s != nil {
		s.dataStart = h.DataStart
	}
	return s, err
}

func decodeWAV(r io.Reader, c io.Closer, avail int64) (pipeline.Source, error) {
	s, err := parseWAV(r, avail)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	s.c = c
	return s, nil
}

// wavSource decodes the data chunk. Bytes read from r wait in buf[off:end];
// at most one partial frame stays there between reads.
type wavSource struct {
	r         io.Reader
	c         io.Closer
	format    pipeline.Format
	enc       wav.Encoding
	block     int   // bytes per frame
	frames    int64 // total frames, -1 if unknown
	remaining int64 // data bytes not yet read from r, -1 until EOF
	buf       []byte
	off, end  int
	err       error // sticky: io.EOF at the end, or the read error
	decode    func(dst []float32, src []byte)
	dataStart int64 // offset of the first audio byte in the stream
}

// wavBufSize is the size of the byte buffer that Read decodes from.
const wavBufSize = 64 << 10

func newWAVSource(r io.Reader, f pipeline.Format, enc wav.Encoding, dataSize int64) (*wavSource, error) {
	s := &wavSource{r: r, format: f, enc: enc, block: enc.Container * f.Channels, remaining: dataSize, frames: -1}
	if dataSize >= 0 {
		s.frames = dataSize / int64(s.block)
	}
	size := wavBufSize
	if dataSize >= 0 && dataSize < int64(size) {
		size = max(int(dataSize), s.block)
	}
	s.buf = make([]byte, size)
	if enc.Kind == wav.KindInt && enc.Valid < enc.Container*8 && enc.Container > 1 {
		// Look at the start of the audio to tell how the valid bits sit in
		// their containers.
		if err := s.prefill(); err != nil {
			return nil, err
		}
		s.enc.Right = wav.DetectRightJustified(s.buf[s.off:s.end], enc.Container, enc.Valid)
	}
	s.decode = wav.Decoder(s.enc)
	return s, nil
}

// prefill fills the buffer as far as the data goes, or to the end of the
// input, so that the same bytes are examined whatever the reads return.
func (s *wavSource) prefill() error {
	want := len(s.buf)
	if s.remaining >= 0 && s.remaining < int64(want) {
		want = int(s.remaining)
	}
	n, err := io.ReadFull(s.r, s.buf[:want])
	s.end = n
	if s.remaining >= 0 {
		s.remaining -= int64(n)
	}
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		s.remaining = 0
	default:
		return fmt.Errorf("wav: reading the data: %w", err)
	}
	return nil
}

// Format returns the rate and channel count of the file.
func (s *wavSource) Format() pipeline.Format { return s.format }

// Frames returns the number of frames in the data chunk, or -1 when the
// stream runs until the end of an input of unknown size.
func (s *wavSource) Frames() int64 { return s.frames }

// Read decodes whole frames into p.
func (s *wavSource) Read(p []float32) (int, error) {
	ch := s.format.Channels
	want := len(p) / ch
	if want == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	if s.end-s.off < s.block {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
		if s.end-s.off < s.block {
			return 0, s.err
		}
	}
	n := min(want, (s.end-s.off)/s.block)
	nb := n * s.block
	s.decode(p[:n*ch], s.buf[s.off:s.off+nb])
	s.off += nb
	if s.remaining == 0 && s.end-s.off < s.block && s.err == nil {
		s.err = io.EOF
	}
	if s.end-s.off < s.block && s.err != nil {
		return n, s.err
	}
	return n, nil
}

// fill reads at least one whole frame into the buffer, or sets s.err.
func (s *wavSource) fill() {
	k := copy(s.buf, s.buf[s.off:s.end])
	s.off, s.end = 0, k
	if s.remaining == 0 {
		s.err = io.EOF
		return
	}
	room := len(s.buf) - k
	if s.remaining > 0 && s.remaining < int64(room) {
		room = int(s.remaining)
	}
	need := s.block - k
	if room < need {
		// Only a partial frame is left in the data chunk: drop it.
		s.err = io.EOF
		return
	}
	n, err := io.ReadAtLeast(s.r, s.buf[k:k+room], need)
	s.end += n
	if s.remaining > 0 {
		s.remaining -= int64(n)
	}
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		// The input ended, perhaps before the declared data size: end
		// cleanly after the last whole frame.
		s.err = io.EOF
	default:
		s.err = fmt.Errorf("wav: reading the data: %w", err)
	}
}

// Close closes the underlying reader if it is an io.Closer.
func (s *wavSource) Close() error {
	s.err = errors.New("wav: read after Close")
	s.off, s.end = 0, 0
	if s.c == nil {
		return nil
	}
	c := s.c
	s.c = nil
	return c.Close()
}
