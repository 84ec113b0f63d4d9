package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

// MP3 returns an Opener that opens the MPEG Layer III file at path and
// decodes it with DecodeMP3. Within a loop, a file that is deleted,
// truncated or no longer decodable plays again the audio the loop's
// earlier iterations played, as with File.
func MP3(path string) pipeline.Opener {
	open := func(ctx context.Context) (io.ReadCloser, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, mp3.ReadError(err)
		}
		return f, nil
	}
	decode := func(rc io.ReadCloser) (pipeline.Source, error) {
		src, err := DecodeMP3(rc)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return src, nil
	}
	return func(ctx context.Context) (pipeline.Source, error) {
		if m := keep.From(ctx); m != nil {
			return openKept(ctx, m, opening{kind: "mp3", path: path, open: open, decode: decode, decodeCopy: DecodeMP3})
		}
		rc, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return decode(rc)
	}
}

// DecodeMP3 decodes an MPEG-1 or MPEG-2 (LSF) Layer III stream from r with
// github.com/hajimehoshi/go-mp3. The Source has the stream's sample rate
// and the channel count of its first frame: 1 for single-channel files
// (later stereo frames, if any, are mixed down), else 2. Closing it closes r
// if r is an io.Closer.
//
// Tags: ID3v2 tags at the start (several, with or without footer) are
// skipped, and ID3v1, APEv2 and Lyrics3v2 tags at the end: found from the
// end of the data when r is an io.ReadSeeker (like ffmpeg), else where the
// frames stop. Junk between frames is skipped the way ffmpeg and mpg123
// resynchronize: the next header of the same stream that another frame, a
// tag or the end follows.
//
// Gapless playback: a Xing, Info or VBRI frame at the start is not audio.
// When it carries a LAME extension (LAME and ffmpeg write one), the encoder
// delay and padding it records are trimmed exactly as ffmpeg trims them:
// delay+529 samples at the start and padding-529 at the end, so the output
// is the audio that was encoded, sample for sample, and a loop of it is
// seamless. Without a LAME extension nothing is trimmed, as with ffmpeg.
//
// The Source implements pipeline.Lengther: Frames returns the length the
// Xing/Info frame gives (frames × samples per frame − delay − padding), 0
// for a stream without audio frames, and -1 when there is no frame count
// or, for a seekable r, when the tag's byte count does not match the data
// (files joined or cut: the padding of the first part is still trimmed).
// A stream without a Xing/Info frame in an r that is an io.ReaderAt and an
// io.Seeker (a file) is measured the first time Frames is called, by
// walking its frame headers without decoding them.
//
// go-mp3 gets the length of padded MPEG-2 frames one byte short and decodes
// frames without their bit reservoir from the wrong bytes; the frames are
// rebuilt so that it decodes them as ffmpeg does. A
// frame whose reservoir is missing (a stream cut in the middle) decodes as
// silence. A last frame cut short is dropped.
//
// Errors: MPEG-2.5, Layer I and II and free-format streams, which go-mp3
// cannot decode, get an error that says how to convert them; data without
// an MPEG audio stream is an error; a stream with only a Xing/Info frame is
// empty. A frame go-mp3 fails or panics on ends the stream, after the audio
// before it, with an error naming the frame's number and byte offset.
func DecodeMP3(r io.Reader) (pipeline.Source, error) {
	ra, base, size := mp3Whole(r)
	return decodeMP3(r, ra, base, size)
}

// mp3Whole returns r as an io.ReaderAt with its current offset and the
// bytes from there to its end, when r is a file or another io.ReaderAt and
// io.Seeker; otherwise a nil ReaderAt.
func mp3Whole(r io.Reader) (ra io.ReaderAt, base, size int64) {
	at, okAt := r.(io.ReaderAt)
	sk, okSeek := r.(io.Seeker)
	if !okAt || !okSeek {
		return nil, 0, -1
	}
	base, err := sk.Seek(0, io.SeekCurrent)
	if size = inputSize(r); err != nil || size <= 0 {
		return nil, 0, -1
	}
	return at, base, size
}

// decodeMP3 is DecodeMP3 with the data also readable at random from ra
// (nil if it is not): size bytes from base. Frames then counts the frames
// of a stream without a Xing/Info header.
func decodeMP3(r io.Reader, ra io.ReaderAt, base, size int64) (pipeline.Source, error) {
	audioLen := int64(-1)
	if ra != nil {
		// r is buffered, so newMP3Source cannot seek to find where the
		// MPEG data ends: find it here, so that a Xing header that does
		// not describe the data (a truncated or joined file) is caught.
		if end, ok, err := mp3.AudioEnd(io.NewSectionReader(ra, base, size), 0); err == nil && ok {
			audioLen = end
		}
	}
	d, err := newMP3Source(r, base, audioLen)
	if err == nil && d.length < 0 && !d.scan.HasTag() && ra != nil {
		d.recount = func() int64 { return mp3.CountSamples(io.NewSectionReader(ra, base, size)) }
	}
	if err != nil {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		return nil, err
	}
	return d, nil
}

// mp3Source is the Source DecodeMP3 returns.
type mp3Source struct {
	in     io.Reader
	scan   *mp3.Scanner
	feed   mp3Feed
	dec    *gomp3.Decoder
	format pipeline.Format
	base   int64 // offset of the stream in r, for error messages
	length int64

	pcm            [4 * 1152]byte // one frame of go-mp3 output: s16le stereo
	pcmPos, pcmLen int            // in stereo frames
	raw            int64          // decoder output position of pcm[0], in frames

	// Gapless trimming, in decoder output positions: samples before skip
	// and in [endPos, discardTo) are dropped.
	skip              int64
	endPos, discardTo int64
	hasEnd            bool

	err    error // sticky: io.EOF or the error that ended the stream
	closed bool

	// recount, when set, measures a stream without a Xing/Info header by
	// walking its frames (once, the first time Frames is asked).
	recount func() int64
}

var errMP3ReadAfterClose = errors.New("mp3: read after Close")

// mp3Feed is the io.Reader go-mp3 decodes from: the scanner's frames, one
// after the other, and nothing else.
type mp3Feed struct {
	scan *mp3.Scanner
	cur  []byte
	err  error // a read error from the underlying reader
}

func (f *mp3Feed) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		b, err := f.scan.Next()
		if err != nil {
			if err != io.EOF {
				err = mp3.ReadError(err)
			}
			f.err = err
			return 0, err
		}
		f.cur = b
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

// newMP3Source starts decoding r. audioLen is how many bytes of MPEG data
// r holds from its position (base, in the file, for messages), before any
// trailing tags, or -1 if unknown; then r is measured if it can seek.
func newMP3Source(r io.Reader, base, audioLen int64) (*mp3Source, error) {
	d := &mp3Source{in: r, length: -1}
	src := r
	if audioLen >= 0 {
		d.base = base
		src = io.LimitReader(r, audioLen)
	} else if rs, ok := r.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			end, ok, err := mp3.AudioEnd(rs, start)
			if err != nil {
				return nil, mp3.ReadError(err)
			}
			if ok {
				d.base = start
				audioLen = max(end-start, 0)
				src = io.LimitReader(r, audioLen)
			}
		}
	}
	d.scan = mp3.NewScanner(src)
	h, err := d.scan.Start()
	if err != nil {
		return nil, err
	}
	d.format = pipeline.Format{Rate: h.Rate, Channels: 2}
	if h.Mono {
		d.format.Channels = 1
	}
	d.feed.scan = d.scan
	first, err := d.scan.Next()
	switch {
	case err == io.EOF:
		d.err = io.EOF // only a tag frame, or a cut frame: an empty stream
	case err != nil:
		return nil, mp3.ReadError(err)
	default:
		d.feed.cur = first
		if err := d.newDecoder(); err != nil {
			return nil, err
		}
	}

	sc := d.scan
	if sc.HasTag() {
		spf := int64(h.SamplesPerFrame())
		g := sc.Tag()
		if g.LAME {
			d.skip = int64(g.Delay) + mp3.DecoderDelay
		}
		if g.Frames > 0 {
			n := g.Frames * spf
			if g.LAME {
				d.hasEnd = true
				d.discardTo = n
				d.endPos = n - int64(g.Padding) + mp3.DecoderDelay
				n -= int64(g.Delay + g.Padding)
			}
			d.length = max(n, 0)
			if audioLen >= 0 && g.Bytes > 0 && g.Bytes != audioLen-g.TagOffset {
				d.length = -1 // the header does not describe all of this data
			}
		}
	}
	if d.dec == nil {
		d.length = 0 // no audio frame
	}
	return d, nil
}

// newDecoder starts go-mp3 on the feed; it decodes the first frame.
func (d *mp3Source) newDecoder() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = d.frameError(fmt.Errorf("decoder panic: %v", r))
		}
	}()
	dec, err := gomp3.NewDecoder(&d.feed)
	if err != nil {
		if d.feed.err != nil && d.feed.err != io.EOF {
			return d.feed.err
		}
		return d.frameError(err)
	}
	d.dec = dec
	return nil
}

// decode reads the next frame of PCM from go-mp3 into d.pcm.
func (d *mp3Source) decode() (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, d.frameError(fmt.Errorf("decoder panic: %v", r))
		}
	}()
	n, err = d.dec.Read(d.pcm[:])
	if err != nil && err != io.EOF {
		if d.feed.err != nil && d.feed.err != io.EOF {
			err = d.feed.err
		} else {
			err = d.frameError(err)
		}
	}
	return n, err
}

// frameError describes a failure of go-mp3 on the frame it was decoding.
func (d *mp3Source) frameError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "mp3: ")
	return fmt.Errorf("mp3: corrupt audio frame %d at byte %d: %s", d.scan.Frames(), d.base+d.scan.FrameOffset(), msg)
}

// Format returns the stream's sample rate and channel count.
func (d *mp3Source) Format() pipeline.Format { return d.format }

// Frames returns the stream's length from its Xing/Info header, or by
// counting its frames (see DecodeMP3), or -1.
func (d *mp3Source) Frames() int64 {
	if d.recount != nil {
		d.length, d.recount = d.recount(), nil
	}
	return d.length
}

// Read decodes into p. See pipeline.Source.
func (d *mp3Source) Read(p []float32) (int, error) {
	ch := d.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	want := len(p) / ch
	n := 0
	for n < want {
		b := d.take(want - n)
		if b == nil {
			break
		}
		k := len(b) / 4
		mp3Convert(p[n*ch:(n+k)*ch], b, ch)
		n += k
	}
	if n > 0 {
		if d.err == io.EOF && d.pcmPos >= d.pcmLen {
			return n, io.EOF
		}
		return n, nil // an error waits for the next call
	}
	return 0, d.err
}

// take returns the next frames of the stream, at most max, as go-mp3
// output (s16le stereo) after the gapless trim: a slice of d.pcm, valid
// until the next call. It returns nil when the stream has ended; d.err
// says why (io.EOF at the end).
func (d *mp3Source) take(max int) []byte {
	for {
		if d.pcmPos >= d.pcmLen {
			if d.err != nil {
				return nil
			}
			d.fill()
			continue
		}
		pos := d.raw + int64(d.pcmPos)
		avail := int64(d.pcmLen - d.pcmPos)
		if pos < d.skip {
			d.pcmPos += int(min(avail, d.skip-pos))
			continue
		}
		if d.hasEnd && pos >= d.endPos && pos < d.discardTo {
			d.pcmPos += int(min(avail, d.discardTo-pos))
			continue
		}
		m := min(avail, int64(max))
		if d.hasEnd && pos < d.endPos {
			m = min(m, d.endPos-pos)
		}
		k := int(m)
		b := d.pcm[4*d.pcmPos : 4*(d.pcmPos+k)]
		d.pcmPos += k
		return b
	}
}

// mp3Convert turns frames of go-mp3's output (s16le stereo) in b into
// out, which holds as many frames of ch channels: a mono stream (go-mp3
// repeats it in both channels) takes their mean.
func mp3Convert(out []float32, b []byte, ch int) {
	if ch == 1 {
		for i := range out {
			l := mp3Sample(b[4*i], b[4*i+1])
			r := mp3Sample(b[4*i+2], b[4*i+3])
			out[i] = (l + r) / 2
		}
		return
	}
	for i := range out {
		out[i] = mp3Sample(b[2*i], b[2*i+1])
	}
}

// fill decodes the next frame into d.pcm.
func (d *mp3Source) fill() {
	d.raw += int64(d.pcmLen)
	d.pcmPos, d.pcmLen = 0, 0
	if d.dec == nil {
		d.err = io.EOF
		return
	}
	n, err := d.decode()
	d.pcmLen = n / 4
	if err != nil {
		d.err = err
	}
}

// mp3Sample turns one 16-bit sample of go-mp3 (little-endian bytes lo, hi)
// back into the float it came from. go-mp3 computes int(x*32767), which
// truncates towards zero, and saturates at ±32767, so the best estimate of
// x is the middle of the step, (s ± 0.5)/32767, or ±1 when saturated.
func mp3Sample(lo, hi byte) float32 {
	s := float32(int16(uint16(lo) | uint16(hi)<<8))
	switch {
	case s >= 32767:
		return 1
	case s <= -32767:
		return -1
	case s > 0:
		s += 0.5
	case s < 0:
		s -= 0.5
	}
	return s / 32767
}

// Close closes the underlying reader if it is an io.Closer. Reading after
// Close returns an error.
func (d *mp3Source) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	d.dec = nil
	d.pcmPos, d.pcmLen = 0, 0
	d.err = errMP3ReadAfterClose
	if c, ok := d.in.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
