package sources

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// The committed fixtures (testdata/flac/make.sh) decode without ffmpeg:
// the format and length STREAMINFO gives, the tones sox wrote, and the
// MD5 signature of libFLAC, which the decoder checks at the end, so the
// decoded integers are the ones encoded.
func TestFLACFixtures(t *testing.T) {
	cases := []struct {
		file   string
		format pipeline.Format
		frames int64
		freqs  []float64
	}{
		{"s16-mono-8k.flac", pipeline.Format{Rate: 8000, Channels: 1}, 9600, []float64{440}},
		{"s24-stereo-96k.flac", pipeline.Format{Rate: 96000, Channels: 2}, 2880, []float64{1000, 1500}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "flac", c.file)
			got := audiotest.CheckContract(t, func() (pipeline.Source, error) { return File(path)(context.Background()) })
			src, err := FLAC(path)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer pipeline.Close(src)
			if f, n := src.Format(), src.(pipeline.Lengther).Frames(); f != c.format || n != c.frames {
				t.Errorf("format %v, %d frames; want %v, %d", f, n, c.format, c.frames)
			}
			if len(got) != int(c.frames)*c.format.Channels {
				t.Fatalf("%d samples, want %d", len(got), int(c.frames)*c.format.Channels)
			}
			for ch, f := range c.freqs {
				amp, _, snr := audiotest.SineFit(audiotest.Channel(got, c.format.Channels, ch), f, c.format.Rate)
				if math.Abs(amp-0.5) > 0.001 || snr < 50 {
					t.Errorf("channel %d: %g Hz at amplitude %.4f, SNR %.0f dB; want 0.5 and > 50 dB", ch, f, amp, snr)
				}
			}
		})
	}
}

// Decode reads FLAC from any reader, seekable or not, like File.
func TestFLACDecodeReaders(t *testing.T) {
	path := filepath.Join("testdata", "flac", "s24-stereo-96k.flac")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := decodeFLACBytes(t, bytes.NewReader(data))
	if got := decodeFLACBytes(t, struct{ io.Reader }{bytes.NewReader(data)}); !equalSamples(got, want) {
		t.Error("a plain reader decodes differently from a bytes.Reader")
	}
	if got := decodeFLACBytes(t, io.NopCloser(bytes.NewReader(data))); !equalSamples(got, want) {
		t.Error("a ReadCloser decodes differently")
	}
}

// A FLAC file with ID3v2 tags before it (as some taggers write) is
// recognised as FLAC, not MP3: one tag, a tag with a footer, two tags, and
// a tag larger than the sniffing buffer, which File finds by reading the
// file at random.
func TestFLACAfterID3v2(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "flac", "s16-mono-8k.flac"))
	if err != nil {
		t.Fatal(err)
	}
	want := decodeFLACBytes(t, bytes.NewReader(data))
	cases := []struct {
		name  string
		tags  []byte
		plain bool // also decodes from a reader that cannot seek
	}{
		{"one tag", id3Tag(100, false), true},
		{"a tag with a footer", id3Tag(300, true), true},
		{"two tags", append(id3Tag(50, false), id3Tag(2000, true)...), true},
		{"a 200 KB tag (cover art)", id3Tag(200<<10, false), false},
	}
	dir := t.TempDir()
	for _, c := range cases {
		file := append(append([]byte{}, c.tags...), data...)
		path := filepath.Join(dir, "tagged.mp3")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := File(path)(context.Background())
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := audiotest.ReadAll(src, 1000)
		pipeline.Close(src)
		if err != nil || !equalSamples(got, want) {
			t.Errorf("%s: %d samples, %v; want the %d samples of the file without tags", c.name, len(got), err, len(want))
		}
		if c.plain {
			if got := decodeFLACBytes(t, struct{ io.Reader }{bytes.NewReader(file)}); !equalSamples(got, want) {
				t.Errorf("%s: decodes differently from a plain reader", c.name)
			}
		}
	}
}

// Damaged files end with an error that names the file (through the stage
// label), says what is wrong, and comes after the audio before the damage.
func TestFLACDamagedMessages(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "flac", "s16-mono-8k.flac"))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, data...)) }
	cases := []struct {
		name    string
		data    []byte
		open    string // the error of opening, or "" if it opens
		read    string // the error at the end of reading
		samples bool   // audio comes before the error
	}{
		{"cut inside a frame", data[:len(data)-50], "", "flac: the file ends inside frame 3 (at 1.024s, byte 2972): it is truncated", true},
		{"cut inside the header", data[:30], "flac: the file ends inside its header: it is truncated", "", false},
		{"a byte of the last frame changed", patch(func(b []byte) []byte { b[len(b)-100] ^= 0x10; return b }), "",
			"flac: the file ends inside frame 3 (at 1.024s, byte 2972): it is truncated, or the frame is corrupt", true},
		{"a byte of the second frame changed", patch(func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }), "",
			"flac: frame 2 (at 512ms, byte 1579): CRC-16 checksum mismatch; expected 0xFC16, got 0xDA6E: the frame is corrupt", true},
		{"MD5 signature changed", patch(func(b []byte) []byte { b[30] ^= 1; return b }), "",
			"flac: the decoded audio does not match the MD5 signature in the header", true},
		{"more samples declared", patch(func(b []byte) []byte { b[24]++; return b }), "",
			"flac: the stream ends after 9600 of the 9856 samples its header declares (at 1.2s): the file is truncated", true},
		{"32-bit samples declared", patch(func(b []byte) []byte { b[20] |= 0x01; b[21] |= 0xF0; return b }),
			"flac: 32-bit samples are not supported (the decoder reads 4 to 24 bits); convert with: ffmpeg -i IN -c:a pcm_s32le OUT.wav", "", false},
		{"sample rate 0", patch(func(b []byte) []byte { b[18], b[19], b[20] = 0, 0, b[20]&0x0F; return b }),
			"flac: invalid header: invalid sample rate (0)", "", false},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, "broken.flac")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		open, err := pipeline.OpenerText("file " + path)
		if err != nil {
			t.Fatal(err)
		}
		src, err := open(context.Background())
		if c.open != "" {
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.open) {
				t.Errorf("%s: open: %v\nwant the file's name and %q", c.name, err, c.open)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: open: %v", c.name, err)
			continue
		}
		got, err := audiotest.ReadAll(src, 512)
		pipeline.Close(src)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.read) {
			t.Errorf("%s: read: %v\nwant the file's name and %q", c.name, err, c.read)
		}
		if c.samples && len(got) < 512 {
			t.Errorf("%s: %d samples before the error, want the audio before the damage", c.name, len(got))
		}
	}
}

// decodeFLACBytes decodes r with Decode.
func decodeFLACBytes(t *testing.T, r io.Reader) []float32 {
	t.Helper()
	src, err := Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	got, err := audiotest.ReadAll(src, 333)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// id3Tag returns an ID3v2.4 tag with a payload of n zero bytes (padding),
// with a footer if asked.
func id3Tag(n int, footer bool) []byte {
	flags := byte(0)
	if footer {
		flags = 0x10
	}
	tag := []byte{'I', 'D', '3', 4, 0, flags, byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
	tag = append(tag, make([]byte, n)...)
	if footer {
		tag = append(tag, '3', 'D', 'I', 4, 0, flags, tag[6], tag[7], tag[8], tag[9])
	}
	return tag
}

func equalSamples(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
