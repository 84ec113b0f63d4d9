package mp3

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestParseHeader(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		ok   bool
		want Header
	}{
		// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo, no CRC.
		{[]byte{0xFF, 0xFB, 0x90, 0x64}, true, Header{Version: 1, Layer: 3, Bitrate: 128000, Rate: 44100, Size: 417}},
		// The same, padded, mono.
		{[]byte{0xFF, 0xFB, 0x92, 0xC4}, true, Header{Version: 1, Layer: 3, Bitrate: 128000, Rate: 44100, Padding: 1, Mono: true, Size: 418}},
		// MPEG-2 Layer III, 32 kbit/s, 22.05 kHz, with CRC.
		{[]byte{0xFF, 0xF2, 0x40, 0xC0}, true, Header{Version: 2, Layer: 3, CRC: true, Bitrate: 32000, Rate: 22050, Mono: true, Size: 104}},
		{[]byte{0xFF, 0xFB, 0xF0, 0x64}, false, Header{}}, // bitrate index 15
		{[]byte{0xFF, 0xFB, 0x9C, 0x64}, false, Header{}}, // sample rate index 3
		{[]byte{0xFF, 0xEB, 0x90, 0x64}, false, Header{}}, // reserved version
		{[]byte{0xFF, 0xF9, 0x90, 0x64}, false, Header{}}, // reserved layer
		{[]byte{0xFF, 0xFB, 0x90}, false, Header{}},       // too short
	} {
		h, ok := ParseHeader(c.b)
		if ok != c.ok {
			t.Errorf("% X: ok = %v, want %v", c.b, ok, c.ok)
			continue
		}
		if ok {
			h.RateIndex = 0
			if h != c.want {
				t.Errorf("% X: %+v, want %+v", c.b, h, c.want)
			}
		}
	}
}

func TestScannerAndMeasures(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "sine44notag.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	if !FindStream(append([]byte("junk"), b[:4096]...)) {
		t.Error("FindStream missed the stream after junk")
	}
	if FindStream(bytes.Repeat([]byte{0xFF, 0xFB, 0x90}, 100)) {
		t.Error("FindStream found a stream in sync bytes")
	}
	sc := NewScanner(bytes.NewReader(b))
	h, err := sc.Start()
	if err != nil || h.Rate != 44100 || sc.HasTag() {
		t.Fatalf("Start = %+v, %v (tag %v)", h, err, sc.HasTag())
	}
	var frames int
	for {
		_, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
	}
	if frames != sc.Frames() || sc.Offset() != int64(len(b)) {
		t.Errorf("%d frames (Frames %d), offset %d of %d bytes", frames, sc.Frames(), sc.Offset(), len(b))
	}
	if n := CountSamples(io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))); n != int64(frames*h.SamplesPerFrame()) {
		t.Errorf("CountSamples = %d, want %d", n, frames*h.SamplesPerFrame())
	}
	// An ID3v1 tag at the end is not audio.
	tagged := append(append([]byte{}, b...), append([]byte("TAG"), make([]byte, 125)...)...)
	if end, ok, err := AudioEnd(bytes.NewReader(tagged), 0); !ok || err != nil || end != int64(len(b)) {
		t.Errorf("AudioEnd = %d, %v, %v; want %d", end, ok, err, len(b))
	}
	if _, err := NewScanner(bytes.NewReader(make([]byte, 5000))).Start(); err != ErrNoFrames {
		t.Errorf("zeros: %v, want ErrNoFrames", err)
	}
}
