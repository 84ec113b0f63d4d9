package sources

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "wav",
		Kind:    pipeline.KindSource,
		Summary: "play a WAV file: PCM 8-32 bit, float, A-law, µ-law, RF64 (- reads standard input)",
		Example: "wav prompt.wav | resample 8k | wav prompt-8k.wav",
		Details: wavDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the WAV file to play, or - for standard input"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) { return WAV(a.String("path")), nil },
	})
}

// WAV returns an Opener that opens the WAV file at path, buffered, and
// decodes it with DecodeWAV. The path "-" reads standard input, which is
// not closed. Every call of the Opener opens the file anew.
func WAV(path string) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		rc, err := openPath(ctx, path)
		if err != nil {
			return nil, err
		}
		return decodeWAV(bufio.NewReaderSize(rc, 64<<10), rc, inputSize(rc))
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

// WAV format tags and the GUID tail of the WAVE_FORMAT_EXTENSIBLE
// subformats that stand for them.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagULaw       = 0x0007
	tagExtensible = 0xFFFE
)

var guidTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// formatNames names the compressed encodings that users meet most, for the
// "unsupported encoding" error.
var formatNames = map[uint16]string{
	0x0002: "ADPCM", 0x0011: "IMA ADPCM", 0x0022: "TrueSpeech", 0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM", 0x0045: "G.726 ADPCM", 0x0050: "MPEG audio", 0x0055: "MP3",
	0x0092: "AC-3 (S/PDIF)", 0x00FF: "AAC", 0x0161: "WMA", 0x0162: "WMA Pro",
	0x0163: "WMA Lossless", 0x1610: "AAC", 0x2000: "AC-3", 0x2001: "DTS", 0xF1AC: "FLAC",
}

const convertHint = "convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav"

func unsupportedTag(tag uint16) error {
	if name, ok := formatNames[tag]; ok {
		return fmt.Errorf("wav: unsupported encoding %s (format tag %d); %s", name, tag, convertHint)
	}
	return fmt.Errorf("wav: unsupported encoding (format tag %d, 0x%04X); %s", tag, tag, convertHint)
}

// sampleKind says how the bytes of one sample turn into a float.
type sampleKind int

const (
	kindInt   sampleKind = iota // signed integer, unsigned when the container is one byte
	kindFloat                   // IEEE float
	kindALaw
	kindULaw
)

// wavEncoding is what the fmt chunk says about the samples.
type wavEncoding struct {
	kind      sampleKind
	container int  // bytes per sample
	valid     int  // valid bits per sample (integers)
	right     bool // integers stored in the low bits of the container (see detectJustification)
}

// chunkReader reads the header of a WAV stream, counting bytes.
type chunkReader struct {
	r   io.Reader
	pos int64
}

func (c *chunkReader) full(b []byte) error {
	n, err := io.ReadFull(c.r, b)
	c.pos += int64(n)
	return err
}

func (c *chunkReader) skip(n int64) error {
	var got int64
	var err error
	if d, ok := c.r.(interface{ Discard(int) (int, error) }); ok && n <= math.MaxInt32 {
		var k int
		k, err = d.Discard(int(n))
		got = int64(k)
	} else {
		got, err = io.CopyN(io.Discard, c.r, n)
	}
	c.pos += got
	if got < n && err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// headerErr turns a read error inside the header into a decoder error.
func headerErr(where string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("wav: truncated file (it ends %s)", where)
	}
	return fmt.Errorf("wav: reading %s: %w", where, err)
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

// parseWAV reads the header up to the first byte of the data chunk's
// audio and returns a source positioned there.
func parseWAV(r io.Reader, avail int64) (*wavSource, error) {
	cr := &chunkReader{r: r}
	var head [12]byte
	if err := cr.full(head[:]); err != nil {
		if cr.pos == 0 && err == io.EOF {
			return nil, errors.New("wav: empty input")
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errors.New("wav: not a WAV file (too short for a RIFF header)")
		}
		return nil, fmt.Errorf("wav: reading the RIFF header: %w", err)
	}
	riff := string(head[0:4])
	switch riff {
	case "RIFF", "RF64", "BW64":
	case "RIFX", "FFIR":
		return nil, errors.New("wav: big-endian RIFX files are not supported; " + convertHint)
	default:
		return nil, fmt.Errorf("wav: not a WAV file (it starts with %q, not RIFF)", head[0:4])
	}
	if string(head[8:12]) != "WAVE" {
		return nil, fmt.Errorf("wav: not a WAVE file (RIFF form %q)", head[8:12])
	}
	rf64 := riff != "RIFF"

	var (
		enc      wavEncoding
		f        pipeline.Format
		haveFmt  bool
		ds64Data int64 = -1
	)
	for chunk := 0; ; chunk++ {
		var ch [8]byte
		if err := cr.full(ch[:]); err != nil {
			if err == io.EOF && haveFmt {
				return nil, errors.New("wav: no data chunk")
			}
			if err == io.EOF {
				return nil, errors.New("wav: no fmt chunk")
			}
			return nil, headerErr("inside a chunk header", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch {
		case id == "ds64" && rf64 && chunk == 0:
			if size < 24 {
				return nil, fmt.Errorf("wav: ds64 chunk too short (%d bytes)", size)
			}
			var b [24]byte
			if err := cr.full(b[:]); err != nil {
				return nil, headerErr("inside the ds64 chunk", err)
			}
			if d := binary.LittleEndian.Uint64(b[8:16]); d <= math.MaxInt64 {
				ds64Data = int64(d)
			}
			if err := cr.skip(size - 24 + size&1); err != nil {
				return nil, headerErr("inside the ds64 chunk", err)
			}
		case id == "fmt " && !haveFmt:
			var err error
			f, enc, err = parseFmt(cr, size)
			if err != nil {
				return nil, err
			}
			haveFmt = true
		case id == "data":
			if !haveFmt {
				return nil, errors.New("wav: data chunk before the fmt chunk (not supported)")
			}
			dataSize := size
			switch {
			case size == 0xFFFFFFFF && rf64 && ds64Data > 0:
				dataSize = ds64Data
			case size == 0xFFFFFFFF || size == 0:
				dataSize = -1 // until the end of the input
			}
			if avail >= 0 {
				rest := max(avail-cr.pos, 0)
				if dataSize < 0 || dataSize > rest {
					dataSize = rest
				}
			}
			s, err := newWAVSource(r, f, enc, dataSize)
			if s != nil {
				s.dataStart = cr.pos
			}
			return s, err
		default:
			if err := cr.skip(size + size&1); err != nil {
				if haveFmt {
					return nil, headerErr(fmt.Sprintf("inside a %q chunk, before any data chunk", ch[0:4]), err)
				}
				return nil, headerErr(fmt.Sprintf("inside a %q chunk, before the fmt chunk", ch[0:4]), err)
			}
		}
	}
}

// parseFmt reads a fmt chunk of the given size.
func parseFmt(cr *chunkReader, size int64) (pipeline.Format, wavEncoding, error) {
	var f pipeline.Format
	var enc wavEncoding
	if size < 16 {
		return f, enc, fmt.Errorf("wav: fmt chunk too short (%d bytes)", size)
	}
	var b [40]byte
	n := min(size, 40)
	if err := cr.full(b[:n]); err != nil {
		return f, enc, headerErr("inside the fmt chunk", err)
	}
	if err := cr.skip(size - n + size&1); err != nil {
		return f, enc, headerErr("inside the fmt chunk", err)
	}
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	channels := int(le.Uint16(b[2:4]))
	rate := le.Uint32(b[4:8])
	blockAlign := int(le.Uint16(b[12:14]))
	bits := int(le.Uint16(b[14:16]))
	if rate < 1 || rate > pipeline.MaxRate {
		// Checked before the conversion to int, so the message shows the
		// header's value whatever the size of int.
		return f, enc, fmt.Errorf("wav: sample rate %d Hz out of range 1..%d", rate, pipeline.MaxRate)
	}
	f = pipeline.Format{Rate: int(rate), Channels: channels}
	if err := f.Validate(); err != nil {
		return f, enc, fmt.Errorf("wav: %v", err)
	}
	extensible := tag == tagExtensible
	validBits := 0
	if extensible {
		if n < 40 || le.Uint16(b[16:18]) < 22 {
			return f, enc, errors.New("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
		}
		validBits = int(le.Uint16(b[18:20]))
		guid := b[24:40]
		if [14]byte(guid[2:16]) != guidTail {
			return f, enc, fmt.Errorf("wav: unsupported WAVE_FORMAT_EXTENSIBLE subformat %s; %s", guidString(guid), convertHint)
		}
		tag = le.Uint16(guid[0:2])
	}
	// whole checks that the block align, when given, holds exactly the
	// channels' containers of the given size.
	whole := func(container int) error {
		if blockAlign == 0 || blockAlign == container*channels {
			return nil
		}
		sample := fmt.Sprintf("%d bits", bits)
		if container*8 != bits {
			sample += fmt.Sprintf(" in %d bytes", container)
		}
		chans, take := fmt.Sprintf("%d channels", channels), "take"
		if channels == 1 {
			chans, take = "1 channel", "takes"
		}
		return fmt.Errorf("wav: invalid fmt chunk (block align %d bytes, but %s of %s %s %d bytes per frame)",
			blockAlign, chans, sample, take, container*channels)
	}
	if bits == 0 && (tag == tagPCM || tag == tagFloat) {
		return f, enc, errors.New("wav: invalid fmt chunk (0 bits per sample)")
	}
	switch tag {
	case tagPCM:
		enc.kind = kindInt
		if extensible {
			if bits%8 != 0 {
				return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d-bit container)", bits)
			}
			enc.container = bits / 8
			enc.valid = validBits
			if enc.valid == 0 {
				enc.valid = bits
			}
		} else {
			// WAVEFORMATEX gives the valid bits; the block align tells the
			// container (24 bits in 4 bytes, 12 bits in 2).
			enc.container = (bits + 7) / 8
			if blockAlign != 0 && blockAlign%channels == 0 && blockAlign/channels > enc.container && blockAlign/channels <= 4 {
				enc.container = blockAlign / channels
			}
			enc.valid = bits
		}
		if enc.container > 4 {
			return f, enc, fmt.Errorf("wav: unsupported %d-bit integer PCM; %s", enc.container*8, convertHint)
		}
		if enc.valid > enc.container*8 {
			return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d valid bits in a %d-bit container)", enc.valid, enc.container*8)
		}
		if err := whole(enc.container); err != nil {
			return f, enc, err
		}
	case tagFloat:
		if bits != 32 && bits != 64 {
			return f, enc, fmt.Errorf("wav: unsupported %d-bit float; %s", bits, convertHint)
		}
		enc = wavEncoding{kind: kindFloat, container: bits / 8, valid: bits}
		if err := whole(enc.container); err != nil {
			return f, enc, err
		}
	case tagALaw, tagULaw:
		if bits != 8 {
			return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d-bit G.711)", bits)
		}
		enc = wavEncoding{kind: kindALaw, container: 1, valid: 8}
		if tag == tagULaw {
			enc.kind = kindULaw
		}
		if err := whole(1); err != nil {
			return f, enc, err
		}
	default:
		return f, enc, unsupportedTag(tag)
	}
	return f, enc, nil
}

func guidString(g []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", le.Uint32(g[0:4]), le.Uint16(g[4:6]), le.Uint16(g[6:8]), g[8:10], g[10:16])
}

// wavSource decodes the data chunk. Bytes read from r wait in buf[off:end];
// at most one partial frame stays there between reads.
type wavSource struct {
	r         io.Reader
	c         io.Closer
	format    pipeline.Format
	enc       wavEncoding
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

func newWAVSource(r io.Reader, f pipeline.Format, enc wavEncoding, dataSize int64) (*wavSource, error) {
	s := &wavSource{r: r, format: f, enc: enc, block: enc.container * f.Channels, remaining: dataSize, frames: -1}
	if dataSize >= 0 {
		s.frames = dataSize / int64(s.block)
	}
	size := wavBufSize
	if dataSize >= 0 && dataSize < int64(size) {
		size = max(int(dataSize), s.block)
	}
	s.buf = make([]byte, size)
	if enc.kind == kindInt && enc.valid < enc.container*8 && enc.container > 1 {
		// Look at the start of the audio to tell how the valid bits sit in
		// their containers.
		if err := s.prefill(); err != nil {
			return nil, err
		}
		s.enc.right = detectRightJustified(s.buf[s.off:s.end], enc.container, enc.valid)
	}
	s.decode = decoderFor(s.enc)
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

// detectRightJustified tells how integers with fewer valid bits than their
// container are stored in data, a run of samples from the start of the
// audio. The WAVE specification puts the valid bits in the high bits of
// the container and zeroes the pad bits below them; some writers (hound,
// for 24 bits in 4 bytes) put them in the low bits, with the high bits
// zero or a sign extension. It reports the second layout only when a
// non-zero sample has a pad bit set below the valid bits and every sample
// fits in the low bits: the specification's layout is the default.
func detectRightJustified(data []byte, container, valid int) bool {
	pad := uint(container*8 - valid)
	lowMask := uint32(1)<<pad - 1
	padded := false
	for i := 0; i+container <= len(data); i += container {
		var u uint32
		for k := 0; k < container; k++ {
			u |= uint32(data[i+k]) << (8 * uint(k))
		}
		u <<= uint(32 - container*8) // the sample in the high bits of 32
		if u == 0 {
			continue
		}
		if u>>uint(32-container*8)&lowMask != 0 {
			padded = true
		}
		// Right-justified: the top pad bits (and the sign bit below them)
		// are all equal, or the top pad bits are all zero.
		top := int32(u) >> (31 - pad) // pad+1 bits, sign-extended
		if top != 0 && top != -1 && u>>(32-pad) != 0 {
			return false
		}
	}
	return padded
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

// decoderFor returns the kernel that turns bytes of enc into floats.
func decoderFor(enc wavEncoding) func(dst []float32, src []byte) {
	switch enc.kind {
	case kindFloat:
		if enc.container == 8 {
			return decodeF64
		}
		return decodeF32
	case kindALaw:
		return tableDecoder(&aLawTable)
	case kindULaw:
		return tableDecoder(&uLawTable)
	}
	if enc.right {
		return rightDecoder(enc.container, enc.valid)
	}
	switch {
	case enc.container == 1:
		return tableDecoder(u8Table(enc.valid))
	case enc.container == 2 && enc.valid == 16:
		return decodeS16
	case enc.container == 3 && enc.valid == 24:
		return decodeS24
	case enc.container == 4 && enc.valid == 32:
		return decodeS32
	}
	return leftDecoder(enc.container, enc.valid)
}

var aLawTable, uLawTable [256]float32

func init() {
	for i := range 256 {
		aLawTable[i] = float32(g711.ALawToLinear[i]) / 32768
		uLawTable[i] = float32(g711.ULawToLinear[i]) / 32768
	}
}

// u8Table maps unsigned 8-bit samples with the given valid (high) bits.
func u8Table(valid int) *[256]float32 {
	var t [256]float32
	mask := byte(0xFF) << uint(8-valid)
	for i := range 256 {
		t[i] = float32(int(byte(i)&mask)-128) / 128
	}
	return &t
}

func tableDecoder(t *[256]float32) func(dst []float32, src []byte) {
	return func(dst []float32, src []byte) {
		src = src[:len(dst)]
		for i, b := range src {
			dst[i] = t[b]
		}
	}
}

func decodeS16(dst []float32, src []byte) {
	for i := range dst {
		b := (*[2]byte)(src[2*i:])
		dst[i] = float32(int16(uint16(b[0])|uint16(b[1])<<8)) * (1.0 / 32768)
	}
}

func decodeS24(dst []float32, src []byte) {
	for i := range dst {
		b := (*[3]byte)(src[3*i:])
		v := int32(uint32(b[0])<<8 | uint32(b[1])<<16 | uint32(b[2])<<24)
		dst[i] = float32(v>>8) * (1.0 / 8388608)
	}
}

func decodeS32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(int32(binary.LittleEndian.Uint32((*[4]byte)(src[4*i:])[:]))) * (1.0 / 2147483648)
	}
}

// leftDecoder decodes integers whose valid bits fill the high bits of a
// container of 2 to 4 bytes; the pad bits below them are ignored.
func leftDecoder(container, valid int) func(dst []float32, src []byte) {
	mask := ^uint32(0) << uint(32-valid)
	shift := uint(32 - container*8)
	return func(dst []float32, src []byte) {
		src = src[:container*len(dst)]
		for i := range dst {
			var u uint32
			for k := range container {
				u |= uint32(src[i*container+k]) << (8 * uint(k))
			}
			dst[i] = float32(int32(u<<shift&mask)) * (1.0 / 2147483648)
		}
	}
}

// rightDecoder decodes integers whose valid bits fill the low bits of
// their container, sign-extending from the top valid bit.
func rightDecoder(container, valid int) func(dst []float32, src []byte) {
	shift := uint(32 - valid)
	scale := float32(1 / math.Ldexp(1, valid-1))
	return func(dst []float32, src []byte) {
		src = src[:container*len(dst)]
		for i := range dst {
			var u uint32
			for k := range container {
				u |= uint32(src[i*container+k]) << (8 * uint(k))
			}
			dst[i] = float32(int32(u<<shift)>>shift) * scale
		}
	}
}

// Float samples keep values beyond ±1 (a later gain can bring them back;
// sinks clamp). NaN becomes 0 and infinities ±1.
func decodeF32(dst []float32, src []byte) {
	for i := range dst {
		x := math.Float32frombits(binary.LittleEndian.Uint32((*[4]byte)(src[4*i:])[:]))
		if x-x != 0 {
			x = finite(float64(x))
		}
		dst[i] = x
	}
}

func decodeF64(dst []float32, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		x := math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
		y := float32(x)
		if y-y != 0 {
			y = finite(x) // NaN, infinite, or beyond float32's range
		}
		dst[i] = y
	}
}

func finite(x float64) float32 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0 // NaN
}
