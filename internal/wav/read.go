// Package wav reads and writes the headers of WAV files and converts their
// samples to and from elkspipe's float32: what the WAV source of package
// sources and the WAV sink of package sinks share.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/elkspipe/elkspipe/pipeline"
)

// WAV format tags.
const (
	TagPCM        = 0x0001 // integer PCM
	TagFloat      = 0x0003 // IEEE float
	TagALaw       = 0x0006 // G.711 A-law
	TagULaw       = 0x0007 // G.711 µ-law
	TagExtensible = 0xFFFE // WAVE_FORMAT_EXTENSIBLE: the tag is in the subformat GUID
)

// GUIDTail is the tail of the WAVE_FORMAT_EXTENSIBLE subformat GUIDs that
// stand for the format tags: {0000xxxx-0000-0010-8000-00AA00389B71} holds
// tag xxxx.
var GUIDTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// formatNames names the compressed encodings that users meet most, for the
// "unsupported encoding" error.
var formatNames = map[uint16]string{
	0x0002: "ADPCM", 0x0011: "IMA ADPCM", 0x0022: "TrueSpeech", 0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM", 0x0045: "G.726 ADPCM", 0x0050: "MPEG audio", 0x0055: "MP3",
	0x0092: "AC-3 (S/PDIF)", 0x00FF: "AAC", 0x0161: "WMA", 0x0162: "WMA Pro",
	0x0163: "WMA Lossless", 0x1610: "AAC", 0x2000: "AC-3", 0x2001: "DTS", 0xF1AC: "FLAC",
}

// ConvertHint tells how to turn a file elkspipe cannot read into one it can.
const ConvertHint = "convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav"

func unsupportedTag(tag uint16) error {
	if name, ok := formatNames[tag]; ok {
		return fmt.Errorf("wav: unsupported encoding %s (format tag %d); %s", name, tag, ConvertHint)
	}
	return fmt.Errorf("wav: unsupported encoding (format tag %d, 0x%04X); %s", tag, tag, ConvertHint)
}

// Kind says how the bytes of one sample turn into a float.
type Kind int

// The kinds of samples.
const (
	KindInt   Kind = iota // signed integer, unsigned when the container is one byte
	KindFloat             // IEEE float
	KindALaw              // G.711 A-law
	KindULaw              // G.711 µ-law
)

// Encoding is what the fmt chunk says about the samples.
type Encoding struct {
	Kind      Kind
	Container int  // bytes per sample
	Valid     int  // valid bits per sample (integers)
	Right     bool // integers stored in the low bits of the container (see DetectRightJustified)
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

// Header is what a WAV header says about the audio that follows it.
type Header struct {
	Format   pipeline.Format
	Encoding Encoding
	// DataSize is the number of bytes of audio in the data chunk, or -1
	// for a stream that runs until the end of the input.
	DataSize int64
	// DataStart is the offset of the first byte of audio from the start
	// of the header.
	DataStart int64
}

// ReadHeader reads a WAV header from r up to the first byte of the data
// chunk's audio, where it leaves r. avail is the number of bytes r holds,
// or -1 when unknown; when known, the data size is capped to the input.
//
// It reads RIFF, RF64 and BW64 files holding unsigned 8-bit or signed 16-,
// 24- or 32-bit integer PCM (with any number of valid bits in the
// container), 32- or 64-bit IEEE float, A-law or µ-law, in WAVEFORMAT,
// WAVEFORMATEX or WAVE_FORMAT_EXTENSIBLE fmt chunks, at any rate and channel
// count that pipeline.Format accepts. Chunks other than fmt, ds64 and data
// are skipped; the fmt chunk must come before the data. A data size of 0 or
// 0xFFFFFFFF means "until the end of the input". Errors start with "wav: ".
func ReadHeader(r io.Reader, avail int64) (Header, error) {
	cr := &chunkReader{r: r}
	var head [12]byte
	if err := cr.full(head[:]); err != nil {
		if cr.pos == 0 && err == io.EOF {
			return Header{}, errors.New("wav: empty input")
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Header{}, errors.New("wav: not a WAV file (too short for a RIFF header)")
		}
		return Header{}, fmt.Errorf("wav: reading the RIFF header: %w", err)
	}
	riff := string(head[0:4])
	switch riff {
	case "RIFF", "RF64", "BW64":
	case "RIFX", "FFIR":
		return Header{}, errors.New("wav: big-endian RIFX files are not supported; " + ConvertHint)
	default:
		return Header{}, fmt.Errorf("wav: not a WAV file (it starts with %q, not RIFF)", head[0:4])
	}
	if string(head[8:12]) != "WAVE" {
		return Header{}, fmt.Errorf("wav: not a WAVE file (RIFF form %q)", head[8:12])
	}
	rf64 := riff != "RIFF"

	var (
		enc      Encoding
		f        pipeline.Format
		haveFmt  bool
		ds64Data int64 = -1
	)
	for chunk := 0; ; chunk++ {
		var ch [8]byte
		if err := cr.full(ch[:]); err != nil {
			if err == io.EOF && haveFmt {
				return Header{}, errors.New("wav: no data chunk")
			}
			if err == io.EOF {
				return Header{}, errors.New("wav: no fmt chunk")
			}
			return Header{}, headerErr("inside a chunk header", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch {
		case id == "ds64" && rf64 && chunk == 0:
			if size < 24 {
				return Header{}, fmt.Errorf("wav: ds64 chunk too short (%d bytes)", size)
			}
			var b [24]byte
			if err := cr.full(b[:]); err != nil {
				return Header{}, headerErr("inside the ds64 chunk", err)
			}
			if d := binary.LittleEndian.Uint64(b[8:16]); d <= math.MaxInt64 {
				ds64Data = int64(d)
			}
			if err := cr.skip(size - 24 + size&1); err != nil {
				return Header{}, headerErr("inside the ds64 chunk", err)
			}
		case id == "fmt " && !haveFmt:
			var err error
			f, enc, err = parseFmt(cr, size)
			if err != nil {
				return Header{}, err
			}
			haveFmt = true
		case id == "data":
			if !haveFmt {
				return Header{}, errors.New("wav: data chunk before the fmt chunk (not supported)")
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
			return Header{Format: f, Encoding: enc, DataSize: dataSize, DataStart: cr.pos}, nil
		default:
			if err := cr.skip(size + size&1); err != nil {
				if haveFmt {
					return Header{}, headerErr(fmt.Sprintf("inside a %q chunk, before any data chunk", ch[0:4]), err)
				}
				return Header{}, headerErr(fmt.Sprintf("inside a %q chunk, before the fmt chunk", ch[0:4]), err)
			}
		}
	}
}

// parseFmt reads a fmt chunk of the given size.
func parseFmt(cr *chunkReader, size int64) (pipeline.Format, Encoding, error) {
	var f pipeline.Format
	var enc Encoding
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
	extensible := tag == TagExtensible
	validBits := 0
	if extensible {
		if n < 40 || le.Uint16(b[16:18]) < 22 {
			return f, enc, errors.New("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
		}
		validBits = int(le.Uint16(b[18:20]))
		guid := b[24:40]
		if [14]byte(guid[2:16]) != GUIDTail {
			return f, enc, fmt.Errorf("wav: unsupported WAVE_FORMAT_EXTENSIBLE subformat %s; %s", guidString(guid), ConvertHint)
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
	if bits == 0 && (tag == TagPCM || tag == TagFloat) {
		return f, enc, errors.New("wav: invalid fmt chunk (0 bits per sample)")
	}
	switch tag {
	case TagPCM:
		enc.Kind = KindInt
		if extensible {
			if bits%8 != 0 {
				return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d-bit container)", bits)
			}
			enc.Container = bits / 8
			enc.Valid = validBits
			if enc.Valid == 0 {
				enc.Valid = bits
			}
		} else {
			// WAVEFORMATEX gives the valid bits; the block align tells the
			// container (24 bits in 4 bytes, 12 bits in 2).
			enc.Container = (bits + 7) / 8
			if blockAlign != 0 && blockAlign%channels == 0 && blockAlign/channels > enc.Container && blockAlign/channels <= 4 {
				enc.Container = blockAlign / channels
			}
			enc.Valid = bits
		}
		if enc.Container > 4 {
			return f, enc, fmt.Errorf("wav: unsupported %d-bit integer PCM; %s", enc.Container*8, ConvertHint)
		}
		if enc.Valid > enc.Container*8 {
			return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d valid bits in a %d-bit container)", enc.Valid, enc.Container*8)
		}
		if err := whole(enc.Container); err != nil {
			return f, enc, err
		}
	case TagFloat:
		if bits != 32 && bits != 64 {
			return f, enc, fmt.Errorf("wav: unsupported %d-bit float; %s", bits, ConvertHint)
		}
		enc = Encoding{Kind: KindFloat, Container: bits / 8, Valid: bits}
		if err := whole(enc.Container); err != nil {
			return f, enc, err
		}
	case TagALaw, TagULaw:
		if bits != 8 {
			return f, enc, fmt.Errorf("wav: invalid fmt chunk (%d-bit G.711)", bits)
		}
		enc = Encoding{Kind: KindALaw, Container: 1, Valid: 8}
		if tag == TagULaw {
			enc.Kind = KindULaw
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
