package wav

import (
	"encoding/binary"
	"math"
	"testing"
)

// The conversion follows the project convention: round(x × 2^(bits-1)),
// halves away from zero, clamped; u8 adds 128.
func TestWAVConversionConvention(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 1, -1, 1.0 / 65536, -1.0 / 65536, 1.0 / 256, -1.0 / 256, 2, -2, float32(math.NaN())}
	le := binary.LittleEndian
	check := func(sf SampleFormat, want []int64, get func(b []byte, i int) int64) {
		b := make([]byte, len(in)*sf.Bits/8)
		Encode(b, in, sf)
		for i, w := range want {
			if g := get(b, i); g != w {
				t.Errorf("%+v: %v → %d, want %d", sf, in[i], g, w)
			}
		}
	}
	check(SampleFormat{Bits: 8}, []int64{128, 192, 64, 255, 0, 128, 128, 129, 127, 255, 0, 128},
		func(b []byte, i int) int64 { return int64(b[i]) })
	check(SampleFormat{Bits: 16}, []int64{0, 16384, -16384, 32767, -32768, 1, -1, 128, -128, 32767, -32768, 0},
		func(b []byte, i int) int64 { return int64(int16(le.Uint16(b[2*i:]))) })
	check(SampleFormat{Bits: 24}, []int64{0, 1 << 22, -1 << 22, 1<<23 - 1, -1 << 23, 128, -128, 1 << 15, -1 << 15, 1<<23 - 1, -1 << 23, 0},
		func(b []byte, i int) int64 {
			return int64(int32(uint32(b[3*i])<<8|uint32(b[3*i+1])<<16|uint32(b[3*i+2])<<24) >> 8)
		})
	check(SampleFormat{Bits: 32}, []int64{0, 1 << 30, -1 << 30, 1<<31 - 1, -1 << 31, 1 << 15, -1 << 15, 1 << 23, -1 << 23, 1<<31 - 1, -1 << 31, 0},
		func(b []byte, i int) int64 { return int64(int32(le.Uint32(b[4*i:]))) })
}

// Files beyond 4 GiB keep the "until the end" sizes.
func TestWAVSizes(t *testing.T) {
	if r, d, n, ok := Sizes(44, 1000, 0, 500); !ok || r != 1036 || d != 1000 || n != 500 {
		t.Errorf("Sizes = %d %d %d %v", r, d, n, ok)
	}
	if r, d, _, ok := Sizes(44, math.MaxUint32-37, 1, 1); !ok || r != math.MaxUint32 || d != math.MaxUint32-37 {
		t.Errorf("largest file: %d %d %v", r, d, ok)
	}
	if _, _, _, ok := Sizes(44, math.MaxUint32-36, 1, 1); ok {
		t.Error("a file beyond 4 GiB got sizes")
	}
}
