// Package mp3 holds what elkspipe puts in front of the go-mp3 decoder
// (github.com/hajimehoshi/go-mp3), which the mp3 source of package sources
// wraps: a scanner of MPEG audio frames that skips tags and junk, rejects
// the streams go-mp3 cannot decode, reads the Xing/Info/LAME gapless header
// and rebuilds frames so that go-mp3 decodes them as ffmpeg does (the bit
// reservoir repack and the mid/side fix), and the measures of a stream
// (where its audio ends, how many samples its frames decode to).
package mp3

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// DecoderDelay is the delay of the MPEG audio synthesis filter bank in
// samples (528 + 1, as LAME, ffmpeg and mpg123 count it). go-mp3's output
// has it too: it is sample-aligned with ffmpeg's untrimmed decode.
const DecoderDelay = 529

// ReadError wraps an error of the underlying reader, without the file name
// an *fs.PathError carries (the pipeline's stage label names the file), as
// "mp3: ...".
func ReadError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("mp3: %w", err)
}

// HasTag reports whether the stream starts with a Xing, Info or VBRI tag
// frame; Start has read it.
func (s *Scanner) HasTag() bool { return s.hasTag }

// Tag returns what the stream's Xing/Info tag frame says (see HasTag).
func (s *Scanner) Tag() Gapless { return s.tag }

// Frames returns the number of audio frames Next has handed out.
func (s *Scanner) Frames() int { return s.frames }

// FrameOffset returns the byte offset, from the start of the stream, of the
// last frame Next handed out.
func (s *Scanner) FrameOffset() int64 { return s.frameOff }

// Skipped returns the number of bytes of junk skipped between frames.
func (s *Scanner) Skipped() int64 { return s.skipped }

// Lost returns the number of frames whose bit reservoir was missing, handed
// out so that they decode as silence.
func (s *Scanner) Lost() int { return s.res.lost }

// MSFixed returns the number of frames rewritten by the mid/side fix (see
// msfix.go).
func (s *Scanner) MSFixed() int { return s.res.msFixed }

// CountSamples walks the MPEG frames of a stream without decoding them and
// returns how many samples per channel they decode to (no trimming: it
// counts only streams without a Xing/Info header), or -1 if the walk fails
// or the stream has such a header.
func CountSamples(sr *io.SectionReader) int64 {
	var src io.Reader = sr
	if end, ok, err := AudioEnd(sr, 0); err == nil && ok {
		src = io.LimitReader(sr, end)
	}
	sc := NewScanner(src)
	h, err := sc.Start()
	if err != nil {
		return -1
	}
	var frames int64
	for {
		_, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return -1
		}
		frames++
	}
	if sc.hasTag {
		return -1 // counted only for streams without a header
	}
	return frames * int64(h.SamplesPerFrame())
}

// FindStream reports whether b holds, somewhere, an MPEG audio frame
// followed by three more frames of the same stream: the test the scanner
// applies to find the first frame after junk.
func FindStream(b []byte) bool {
	for i := 0; i+4 <= len(b); i++ {
		if b[i] != 0xFF {
			continue
		}
		if h, ok := ParseHeader(b[i:]); ok && h.Size > 0 && followerOK(b[i:], h, h, 3, false) {
			return true
		}
	}
	return false
}

// Offset returns the number of bytes consumed from the start of the stream:
// after Next, the end of the frame it handed out.
func (s *Scanner) Offset() int64 { return s.off }
