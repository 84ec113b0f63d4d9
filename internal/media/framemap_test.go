package media_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// framePrefix decodes the first n bytes of a file, as a receiver that has
// had n bytes of it would, and returns the frames it gets.
func framePrefix(t *testing.T, data []byte, n int64) int64 {
	t.Helper()
	src, err := sources.Decode(bytes.NewReader(data[:n]))
	if err != nil {
		return 0 // not even the header yet
	}
	defer pipeline.Close(src)
	got, err := audiotest.ReadAll(src, 4096)
	if err != nil && err != io.EOF {
		t.Fatalf("decoding %d bytes: %v", n, err)
	}
	return int64(len(got) / src.Format().Channels)
}

// checkCuts cuts the file at path into pieces of at most max bytes (but
// whole frames) and checks, with the decoder, that every piece ends on a
// frame: the bytes up to each cut decode to exactly the frames the map
// says they hold.
func checkCuts(t *testing.T, path string, max int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := media.MapFrames(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != int64(len(data)) {
		t.Fatalf("size %d, file %d", m.Size, len(data))
	}
	var off int64
	pieces := 0
	for off < m.Size {
		cut := m.Cut(off, max)
		if cut <= off || cut > m.Size {
			t.Fatalf("Cut(%d, %d) = %d", off, max, cut)
		}
		want := m.Frames(0, cut)
		got := framePrefix(t, data, cut)
		if got != want && cut < m.Size {
			t.Fatalf("%d bytes decode to %d frames, the map says %d", cut, got, want)
		}
		// A cut inside the audio ends a frame: one byte less loses it.
		if want > 0 && m.Frames(cut, m.Size) > 0 && framePrefix(t, data, cut-1) == got {
			t.Fatalf("the cut at %d (from %d) is not at the end of a frame", cut, off)
		}
		off = cut
		pieces++
	}
	if total := framePrefix(t, data, m.Size); m.Frames(0, m.Size) != total {
		t.Errorf("the whole file decodes to %d frames, the map says %d", total, m.Frames(0, m.Size))
	}
	if pieces < 3 {
		t.Errorf("only %d pieces of at most %d bytes", pieces, max)
	}
}

// WAV: cuts fall on block boundaries after a header of odd length (an
// odd-sized chunk before the data), with 24-bit stereo blocks of 6 bytes.
func TestFrameMapWAV(t *testing.T) {
	var b bytes.Buffer
	const rate, frames = 8000, 4000
	put := func(v ...any) {
		for _, x := range v {
			binary.Write(&b, binary.LittleEndian, x)
		}
	}
	b.WriteString("RIFF")
	put(uint32(0))
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	put(uint32(16), uint16(1), uint16(2), uint32(rate), uint32(rate*6), uint16(6), uint16(24))
	b.WriteString("junk")
	put(uint32(3))
	b.Write([]byte{1, 2, 3, 0}) // odd size, padded
	b.WriteString("data")
	put(uint32(frames * 6))
	for i := range frames * 6 {
		b.WriteByte(byte(i * 31))
	}
	b.WriteString("LIST")
	put(uint32(4))
	b.WriteString("INFO")
	data := b.Bytes()
	binary.LittleEndian.PutUint32(data[4:], uint32(len(data)-8))
	path := filepath.Join(t.TempDir(), "odd.wav")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, max := range []int64{1000, 1001, 4096, 7} {
		checkCuts(t, path, max)
	}
	m, _ := media.MapFrames(path)
	if d := m.Duration(0, m.Size); d != 500*time.Millisecond {
		t.Errorf("duration %v", d)
	}
}

// MP3: cuts fall between frames, whatever the piece size, in a file with
// no Xing header (so every frame's samples are decoded, untrimmed) and an
// ID3 tag in front.
func TestFrameMapMP3(t *testing.T) {
	mp3, err := os.ReadFile(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44notag.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	tag := append([]byte("ID3\x03\x00\x00\x00\x00\x02\x00"), make([]byte, 256)...)
	path := filepath.Join(t.TempDir(), "tagged.mp3")
	if err := os.WriteFile(path, append(tag, mp3...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, max := range []int64{100, 1000, 1024, 3000} {
		checkCuts(t, path, max)
	}
	m, _ := media.MapFrames(path)
	if c := m.Cut(0, 100); c != 100 {
		t.Errorf("inside the tag the cut is free: Cut(0, 100) = %d", c)
	}
	if m.Kind != "mp3" || m.Rate != 44100 {
		t.Errorf("kind %q rate %d", m.Kind, m.Rate)
	}
}

// Files that are not WAV or MP3 are refused with a reason.
func TestFrameMapRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.flac")
	os.WriteFile(path, []byte("fLaC\x00\x00\x00\x22 and more bytes"), 0o644)
	if _, err := media.MapFrames(path); err == nil {
		t.Error("a FLAC file was mapped")
	}
	if _, err := media.MapFrames(filepath.Dir(path)); err == nil {
		t.Error("a directory was mapped")
	}
}

// The audio bytes leave out headers, tags and other chunks.
func TestFrameMapAudioBytes(t *testing.T) {
	mp3, err := os.ReadFile(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44notag.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "art.mp3")
	tag := append([]byte("ID3\x03\x00\x00\x00\x00\x40\x00"), make([]byte, 8192)...) // an 8 KiB ID3v2 tag
	os.WriteFile(path, append(append(tag, mp3...), []byte("TAG")...), 0o644)
	m, err := media.MapFrames(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.AudioBytes(); got != int64(len(mp3)) {
		t.Errorf("MP3: %d audio bytes, want %d", got, len(mp3))
	}
}
