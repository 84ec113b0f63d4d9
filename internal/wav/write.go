package wav

import (
	"encoding/binary"
	"math"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Layout says where the sizes sit in a header that HeaderBytes wrote.
type Layout struct {
	Length int // header bytes before the audio
	Data   int // offset of the data chunk size
	Fact   int // offset of the fact sample count, 0 if none
}

// SampleFormat is how a writer stores samples: integers of Bits bits (8
// unsigned; 16, 24 or 32 signed) or, when Float, IEEE floats of 32 or 64
// bits.
type SampleFormat struct {
	Bits  int
	Float bool
}

// Valid reports whether Encode and HeaderBytes handle sf.
func (sf SampleFormat) Valid() bool {
	if sf.Float {
		return sf.Bits == 32 || sf.Bits == 64
	}
	return sf.Bits == 8 || sf.Bits == 16 || sf.Bits == 24 || sf.Bits == 32
}

// HeaderBytes renders a header for audio of format f stored as sf, with the
// sizes unknown (0xFFFFFFFF, and 0 frames in the fact chunk), and says where
// the sizes sit in it. Which header each format gets is documented, for
// users, on sinks.WAVWriter.
func HeaderBytes(f pipeline.Format, sf SampleFormat) ([]byte, Layout) {
	le := binary.LittleEndian
	bits := sf.Bits
	block := bits / 8 * f.Channels
	extensible := f.Channels > 2 || bits > 16 && !sf.Float
	tag := uint16(TagPCM)
	if sf.Float {
		tag = TagFloat
	}
	b := make([]byte, 0, 80)
	b = append(b, "RIFF\xff\xff\xff\xffWAVEfmt "...)
	switch {
	case extensible:
		b = le.AppendUint32(b, 40)
		b = le.AppendUint16(b, TagExtensible)
	case sf.Float:
		b = le.AppendUint32(b, 18) // WAVEFORMATEX, as non-PCM formats need
		b = le.AppendUint16(b, tag)
	default:
		b = le.AppendUint32(b, 16)
		b = le.AppendUint16(b, tag)
	}
	b = le.AppendUint16(b, uint16(f.Channels))
	b = le.AppendUint32(b, uint32(f.Rate))
	b = le.AppendUint32(b, uint32(f.Rate*block))
	b = le.AppendUint16(b, uint16(block))
	b = le.AppendUint16(b, uint16(bits))
	if sf.Float && !extensible {
		b = le.AppendUint16(b, 0) // cbSize
	}
	if extensible {
		b = le.AppendUint16(b, 22)           // cbSize
		b = le.AppendUint16(b, uint16(bits)) // valid bits
		var mask uint32                      // no speaker positions beyond stereo
		switch f.Channels {
		case 1:
			mask = 0x4 // front centre
		case 2:
			mask = 0x3 // front left, front right
		}
		b = le.AppendUint32(b, mask)
		b = le.AppendUint16(b, tag) // subformat GUID {0000xxxx-0000-0010-8000-00AA00389B71}
		b = append(b, GUIDTail[:]...)
	}
	var l Layout
	if sf.Float {
		b = append(b, "fact\x04\x00\x00\x00"...)
		l.Fact = len(b)
		b = le.AppendUint32(b, 0)
	}
	b = append(b, "data"...)
	l.Data = len(b)
	b = append(b, 0xFF, 0xFF, 0xFF, 0xFF)
	l.Length = len(b)
	return b, l
}

// Sizes computes the RIFF size, data size and frame count for a header
// of headerLen bytes followed by dataBytes of audio and pad; ok is false
// when they do not fit the 32-bit fields.
func Sizes(headerLen, dataBytes, pad, frames int64) (riffSize, dataSize, count uint32, ok bool) {
	riff := headerLen - 8 + dataBytes + pad
	if riff > math.MaxUint32 || frames > math.MaxUint32 {
		return 0, 0, 0, false
	}
	return uint32(riff), uint32(dataBytes), uint32(frames), true
}

// Encode encodes src into dst, which holds exactly len(src) samples of sf.
// Floats convert to integers by round(x × 2^(bits-1)), halves away from
// zero, clamped to the integer range (u8 is that value plus 128), without
// dither; floats keep values beyond ±1, and NaN becomes 0 and infinities
// ±1. An invalid sf writes nothing.
func Encode(dst []byte, src []float32, sf SampleFormat) {
	le := binary.LittleEndian
	switch sf {
	case SampleFormat{Bits: 8}:
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = byte(round(float64(x)*128, -128, 127) + 128)
		}
	case SampleFormat{Bits: 16}:
		for i, x := range src {
			le.PutUint16(dst[2*i:], uint16(round(float64(x)*32768, -32768, 32767)))
		}
	case SampleFormat{Bits: 24}:
		for i, x := range src {
			v := round(float64(x)*8388608, -8388608, 8388607)
			b := (*[3]byte)(dst[3*i:])
			b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16)
		}
	case SampleFormat{Bits: 32}:
		for i, x := range src {
			le.PutUint32(dst[4*i:], uint32(round(float64(x)*2147483648, -2147483648, 2147483647)))
		}
	case SampleFormat{Bits: 32, Float: true}:
		for i, x := range src {
			if x-x != 0 {
				x = finite32(x)
			}
			le.PutUint32(dst[4*i:], math.Float32bits(x))
		}
	case SampleFormat{Bits: 64, Float: true}:
		for i, x := range src {
			if x-x != 0 {
				x = finite32(x)
			}
			le.PutUint64(dst[8*i:], math.Float64bits(float64(x)))
		}
	}
}

// finite32 maps infinities to ±1 and NaN to 0.
func finite32(x float32) float32 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// round returns v rounded to the nearest integer, halves away from zero,
// clamped to [lo, hi]; NaN gives 0.
func round(v, lo, hi float64) int64 {
	switch {
	case v >= hi:
		return int64(hi)
	case v <= lo:
		return int64(lo)
	case v >= 0:
		return int64(v + 0.5)
	case v < 0:
		return int64(v - 0.5)
	}
	return 0
}
