package sources

import (
	"bufio"
	"context"
	"errors"
	"io"

	"github.com/elkspipe/elkspipe/internal/flac"
	"github.com/elkspipe/elkspipe/pipeline"
)

// FLAC returns an Opener that opens the FLAC file at path and decodes it
// with DecodeFLAC. The path "-" reads standard input, which is not closed.
// Every call of the Opener opens the file anew.
func FLAC(path string) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		rc, err := openPath(ctx, path)
		if err != nil {
			return nil, err
		}
		return DecodeFLAC(rc)
	}
}

// DecodeFLAC decodes the FLAC stream in r with github.com/mewkiz/flac, one
// frame at a time. The Source has the stream's rate and channel count (1 to
// 8) and gives each sample divided by 2^(bits-1), so 16- and 24-bit samples
// are exact in float32 and equal ffmpeg's. Samples of 4 to 24 bits are
// read; 32-bit streams get an error that says how to convert them.
// ID3v2 tags before the stream are skipped, however many and large.
// Closing the Source closes r if r is an io.Closer, and so does DecodeFLAC
// when it fails.
//
// Errors: a stream that ends inside a frame, or between frames before the
// number of samples its STREAMINFO declares, ends with an error that says
// the file is truncated, after the audio before the cut; so does a frame
// that fails its CRC or that the decoder fails or panics on, with the
// frame's number, time and byte offset. When STREAMINFO has an MD5
// signature, the decoded audio is checked against it and a mismatch ends
// the stream with an error instead of io.EOF. Data after the declared
// samples (a trailing tag) is ignored.
//
// The Source implements pipeline.Lengther: Frames returns the length that
// STREAMINFO gives, or -1 when it leaves it unknown (a stream written to a
// pipe).
func DecodeFLAC(r io.Reader) (pipeline.Source, error) {
	c, _ := r.(io.Closer)
	return decodeFLAC(r, c)
}

// decodeFLAC is DecodeFLAC reading from r and closing c.
func decodeFLAC(r io.Reader, c io.Closer) (pipeline.Source, error) {
	d, err := flac.NewDecoder(r)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	info := d.Info()
	return &flacSource{d: d, c: c, format: pipeline.Format{Rate: info.Rate, Channels: info.Channels}, frames: info.Samples}, nil
}

// flacSource is the Source DecodeFLAC returns.
type flacSource struct {
	d      *flac.Decoder
	c      io.Closer
	format pipeline.Format
	frames int64
	closed bool
}

var errFLACReadAfterClose = errors.New("flac: read after Close")

// Format returns the stream's rate and channel count.
func (s *flacSource) Format() pipeline.Format { return s.format }

// Frames returns the length STREAMINFO declares, or -1 if unknown.
func (s *flacSource) Frames() int64 { return s.frames }

// Read decodes whole frames into p.
func (s *flacSource) Read(p []float32) (int, error) {
	if s.closed {
		return 0, errFLACReadAfterClose
	}
	if len(p) < s.format.Channels {
		return 0, pipeline.ErrShortBuffer
	}
	return s.d.Read(p)
}

// Close closes the underlying reader if it is an io.Closer.
func (s *flacSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.d = nil
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

// flacAfterID3 reports whether the ID3v2 tags at the start of br (already
// known to start with "ID3") are followed by a FLAC stream rather than
// MP3 frames. It looks in br's buffer, or, for tags larger than that, in
// ra (nil when the input cannot be read at random) from base.
func flacAfterID3(br *bufio.Reader, ra io.ReaderAt, base int64) bool {
	var off int64
	for range 64 {
		var head [10]byte
		if off+10 <= int64(br.Size()) {
			b, _ := br.Peek(int(off) + 10)
			copy(head[:], b[min(int(off), len(b)):])
		} else if ra == nil {
			return false
		} else {
			ra.ReadAt(head[:], base+off)
		}
		n := flac.ID3v2Size(head[:])
		if n == 0 {
			return string(head[:4]) == "fLaC"
		}
		off += n
	}
	return false
}
