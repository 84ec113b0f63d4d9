// Package g711 converts between 16-bit linear PCM and the ITU-T G.711
// companded encodings µ-law and A-law, one byte per sample. Decoding
// follows ITU-T G.711; encoding picks the nearest code level, bit for bit
// as ffmpeg's pcm_mulaw and pcm_alaw encoders do.
package g711

// ULawToLinear maps every µ-law byte to its 16-bit linear value.
var ULawToLinear [256]int16

// ALawToLinear maps every A-law byte to its 16-bit linear value.
var ALawToLinear [256]int16

func init() {
	for i := 0; i < 256; i++ {
		ULawToLinear[i] = decodeULaw(byte(i))
		ALawToLinear[i] = decodeALaw(byte(i))
	}
	buildEncodeTable(&linearToULaw, decodeULaw, 0xFF)
	buildEncodeTable(&linearToALaw, decodeALaw, 0xD5)
}

const (
	ulawBias = 0x84
)

// linearToULaw and linearToALaw map a linear sample, shifted right by 2
// bits and offset by 8192, to the code whose level is nearest: the same
// quantisation as ffmpeg's pcm_mulaw and pcm_alaw encoders.
var linearToULaw, linearToALaw [16384]byte

func buildEncodeTable(table *[16384]byte, decode func(byte) int16, mask byte) {
	j := 1
	table[8192] = mask
	for i := 0; i < 127; i++ {
		v1 := int(decode(byte(i) ^ mask))
		v2 := int(decode(byte(i+1) ^ mask))
		v := (v1 + v2 + 4) >> 3
		for ; j < v; j++ {
			table[8192-j] = byte(i) ^ (mask ^ 0x80)
			table[8192+j] = byte(i) ^ mask
		}
	}
	for ; j < 8192; j++ {
		table[8192-j] = 127 ^ (mask ^ 0x80)
		table[8192+j] = 127 ^ mask
	}
	table[0] = table[1]
}

// EncodeULaw compresses a 16-bit linear sample to the nearest µ-law code.
func EncodeULaw(s int16) byte { return linearToULaw[(int(s)+32768)>>2] }

// EncodeALaw compresses a 16-bit linear sample to the nearest A-law code.
func EncodeALaw(s int16) byte { return linearToALaw[(int(s)+32768)>>2] }

func decodeULaw(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 0x07
	mant := int(u & 0x0F)
	x := ((mant << 3) + ulawBias) << exp
	x -= ulawBias
	if sign != 0 {
		return int16(-x)
	}
	return int16(x)
}

func decodeALaw(a byte) int16 {
	a ^= 0x55
	sign := a & 0x80
	exp := int(a>>4) & 0x07
	mant := int(a & 0x0F)
	var x int
	if exp == 0 {
		x = mant<<4 + 8
	} else {
		x = (mant<<4 + 0x108) << (exp - 1)
	}
	if sign == 0 {
		return int16(-x)
	}
	return int16(x)
}
