// Package flac decodes FLAC streams into interleaved float32 samples, one
// frame at a time, over github.com/mewkiz/flac, and covers that library's
// defects: its panics become errors, ID3v2 tags of any number and size
// (footers included) are skipped before it sees the stream, frames that
// leave the sample size or rate to STREAMINFO get them filled in, frames
// that change the channel count, sample size or rate mid-stream are
// refused rather than misread, a stream that ends early is an error even
// when it ends between frames, and the MD5 signature of STREAMINFO, which
// the library never checks, is checked at the end.
package flac

import (
	"bufio"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	mflac "github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
)

// MaxBits is the largest sample size the decoder reads: mewkiz/flac treats
// the frame header's code for 32 bits as reserved and keeps the side
// channel of a 32-bit stereo frame (33 bits) in an int32.
const MaxBits = 24

// Info describes a FLAC stream, from its STREAMINFO block.
type Info struct {
	Rate     int   // samples per second
	Channels int   // 1 to 8
	Bits     int   // bits per sample, 4 to MaxBits
	Samples  int64 // samples per channel, -1 when STREAMINFO leaves it unknown (0)
}

// Decoder reads the audio of a FLAC stream. It holds one decoded frame at
// a time.
type Decoder struct {
	cr    countingReader
	br    *bufio.Reader
	info  Info
	scale float32

	subs     [8][]int32 // the current frame's samples, per channel
	pos, blk int        // next sample of the current frame, and its size
	frames   int64      // frames decoded
	decoded  int64      // samples per channel decoded
	err      error      // sticky: io.EOF or the error that ended the stream
	patch    ratePatch  // the change made to the current frame's header
	lim      frameReader
	maxFrame int64 // the most bytes the current frame may take

	frameSizeMax int64 // STREAMINFO's largest frame, 0 if unknown

	md5     hash.Hash // nil when STREAMINFO has no signature
	want    [md5.Size]byte
	md5buf  []byte
	md5size int // bytes per sample in the signature
}

// countingReader counts the bytes read from r, for the offsets in errors.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// frameReader reads at most n bytes of one frame from r.
type frameReader struct {
	r io.Reader
	n int64
}

func (l *frameReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errFrameTooLong
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errFrameTooLong = errors.New("frame too long")

// headerMax bounds the size of a frame header (16 bytes at most) and of the
// subframe headers and padding of a frame.
const headerMax = 1 << 10

// NewDecoder reads the ID3v2 tags, if any, the "fLaC" signature and the
// metadata blocks of the stream in r, and returns a Decoder positioned at
// its first audio frame. It reads r through a buffer.
func NewDecoder(r io.Reader) (d *Decoder, err error) {
	d = &Decoder{cr: countingReader{r: r}}
	// mewkiz/flac wraps its reader in a bufio.Reader of the default size
	// unless it is given one at least that large: give it ours, so that the
	// offsets of frames are known.
	d.br = bufio.NewReaderSize(&d.cr, 64<<10)
	if err := skipID3v2(d.br); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("flac: the decoder failed on the header: %v", p)
		}
	}()
	stream, err := mflac.New(d.br)
	if err != nil {
		return nil, headerError(err)
	}
	si := stream.Info
	d.info = Info{Rate: int(si.SampleRate), Channels: int(si.NChannels), Bits: int(si.BitsPerSample), Samples: int64(si.NSamples)}
	if si.NSamples == 0 {
		d.info.Samples = -1
	}
	if d.info.Bits < 4 || d.info.Bits > MaxBits {
		return nil, fmt.Errorf("flac: %d-bit samples are not supported (the decoder reads 4 to %d bits); convert with: ffmpeg -i IN -c:a pcm_s32le OUT.wav", d.info.Bits, MaxBits)
	}
	d.scale = 1 / float32(int64(1)<<(d.info.Bits-1))
	d.frameSizeMax = int64(si.FrameSizeMax)
	if si.MD5sum != ([md5.Size]byte{}) {
		d.md5, d.want = md5.New(), si.MD5sum
		d.md5size = (d.info.Bits + 7) / 8
		d.md5buf = make([]byte, int(si.BlockSizeMax)*d.info.Channels*d.md5size)
	}
	return d, nil
}

// Info returns what STREAMINFO says about the stream.
func (d *Decoder) Info() Info { return d.info }

// Read decodes up to len(p)/Channels frames of interleaved samples into p,
// each sample divided by 2^(Bits-1), so that they lie in [-1, 1). It
// follows the io.Reader rules: at the end it returns io.EOF, possibly with
// the last samples; an error ends the stream after the samples before it.
func (d *Decoder) Read(p []float32) (int, error) {
	ch := d.info.Channels
	want := len(p) / ch
	n := 0
	for n < want {
		if d.pos == d.blk {
			if d.err != nil {
				break
			}
			d.next()
			continue
		}
		k := min(want-n, d.blk-d.pos)
		out := p[n*ch : (n+k)*ch]
		for c := range ch {
			for i, v := range d.subs[c][d.pos : d.pos+k] {
				out[i*ch+c] = float32(v) * d.scale
			}
		}
		d.pos += k
		n += k
	}
	if d.pos == d.blk && d.err != nil {
		return n, d.err
	}
	return n, nil
}

// Err returns the error that ended the stream: nil while it lasts, io.EOF
// after its end.
func (d *Decoder) Err() error { return d.err }

// offset returns how many bytes of the input have been consumed.
func (d *Decoder) offset() int64 { return d.cr.n - int64(d.br.Buffered()) }

// next decodes the next frame into d.subs, or sets d.err.
func (d *Decoder) next() {
	start := d.offset()
	f, err := d.parseFrame(start)
	if err == io.EOF && d.offset() == start {
		d.err = d.finish()
		return
	}
	if err != nil && d.info.Samples > 0 && d.decoded == d.info.Samples {
		// Every sample STREAMINFO declares is there: what follows is not
		// audio (an ID3v1 or APE tag, junk), which other decoders ignore too.
		d.err = d.finish()
		return
	}
	if err != nil {
		d.err = d.frameError(start, err)
		return
	}
	d.frames++
	d.blk, d.pos = int(f.BlockSize), 0
	for c, sub := range f.Subframes {
		d.subs[c] = sub.Samples
	}
	d.decoded += int64(d.blk)
	if d.md5 != nil {
		d.hash()
	}
}

// parseFrame reads the next frame with mewkiz/flac, turning its panics into
// errors, and checks that the frame agrees with STREAMINFO.
func (d *Decoder) parseFrame(start int64) (f *frame.Frame, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("the decoder failed: %v", p)
		}
	}()
	d.patch.patchRate(d.br)
	// Each frame is read through a limit, so that a corrupt frame cannot
	// make the decoder read the rest of the file bit by bit.
	d.maxFrame = headerMax
	d.lim = frameReader{r: d.br, n: d.maxFrame}
	f, err = frame.New(&d.lim)
	if err != nil {
		return nil, err
	}
	// The largest frame of this block size: twice the block stored
	// verbatim, or twice STREAMINFO's largest frame, if more.
	d.maxFrame = max(headerMax+2*int64(d.info.Channels)*(int64(f.BlockSize)*int64(d.info.Bits+1)+7)/8, 2*d.frameSizeMax)
	d.lim.n += d.maxFrame - headerMax
	// The header may leave the sample size and rate to STREAMINFO (0);
	// mewkiz/flac would then decode with 0 bits per sample.
	if f.BitsPerSample == 0 {
		f.BitsPerSample = uint8(d.info.Bits)
	}
	switch {
	case f.Channels.Count() != d.info.Channels:
		return nil, fmt.Errorf("the frame has %d channels, the stream %d", f.Channels.Count(), d.info.Channels)
	case int(f.BitsPerSample) != d.info.Bits:
		return nil, fmt.Errorf("the frame has %d-bit samples, the stream %d-bit", f.BitsPerSample, d.info.Bits)
	case f.SampleRate != 0 && int(f.SampleRate) != d.info.Rate:
		return nil, fmt.Errorf("the frame is at %d Hz, the stream at %d Hz", f.SampleRate, d.info.Rate)
	}
	if err := f.Parse(); err != nil && !(d.patch.active && d.patch.explains(err, d.offset()-start)) {
		return nil, err
	}
	for _, sub := range f.Subframes {
		if len(sub.Samples) != int(f.BlockSize) {
			return nil, fmt.Errorf("a subframe has %d samples, the frame %d", len(sub.Samples), f.BlockSize)
		}
	}
	return f, nil
}

// hash adds the current frame's samples to the MD5 signature, as the
// reference encoder computes it: interleaved, little-endian, in whole bytes.
func (d *Decoder) hash() {
	ch, size := d.info.Channels, d.md5size
	need := d.blk * ch * size
	if len(d.md5buf) < need {
		d.md5buf = make([]byte, need)
	}
	b := d.md5buf[:need]
	for c := range ch {
		sub := d.subs[c][:d.blk]
		i := c * size
		step := ch * size
		switch size {
		case 1:
			for _, v := range sub {
				b[i] = byte(v)
				i += step
			}
		case 2:
			for _, v := range sub {
				_ = b[i+1]
				b[i], b[i+1] = byte(v), byte(v>>8)
				i += step
			}
		default:
			for _, v := range sub {
				_ = b[i+2]
				b[i], b[i+1], b[i+2] = byte(v), byte(v>>8), byte(v>>16)
				i += step
			}
		}
	}
	d.md5.Write(b)
}

// finish checks the stream that ended between two frames against its
// STREAMINFO: its length and its MD5 signature.
func (d *Decoder) finish() error {
	if d.info.Samples > 0 && d.decoded < d.info.Samples {
		return fmt.Errorf("flac: the stream ends after %d of the %d samples its header declares (at %s): the file is truncated",
			d.decoded, d.info.Samples, d.at())
	}
	if d.frames == 0 {
		return errors.New("flac: the stream has no audio frames")
	}
	if d.md5 != nil && (d.info.Samples < 0 || d.decoded == d.info.Samples) {
		var sum [md5.Size]byte
		if d.md5.Sum(sum[:0]); sum != d.want {
			return fmt.Errorf("flac: the decoded audio does not match the MD5 signature in the header (%x, decoded %x): the file is corrupt", d.want, sum)
		}
	}
	return io.EOF
}

// at returns the time of the next sample to decode.
func (d *Decoder) at() time.Duration {
	return (time.Duration(d.decoded) * time.Second / time.Duration(d.info.Rate)).Round(time.Millisecond)
}

// frameError describes an error in the frame that starts at byte start.
func (d *Decoder) frameError(start int64, err error) error {
	where := fmt.Sprintf("frame %d (at %s, byte %d)", d.frames+1, d.at(), start)
	switch {
	case errors.Is(err, errFrameTooLong) || d.lim.n <= 0:
		return fmt.Errorf("flac: %s: corrupt: no end within %d bytes", where, d.maxFrame)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("flac: the file ends inside %s: it is truncated, or the frame is corrupt", where)
	}
	msg := reason(err)
	if strings.Contains(msg, "checksum mismatch") {
		msg += ": the frame is corrupt"
	}
	return fmt.Errorf("flac: %s: %s", where, msg)
}

// headerError describes an error in the signature or metadata blocks.
func headerError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("flac: the file ends inside its header: it is truncated")
	}
	return fmt.Errorf("flac: invalid header: %s", reason(err))
}

// reason returns the message of err without the "package.Function: "
// prefix that mewkiz/flac puts before its own.
func reason(err error) string {
	msg := err.Error()
	for {
		head, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(head, " ()") || !strings.Contains(head, ".") {
			return msg
		}
		msg = rest
	}
}
