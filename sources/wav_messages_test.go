package sources

import (
	"testing"

	"github.com/elkspipe/elkspipe/internal/wav"
)

// Header errors report the header's own numbers.
func TestWAVMalformedMessages(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"rate 0xFFFFFFFF", wavHeader(wav.TagPCM, 1, 0xFFFFFFFF, 16, 2, false, 0, 4),
			"wav: sample rate 4294967295 Hz out of range 1..768000"},
		{"rate 0x80000000", wavHeader(wav.TagPCM, 1, 0x80000000, 16, 2, false, 0, 4),
			"wav: sample rate 2147483648 Hz out of range 1..768000"},
		{"block align 100, 16-bit mono", wavHeader(wav.TagPCM, 1, 8000, 16, 100, false, 0, 4),
			"wav: invalid fmt chunk (block align 100 bytes, but 1 channel of 16 bits takes 2 bytes per frame)"},
		{"block align 3, 16-bit stereo", wavHeader(wav.TagPCM, 2, 8000, 16, 3, false, 0, 4),
			"wav: invalid fmt chunk (block align 3 bytes, but 2 channels of 16 bits take 4 bytes per frame)"},
		{"block align 5, 12-bit stereo", wavHeader(wav.TagPCM, 2, 8000, 12, 5, false, 0, 4),
			"wav: invalid fmt chunk (block align 5 bytes, but 2 channels of 12 bits in 2 bytes take 4 bytes per frame)"},
		{"block align 7, 24 valid bits of 32", wavHeader(wav.TagPCM, 2, 8000, 32, 7, true, 24, 4),
			"wav: invalid fmt chunk (block align 7 bytes, but 2 channels of 32 bits take 8 bytes per frame)"},
		{"block align 4, float mono", wavHeader(wav.TagFloat, 1, 8000, 64, 4, false, 0, 4),
			"wav: invalid fmt chunk (block align 4 bytes, but 1 channel of 64 bits takes 8 bytes per frame)"},
		{"64-bit int", wavHeader(wav.TagPCM, 1, 8000, 64, 8, false, 0, 8),
			"wav: unsupported 64-bit integer PCM; " + wav.ConvertHint},
	}
	for _, c := range cases {
		if _, _, err := decodeBytes(c.data, nil); err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}
