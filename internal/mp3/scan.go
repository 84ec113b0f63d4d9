package mp3

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file holds the MPEG audio frame scanner that sits in front of
// go-mp3: it skips tags, finds and validates frames, rejects what go-mp3
// cannot decode, reads the Xing/Info/LAME header, and hands go-mp3 nothing
// but whole Layer III frames of one stream.

// Header is a decoded MPEG audio frame header.
type Header struct {
	Version   int  // 1 (MPEG-1), 2 (MPEG-2 LSF) or 25 (MPEG-2.5)
	Layer     int  // 1, 2 or 3
	CRC       bool // a CRC follows the header
	Bitrate   int  // bits per second; 0 for free format
	Rate      int  // samples per second
	RateIndex int  // the sample rate field
	Padding   int  // the padding bit
	Mono      bool // single channel
	Size      int  // frame length in bytes; 0 for free format
}

var (
	bitrates = [2][3][15]int{ // [mpeg1, mpeg2/2.5][layer-1][index], kbit/s
		{
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		},
		{
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		},
	}
	sampleRates = [3]int{44100, 48000, 32000}
)

// ParseHeader decodes the four bytes at the start of b. It reports false
// for anything that is not a valid header (sync, version, layer, bitrate,
// sample rate). Like ffmpeg, it ignores the emphasis field, whose reserved
// value go-mp3 would reject.
func ParseHeader(b []byte) (Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return Header{}, false
	}
	var h Header
	switch (b[1] >> 3) & 3 {
	case 0:
		h.Version = 25
	case 1:
		return h, false
	case 2:
		h.Version = 2
	case 3:
		h.Version = 1
	}
	h.Layer = 4 - int((b[1]>>1)&3)
	if h.Layer == 4 {
		return h, false
	}
	h.CRC = b[1]&1 == 0
	bi := int(b[2] >> 4)
	h.RateIndex = int(b[2]>>2) & 3
	if bi == 15 || h.RateIndex == 3 {
		return h, false
	}
	h.Padding = int(b[2]>>1) & 1
	h.Mono = b[3]>>6 == 3
	h.Rate = sampleRates[h.RateIndex]
	lsf := 0
	switch h.Version {
	case 2:
		h.Rate /= 2
		lsf = 1
	case 25:
		h.Rate /= 4
		lsf = 1
	}
	h.Bitrate = bitrates[lsf][h.Layer-1][bi] * 1000
	if h.Bitrate == 0 {
		return h, true
	}
	switch {
	case h.Layer == 1:
		h.Size = (12*h.Bitrate/h.Rate + h.Padding) * 4
	case h.Layer == 3 && lsf == 1:
		h.Size = 72*h.Bitrate/h.Rate + h.Padding
	default:
		h.Size = 144*h.Bitrate/h.Rate + h.Padding
	}
	return h, true
}

// SamplesPerFrame is the number of PCM frames one MPEG frame decodes to.
func (h Header) SamplesPerFrame() int {
	switch {
	case h.Layer == 1:
		return 384
	case h.Layer == 3 && h.Version != 1:
		return 576
	}
	return 1152
}

// sideInfoSize is the length of the Layer III side information.
func (h Header) sideInfoSize() int {
	switch {
	case h.Version == 1 && h.Mono:
		return 17
	case h.Version == 1:
		return 32
	case h.Mono:
		return 9
	}
	return 17
}

// sameStream reports whether h can belong to the stream whose first frame
// is ref: same version, layer and sample rate (what ffmpeg and mpg123 also
// require) and a known frame size.
func (h Header) sameStream(ref Header) bool {
	return h.Version == ref.Version && h.Layer == ref.Layer && h.RateIndex == ref.RateIndex && h.Size > 0
}

// describe names the stream kind for error messages, e.g. "MPEG-1 Layer II".
func (h Header) describe() string {
	v := "MPEG-1"
	switch h.Version {
	case 2:
		v = "MPEG-2"
	case 25:
		v = "MPEG-2.5"
	}
	return fmt.Sprintf("%s Layer %s", v, [...]string{"", "I", "II", "III"}[h.Layer])
}

// Gapless is what the Xing/Info header and its LAME extension say.
type Gapless struct {
	Frames    int64 // number of audio frames, 0 if not given
	Bytes     int64 // length of the stream from the tag frame on, 0 if not given
	LAME      bool  // the LAME extension with encoder delay and padding is present
	Delay     int   // encoder delay in samples (LAME)
	Padding   int   // encoder padding in samples at the end (LAME)
	TagOffset int64 // byte offset of the tag frame
}

// parseVBRTag recognizes a Xing, Info or VBRI header in the first frame f
// (header h). It reports whether the frame is such a tag frame, which
// carries no audio.
func parseVBRTag(h Header, f []byte) (g Gapless, isTag bool) {
	if h.Layer != 3 {
		return g, false
	}
	if len(f) >= 40 && string(f[36:40]) == "VBRI" {
		return g, true // Fraunhofer's tag: no gapless information that ffmpeg uses
	}
	p := 4 + h.sideInfoSize() // where LAME and ffmpeg put it (no CRC)
	if len(f) < p+8 {
		return g, false
	}
	if id := string(f[p : p+4]); id != "Xing" && id != "Info" {
		return g, false
	}
	flags := binary.BigEndian.Uint32(f[p+4:])
	p += 8
	field := func() (int64, bool) {
		if len(f) < p+4 {
			return 0, false
		}
		v := int64(binary.BigEndian.Uint32(f[p:]))
		p += 4
		return v, true
	}
	if flags&1 != 0 {
		v, ok := field()
		if !ok {
			return g, true
		}
		g.Frames = v
	}
	if flags&2 != 0 {
		v, ok := field()
		if !ok {
			return g, true
		}
		g.Bytes = v
	}
	if flags&4 != 0 {
		p += 100 // seek table
	}
	if flags&8 != 0 {
		p += 4 // quality
	}
	// LAME extension: 9-byte encoder name, then 12 bytes of settings, then
	// the 12-bit encoder delay and 12-bit padding. ffmpeg trusts it from
	// LAME and from its own encoders (Lavf, Lavc); so do we.
	if len(f) >= p+24 {
		switch string(f[p : p+4]) {
		case "LAME", "Lavf", "Lavc":
			v := int(f[p+21])<<16 | int(f[p+22])<<8 | int(f[p+23])
			g.LAME = true
			g.Delay = v >> 12
			g.Padding = v & 0xFFF
		}
	}
	return g, true
}

// Limits of the scanner.
const (
	maxLeadingJunk = 1 << 20 // bytes searched for the first frame after tags
	scanBuffer     = 32 << 10
)

// ErrNoFrames is returned when the data holds no MPEG audio stream.
var ErrNoFrames = errors.New("mp3: no MPEG audio frames found")

// Scanner reads an MPEG audio stream frame by frame.
type Scanner struct {
	br  *bufio.Reader
	off int64 // bytes consumed from the start of the stream
	ref Header
	buf [2048]byte // the current frame; Layer III frames are at most 1441 bytes

	res repacker // rebuilds frames for go-mp3

	frames   int   // audio frames handed out
	frameOff int64 // byte offset of the last frame handed out
	skipped  int64 // bytes of junk skipped between frames

	// The first frame is checked for a Xing/Info/VBRI tag, which is not
	// audio and is not handed out.
	checked bool
	hasTag  bool
	tag     Gapless
}

// NewScanner returns a Scanner of the stream that r holds; call Start, then
// Next for every frame.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{br: bufio.NewReaderSize(r, scanBuffer)}
}

// discard skips n bytes; it reports io.EOF if the data ends first.
func (s *Scanner) discard(n int64) error {
	for n > 0 {
		step := int(min(n, 1<<30))
		d, err := s.br.Discard(step)
		s.off += int64(d)
		n -= int64(d)
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return err
		}
	}
	return nil
}

// peek returns up to n bytes ahead without consuming them; fewer at the end
// of the data. Errors other than io.EOF are returned.
func (s *Scanner) peek(n int) ([]byte, error) {
	b, err := s.br.Peek(n)
	if err == io.EOF || err == bufio.ErrBufferFull {
		err = nil
	}
	return b, err
}

// tagLength returns the length of the ID3v2, ID3v1 or APEv2 tag starting at
// b, or 0 if b does not start with one. b holds at least 32 bytes unless
// the data ends sooner.
func tagLength(b []byte) int64 {
	switch {
	case len(b) >= 10 && string(b[:3]) == "ID3" && b[3] != 0xFF && b[4] != 0xFF &&
		b[6]|b[7]|b[8]|b[9] < 0x80:
		n := int64(b[6])<<21 | int64(b[7])<<14 | int64(b[8])<<7 | int64(b[9])
		n += 10
		if b[5]&0x10 != 0 { // footer present
			n += 10
		}
		return n
	case len(b) >= 32 && string(b[:8]) == "APETAGEX":
		size := int64(binary.LittleEndian.Uint32(b[12:]))
		if binary.LittleEndian.Uint32(b[20:])&(1<<29) != 0 { // this is the header
			return 32 + size
		}
		return 32 // a footer whose header we did not see
	case len(b) >= 4 && string(b[:4]) == "TAG+":
		return 227
	case len(b) >= 3 && string(b[:3]) == "TAG":
		return 128
	}
	return 0
}

// followerOK reports whether what comes after a frame of header h at the
// start of b (b holds up to depth more frames) fits an MPEG stream: the end
// of the data, a tag, or depth further frames of the same stream. If cut is
// false, the data may not end within a frame.
func followerOK(b []byte, h Header, ref Header, depth int, cut bool) bool {
	for ; depth > 0; depth-- {
		if len(b) == h.Size {
			return true // the data ends right after this frame
		}
		if len(b) < h.Size {
			return cut // the data ends within this frame
		}
		b = b[h.Size:]
		if tagLength(b) > 0 {
			return true
		}
		next, ok := ParseHeader(b)
		if !ok || !next.sameStream(ref) {
			return false
		}
		h = next
	}
	return true
}

// Start skips leading tags and junk and finds the first frame. It returns
// its header (also stored as the stream reference) without consuming it.
// It fails with a clear error for streams go-mp3 cannot decode.
func (s *Scanner) Start() (Header, error) {
	var junk int64
	for {
		b, err := s.peek(32)
		if err != nil {
			return Header{}, ReadError(err)
		}
		if len(b) < 4 {
			return Header{}, ErrNoFrames
		}
		if string(b[:3]) == "ID3" {
			if n := tagLength(b); n > 0 {
				if err := s.discard(n); err != nil {
					if err == io.EOF {
						return Header{}, ErrNoFrames
					}
					return Header{}, ReadError(err)
				}
				continue
			}
		}
		if h, ok := ParseHeader(b); ok {
			accepted, err := s.acceptFirst(h, junk > 0)
			if err != nil {
				return Header{}, err
			}
			if accepted {
				s.ref = h
				return h, nil
			}
		}
		junk++
		if junk > maxLeadingJunk {
			return Header{}, ErrNoFrames
		}
		if err := s.discard(1); err != nil {
			if err == io.EOF {
				return Header{}, ErrNoFrames
			}
			return Header{}, ReadError(err)
		}
	}
}

// acceptFirst decides whether the header h at the scan position starts the
// stream. Right at the start (afterJunk false) one consistent follower is
// enough; after junk three are needed, so that stray sync patterns in
// non-MP3 data are not taken for audio. Streams go-mp3 cannot decode are
// reported once they look genuine.
func (s *Scanner) acceptFirst(h Header, afterJunk bool) (bool, error) {
	depth := 1
	if afterJunk {
		depth = 3
	}
	if h.Size == 0 { // free format: the frame length is not in the header
		if afterJunk {
			return false, nil // too weak a sign to call junk free format
		}
		b, err := s.peek(4 + 2*1441 + 4)
		if err != nil {
			return false, ReadError(err)
		}
		for i := 4; i+4 <= len(b); i++ {
			if n, ok := ParseHeader(b[i:]); ok && n.Size == 0 && n.Version == h.Version &&
				n.Layer == h.Layer && n.RateIndex == h.RateIndex {
				return false, errors.New("mp3: free-format (unspecified bitrate) streams are not supported; convert it with: ffmpeg -i IN.mp3 OUT.wav")
			}
		}
		return false, nil
	}
	b, err := s.peek((depth+1)*1729 + 4)
	if err != nil {
		return false, ReadError(err)
	}
	if !followerOK(b, h, h, depth, !afterJunk) {
		return false, nil
	}
	if h.Version == 25 {
		return false, fmt.Errorf("mp3: MPEG-2.5 audio (%d Hz) is not supported; convert it with: ffmpeg -i IN.mp3 OUT.wav", h.Rate)
	}
	if h.Layer != 3 {
		return false, fmt.Errorf("mp3: %s audio is not supported, only Layer III; convert it with: ffmpeg -i IN.mp3 OUT.wav", h.describe())
	}
	return true, nil
}

// readFrame consumes the frame with header h at the scan position into
// s.buf. It returns io.EOF if the data ends within the frame: a cut last
// frame is dropped.
func (s *Scanner) readFrame(h Header) ([]byte, error) {
	f := s.buf[:h.Size]
	n, err := io.ReadFull(s.br, f)
	s.off += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return f, err
}

// Next returns the next frame of the stream, valid until the following
// call; io.EOF at the end. A Xing/Info/VBRI tag frame at the start is
// recorded (see Tag) and skipped. Tags between and after frames are skipped, and
// so is junk: the scanner searches for the next frame of the same stream
// that is followed by another one, a tag or the end, like ffmpeg's and
// mpg123's resync. Frames are rebuilt for go-mp3 by repacker.
func (s *Scanner) Next() ([]byte, error) {
	resync := false
	for {
		b, err := s.peek(32)
		if err != nil {
			return nil, err
		}
		if len(b) < 4 {
			return nil, io.EOF // trailing bytes too short to be a frame
		}
		if n := tagLength(b); n > 0 {
			if resync && n == 128 {
				// "TAG" amid junk is an ID3v1 tag only at the very end.
				if t, err := s.peek(129); err != nil || len(t) != 128 {
					n = 0
				}
			}
			if n > 0 {
				if err := s.discard(n); err != nil {
					return nil, err
				}
				resync = false
				continue
			}
		}
		if h, ok := ParseHeader(b); ok && h.sameStream(s.ref) {
			ok = !resync
			if resync {
				fb, err := s.peek(2*h.Size + 4)
				if err != nil {
					return nil, err
				}
				ok = followerOK(fb, h, s.ref, 1, true)
			}
			if ok {
				off := s.off
				f, err := s.readFrame(h)
				if err != nil {
					return nil, err
				}
				if !s.checked {
					s.checked = true
					if g, isTag := parseVBRTag(h, f); isTag {
						g.TagOffset = off
						s.tag, s.hasTag = g, true
						continue
					}
				}
				s.frames++
				s.frameOff = off
				return s.res.repack(h, f), nil
			}
		}
		resync = true
		s.skipped++
		if err := s.discard(1); err != nil {
			return nil, err
		}
	}
}

// AudioEnd finds where the MPEG data of rs ends, before any ID3v1, APEv2
// and Lyrics3v2 tags at the end of the file, looking at the end the way
// ffmpeg and mpg123 do. start is the stream's first byte. It leaves rs at
// start. ok is false if rs cannot seek; err is set if it cannot seek back.
func AudioEnd(rs io.ReadSeeker, start int64) (end int64, ok bool, err error) {
	size, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, false, nil
	}
	at := func(off int64, n int) []byte {
		if off < start || n <= 0 {
			return nil
		}
		b := make([]byte, n)
		if _, err := rs.Seek(off, io.SeekStart); err != nil {
			return nil
		}
		if _, err := io.ReadFull(rs, b); err != nil {
			return nil
		}
		return b
	}
	end = size
	for changed := true; changed; {
		changed = false
		if b := at(end-128, 3); string(b) == "TAG" {
			end -= 128
			changed = true
		}
		if b := at(end-32, 32); b != nil && string(b[:8]) == "APETAGEX" {
			n := int64(binary.LittleEndian.Uint32(b[12:]))
			if binary.LittleEndian.Uint32(b[20:])&(1<<31) != 0 { // has a header
				n += 32
			}
			if n >= 32 && n <= end-start {
				end -= n
				changed = true
			}
		}
		if b := at(end-15, 15); b != nil && string(b[6:]) == "LYRICS200" {
			n := int64(0)
			for _, c := range b[:6] {
				if c < '0' || c > '9' {
					n = -1
					break
				}
				n = n*10 + int64(c-'0')
			}
			if n >= 0 && n+15 <= end-start {
				end -= n + 15
				changed = true
			}
		}
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return 0, false, err
	}
	return max(end, start), true, nil
}
