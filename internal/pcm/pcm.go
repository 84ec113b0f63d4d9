// Package pcm converts between elkspipe's float32 samples and the
// headerless sample encodings (pipeline.Encoding) that raw files, raw sinks
// and the 46elks wire formats use: signed 16-bit and 32-bit float
// little-endian, and G.711 µ-law and A-law. Conversions follow the project's convention: a 16-bit
// sample s is s/32768, and x becomes round(x·32768) clamped to 16 bits.
package pcm

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
)

// Names lists the encodings' names in pipe syntax.
func Names() []string {
	return []string{pipeline.S16LE.String(), pipeline.F32LE.String(), pipeline.ULaw.String(), pipeline.ALaw.String()}
}

// S16 converts a float sample to 16 bits: round(x × 32768), clamped to
// -32768..32767 (NaN gives 0).
func S16(x float32) int16 {
	v := math.Round(float64(x) * 32768)
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v != v:
		return 0
	}
	return int16(v)
}

// Append appends the samples of src, encoded as enc, to dst and returns
// the extended slice, like strconv.AppendInt; pass dst[:0] to reuse a
// buffer. Samples beyond ±1 are clipped. An unknown encoding appends
// nothing.
func Append(dst []byte, src []float32, enc pipeline.Encoding) []byte {
	size := enc.Size()
	start := len(dst)
	dst = slices.Grow(dst, len(src)*size)[:start+len(src)*size]
	out := dst[start:]
	switch enc {
	case pipeline.S16LE:
		for i, x := range src {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(S16(x)))
		}
	case pipeline.F32LE:
		for i, x := range src {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(clampFloat(x)))
		}
	case pipeline.ULaw:
		for i, x := range src {
			out[i] = g711.EncodeULaw(S16(x))
		}
	case pipeline.ALaw:
		for i, x := range src {
			out[i] = g711.EncodeALaw(S16(x))
		}
	}
	return dst
}

func clampFloat(x float32) float32 {
	switch {
	case x > 1:
		return 1
	case x < -1:
		return -1
	case x != x:
		return 0
	}
	return x
}

var ulawFloat, alawFloat [256]float32

func init() {
	for i := range 256 {
		ulawFloat[i] = float32(g711.ULawToLinear[i]) / 32768
		alawFloat[i] = float32(g711.ALawToLinear[i]) / 32768
	}
}

// Decode fills dst with the samples encoded as enc in b, which must hold
// at least len(dst) × enc.Size() bytes.
func Decode(dst []float32, b []byte, enc pipeline.Encoding) {
	switch enc {
	case pipeline.S16LE:
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
		}
	case pipeline.F32LE:
		for i := range dst {
			dst[i] = clampFloat(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case pipeline.ULaw:
		for i := range dst {
			dst[i] = ulawFloat[b[i]]
		}
	case pipeline.ALaw:
		for i := range dst {
			dst[i] = alawFloat[b[i]]
		}
	}
}
