package g711

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"testing"
)

// Known values from ITU-T G.711 tables: µ-law 0xFF and A-law 0xD5 are the
// smallest positive levels, 0x80 / 0xAA the largest.
func TestKnownValues(t *testing.T) {
	cases := []struct {
		name string
		got  int16
		want int16
	}{
		{"ulaw 0xFF", ULawToLinear[0xFF], 0},
		{"ulaw 0x7F", ULawToLinear[0x7F], 0},
		{"ulaw 0x80", ULawToLinear[0x80], 32124},
		{"ulaw 0x00", ULawToLinear[0x00], -32124},
		{"alaw 0xD5", ALawToLinear[0xD5], 8},
		{"alaw 0x55", ALawToLinear[0x55], -8},
		{"alaw 0xAA", ALawToLinear[0xAA], 32256},
		{"alaw 0x2A", ALawToLinear[0x2A], -32256},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if EncodeULaw(0) != 0xFF || EncodeALaw(0) != 0xD5 {
		t.Errorf("silence encodes to %#x / %#x, want 0xff / 0xd5", EncodeULaw(0), EncodeALaw(0))
	}
}

// Every code decodes to a value that encodes back to the same code (bar the
// two µ-law zeros), and every linear value encodes to the nearest level.
func TestRoundTrip(t *testing.T) {
	for i := 0; i < 256; i++ {
		if got := EncodeALaw(ALawToLinear[i]); got != byte(i) {
			t.Errorf("A-law %#x -> %d -> %#x", i, ALawToLinear[i], got)
		}
		if i == 0x7F {
			continue // negative zero encodes as positive zero
		}
		if got := EncodeULaw(ULawToLinear[i]); got != byte(i) {
			t.Errorf("µ-law %#x -> %d -> %#x", i, ULawToLinear[i], got)
		}
	}
	for _, tc := range []struct {
		name string
		enc  func(int16) byte
		dec  *[256]int16
		bits float64
	}{{"µ-law", EncodeULaw, &ULawToLinear, 0}, {"A-law", EncodeALaw, &ALawToLinear, 0}} {
		// Relative error stays under the 4-bit mantissa's half step (1/32)
		// above the linear segment.
		for x := -32768; x <= 32767; x++ {
			y := float64(tc.dec[tc.enc(int16(x))])
			if math.Abs(float64(x)) > 256 && math.Abs(y-float64(x))/math.Abs(float64(x)) > 1.0/16 {
				t.Fatalf("%s: %d decodes back as %v", tc.name, x, y)
			}
		}
	}
}

// The encoders match ffmpeg's pcm_mulaw and pcm_alaw on every 16-bit value.
func TestMatchesFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	ramp := make([]byte, 65536*2)
	for i := 0; i < 65536; i++ {
		binary.LittleEndian.PutUint16(ramp[2*i:], uint16(int16(i-32768)))
	}
	for _, c := range []struct {
		format string
		enc    func(int16) byte
	}{{"mulaw", EncodeULaw}, {"alaw", EncodeALaw}} {
		cmd := exec.Command("ffmpeg", "-v", "error", "-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "-", "-f", c.format, "-")
		cmd.Stdin = bytes.NewReader(ramp)
		out, err := cmd.Output()
		if err != nil || len(out) != 65536 {
			t.Fatalf("ffmpeg %s: %v (%d bytes)", c.format, err, len(out))
		}
		for i := 0; i < 65536; i++ {
			if got := c.enc(int16(i - 32768)); got != out[i] {
				t.Fatalf("%s of %d = %#x, ffmpeg says %#x", c.format, i-32768, got, out[i])
			}
		}
	}
}
