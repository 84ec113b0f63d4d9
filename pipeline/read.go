package pipeline

import (
	"fmt"
	"io"
)

// MaxEmptyReads is how many reads in a row may return no frames and no
// error before ReadSome, ReadFull and the sinks stop with io.ErrNoProgress
// (bufio uses the same limit for an io.Reader).
const MaxEmptyReads = 100

// ReadSome reads from src into p like src.Read, but calls Read again when it
// returns no frames and a nil error. After MaxEmptyReads such reads in a row
// it returns 0, io.ErrNoProgress, so that a broken Source ends a stream
// instead of spinning forever. A count that does not fit p (negative, or
// more frames than p holds) is the source's error, not a number to trust.
func ReadSome(src Source, p []float32) (frames int, err error) {
	for range MaxEmptyReads {
		frames, err = src.Read(p)
		if frames < 0 || frames != 0 && frames*max(1, src.Format().Channels) > len(p) {
			return 0, fmt.Errorf("the source returned %d frames for a buffer of %d samples", frames, len(p))
		}
		if frames != 0 || err != nil {
			return frames, err
		}
	}
	return 0, io.ErrNoProgress
}

// ReadFull reads from src until p is full or the stream ends, like
// io.ReadFull. It returns the number of frames read; err is io.EOF only when
// no frame was read, io.ErrUnexpectedEOF when the stream ended part way, and
// io.ErrNoProgress when src returned no frames and no error MaxEmptyReads
// times in a row.
func ReadFull(src Source, p []float32) (frames int, err error) {
	ch := src.Format().Channels
	if ch < 1 {
		return 0, fmt.Errorf("the source's format has %d channels", ch)
	}
	want := len(p) / ch
	for frames < want && err == nil {
		var n int
		n, err = ReadSome(src, p[frames*ch:want*ch])
		frames += n
	}
	if frames >= want {
		return frames, nil
	}
	if err == io.EOF {
		if frames > 0 {
			return frames, io.ErrUnexpectedEOF
		}
		return 0, io.EOF
	}
	return frames, err
}
