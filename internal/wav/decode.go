package wav

import (
	"encoding/binary"
	"math"

	"github.com/elkspipe/elkspipe/internal/g711"
)

// DetectRightJustified tells how integers with fewer valid bits than their
// container are stored in data, a run of samples from the start of the
// audio. The WAVE specification puts the valid bits in the high bits of
// the container and zeroes the pad bits below them; some writers (hound,
// for 24 bits in 4 bytes) put them in the low bits, with the high bits
// zero or a sign extension. It reports the second layout only when a
// non-zero sample has a pad bit set below the valid bits and every sample
// fits in the low bits: the specification's layout is the default.
func DetectRightJustified(data []byte, container, valid int) bool {
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

// Decoder returns the kernel that turns bytes of enc into floats: it fills
// dst from the len(dst) samples at the start of src.
func Decoder(enc Encoding) func(dst []float32, src []byte) {
	switch enc.Kind {
	case KindFloat:
		if enc.Container == 8 {
			return decodeF64
		}
		return decodeF32
	case KindALaw:
		return tableDecoder(&aLawTable)
	case KindULaw:
		return tableDecoder(&uLawTable)
	}
	if enc.Right {
		return rightDecoder(enc.Container, enc.Valid)
	}
	switch {
	case enc.Container == 1:
		return tableDecoder(u8Table(enc.Valid))
	case enc.Container == 2 && enc.Valid == 16:
		return decodeS16
	case enc.Container == 3 && enc.Valid == 24:
		return decodeS24
	case enc.Container == 4 && enc.Valid == 32:
		return decodeS32
	}
	return leftDecoder(enc.Container, enc.Valid)
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
