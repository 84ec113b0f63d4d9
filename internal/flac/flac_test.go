package flac

import (
	"bytes"
	"errors"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	mflac "github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

const fixture = "../../sources/testdata/flac/s16-mono-8k.flac" // 9600 samples in 3 frames of 4096

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeAll decodes b with reads of 1000 frames.
func decodeAll(b []byte) ([]float32, error) {
	d, err := NewDecoder(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []float32
	buf := make([]float32, 1000*d.Info().Channels)
	for {
		n, err := d.Read(buf)
		out = append(out, buf[:n*d.Info().Channels]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// frameEnds returns the byte offsets where the frames of b end.
func frameEnds(t *testing.T, b []byte) []int64 {
	d, err := NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	for d.next(); d.err == nil; d.next() {
		ends = append(ends, d.offset())
	}
	return ends
}

// A file cut between two frames is an error when STREAMINFO declares the
// length; when it does not (a stream written to a pipe) the cut cannot be
// told from the end, and the MD5 signature is not checked on a part.
func TestCutBetweenFrames(t *testing.T) {
	b := readFixture(t)
	ends := frameEnds(t, b)
	if len(ends) != 3 || ends[2] != int64(len(b)) {
		t.Fatalf("frames end at %v in %d bytes; want 3 frames", ends, len(b))
	}
	got, err := decodeAll(b[:ends[0]])
	want := "flac: the stream ends after 4096 of the 9600 samples its header declares (at 512ms): the file is truncated"
	if err == nil || err.Error() != want || len(got) != 4096 {
		t.Errorf("cut after frame 1: %d samples, %v\nwant 4096 samples and %s", len(got), err, want)
	}
	unknown := bytes.Clone(b[:ends[1]])
	unknown[21] &= 0xF0 // total samples (36 bits from the low nibble of byte 21) = 0
	clear(unknown[22:26])
	if _, err := decodeAll(unknown); err == nil || !strings.Contains(err.Error(), "does not match the MD5 signature") {
		t.Errorf("unknown length, cut after frame 2, with the MD5 signature: %v", err)
	}
	clear(unknown[26:42]) // no MD5 signature either, as in a stream written to a pipe
	d, err := NewDecoder(bytes.NewReader(unknown))
	if err != nil || d.Info().Samples != -1 {
		t.Fatalf("unknown length: %v, %+v", err, d.Info())
	}
	if got, err := decodeAll(unknown); err != nil || len(got) != 8192 {
		t.Errorf("unknown length, cut after frame 2: %d samples, %v; want 8192 and the end", len(got), err)
	}
	if _, err := decodeAll(b[:ends[2]-1]); err == nil || !strings.Contains(err.Error(), "the file ends inside frame 3") {
		t.Errorf("cut inside frame 3: %v", err)
	}
	header := b[:frameStart(t, b)]
	if _, err := decodeAll(header); err == nil || !strings.Contains(err.Error(), "ends after 0 of the 9600 samples") {
		t.Errorf("header only: %v", err)
	}
}

// frameStart returns the offset of b's first frame.
func frameStart(t *testing.T, b []byte) int64 {
	d, err := NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return d.offset()
}

// Data after the declared samples (an ID3v1 tag) is not audio, and not an
// error, as for other decoders.
func TestTrailingTag(t *testing.T) {
	b := readFixture(t)
	tag := append([]byte("TAG"), make([]byte, 125)...)
	got, err := decodeAll(append(bytes.Clone(b), tag...))
	if err != nil || len(got) != 9600 {
		t.Errorf("%d samples, %v; want 9600 and the end", len(got), err)
	}
}

// panicReader panics on its read after the first n bytes.
type panicReader struct {
	r io.Reader
	n int
}

func (p *panicReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		panic("boom")
	}
	b = b[:min(len(b), p.n)]
	n, err := p.r.Read(b)
	p.n -= n
	return n, err
}

// A panic under the decoder ends the stream with an error, after the audio
// before it, in the header as in a frame.
func TestPanicsBecomeErrors(t *testing.T) {
	b := readFixture(t)
	if _, err := NewDecoder(&panicReader{bytes.NewReader(b), 10}); err == nil || !strings.Contains(err.Error(), "flac: the decoder failed on the header: boom") {
		t.Errorf("header: %v", err)
	}
	d, err := NewDecoder(&panicReader{bytes.NewReader(b), len(b) - 100})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 20000)
	n, err := d.Read(buf)
	if err == nil || !strings.Contains(err.Error(), "flac: frame 3 (at 1.024s, byte ") || !strings.Contains(err.Error(), "the decoder failed: boom") || n != 8192 {
		t.Errorf("frame: %d samples, %v", n, err)
	}
	if n, err2 := d.Read(buf); n != 0 || err2 != err {
		t.Errorf("read after the error: %d, %v; want 0 and the same error", n, err2)
	}
}

// A header with garbage instead of its metadata blocks is an error that
// says so.
func TestBadHeader(t *testing.T) {
	b := readFixture(t)
	bad := bytes.Clone(b)
	bad[4] = 0x7F // block type 127: invalid
	if _, err := NewDecoder(bytes.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "flac: invalid header: ") {
		t.Errorf("invalid block type: %v", err)
	}
	if _, err := NewDecoder(bytes.NewReader([]byte("fLaX and more bytes than that"))); err == nil || !strings.HasPrefix(err.Error(), "flac: invalid header: invalid FLAC signature") {
		t.Errorf("bad signature: %v", err)
	}
	if _, err := NewDecoder(bytes.NewReader(append(id3(1000), "fLaC"...))); err == nil || err.Error() != "flac: the file ends inside its header: it is truncated" {
		t.Errorf("tag and signature only: %v", err)
	}
	if _, err := NewDecoder(bytes.NewReader(id3(1000)[:500])); err == nil || err.Error() != "flac: the file ends inside its ID3v2 tag: it is truncated" {
		t.Errorf("cut tag: %v", err)
	}
}

func id3(n int) []byte {
	tag := []byte{'I', 'D', '3', 3, 0, 0, byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
	return append(tag, make([]byte, n)...)
}

// Reading within a frame allocates nothing (mewkiz/flac allocates its
// frame's buffers once per frame).
func TestReadDoesNotAllocate(t *testing.T) {
	b := readFixture(t)
	d, err := NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 8)
	d.Read(buf) // decodes the first frame
	if a := testing.AllocsPerRun(400, func() { d.Read(buf) }); a != 0 {
		t.Errorf("%v allocations per 8-frame Read inside a frame, want 0", a)
	}
}

// Frames coded 24 kHz make mewkiz/flac log a line each unless rewritten;
// rewritten, they decode as ffmpeg decodes them, in silence, and a frame
// damaged elsewhere still fails its CRC.
func TestRateLogged(t *testing.T) {
	for _, tool := range []string{"sox", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed")
		}
	}
	dir := t.TempDir()
	wav, path := filepath.Join(dir, "a.wav"), filepath.Join(dir, "a.flac")
	run := func(name string, args ...string) []byte {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return out
	}
	run("sox", "-n", "-r", "24000", "-c", "2", "-b", "16", wav, "synth", "1", "sine", "300", "pinknoise", "vol", "0.5")
	run("ffmpeg", "-v", "error", "-y", "-i", wav, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&logged)
	got, err := decodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if logged.Len() != 0 {
		t.Errorf("mewkiz/flac logged:\n%s", logged.String())
	}
	s16 := run("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-")
	if len(got) != len(s16)/2 || len(got) != 48000 {
		t.Fatalf("%d samples, ffmpeg %d, want 48000", len(got), len(s16)/2)
	}
	for i := range got {
		if want := float32(int16(uint16(s16[2*i])|uint16(s16[2*i+1])<<8)) / 32768; got[i] != want {
			t.Fatalf("sample %d = %v, ffmpeg %v", i, got[i], want)
		}
	}
	ends := frameEnds(t, b)
	bad := bytes.Clone(b)
	bad[ends[1]-10] ^= 0x40 // in the subframes of frame 2
	if _, err := decodeAll(bad); err == nil || !strings.Contains(err.Error(), "flac: frame 2 ") {
		t.Errorf("damaged frame 2: %v", err)
	}
	bad = bytes.Clone(b)
	bad[ends[0]+1] ^= 0x01 // frame 2's header: fixed block size → variable
	if _, err := decodeAll(bad); err == nil || !strings.Contains(err.Error(), "flac: frame 2 ") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("damaged header of frame 2: %v", err)
	}
}

// The decoder never panics, hangs or lets mewkiz/flac log on damaged input
// (go test -fuzz FuzzDecoder ./internal/flac).
func FuzzDecoder(f *testing.F) {
	b := readFixture(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(append(id3(20), b...))
	var logged bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&logged)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeAll(data)
		if logged.Len() != 0 {
			t.Errorf("mewkiz/flac logged: %s", logged.String())
			logged.Reset()
		}
		if err == nil && len(got) == 0 {
			t.Error("no samples and no error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "flac: ") && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("error without the flac: prefix: %v", err)
		}
	})
}

// A stream of variable block sizes (written here by mewkiz/flac's own
// encoder, with the sample numbers in the frame headers) decodes to the
// samples encoded, and as ffmpeg decodes it.
func TestVariableBlockSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var.flac")
	sizes := []int{1000, 4096, 17, 2500, 300, 4095, 16, 777}
	want := writeVariable(t, path, sizes, 2, 16, 22050)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if start := frameStart(t, b); b[start+1] != 0xF9 {
		t.Fatalf("the first frame header starts % x: not a variable block size", b[start:start+2])
	}
	got, err := decodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != float32(want[i])/32768 {
			t.Fatalf("sample %d = %v, want %v", i, got[i], float32(want[i])/32768)
		}
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2*len(want) {
		t.Fatalf("ffmpeg decodes %d samples, want %d", len(out)/2, len(want))
	}
	for i := range want {
		if v := int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8); int32(v) != want[i] {
			t.Fatalf("ffmpeg sample %d = %d, want %d", i, v, want[i])
		}
	}
}

// writeVariable encodes blocks of the given sizes of a stereo chirp with
// noise into path as a variable-block-size stream, and returns its samples,
// interleaved.
func writeVariable(t *testing.T, path string, sizes []int, ch, bits, rate int) []int32 {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info := &meta.StreamInfo{BlockSizeMin: 16, BlockSizeMax: 4096, SampleRate: uint32(rate), NChannels: uint8(ch), BitsPerSample: uint8(bits)}
	enc, err := mflac.NewEncoder(f, info)
	if err != nil {
		t.Fatal(err)
	}
	var all []int32
	seed, n := uint32(1), 0
	for _, size := range sizes {
		fr := &frame.Frame{Header: frame.Header{BlockSize: uint16(size), SampleRate: uint32(rate), Channels: frame.ChannelsLR, BitsPerSample: uint8(bits)}}
		for c := range ch {
			sub := &frame.Subframe{SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, NSamples: size, Samples: make([]int32, size)}
			for i := range size {
				seed = seed*1664525 + 1013904223
				x := float64(n+i) / float64(rate)
				sub.Samples[i] = int32(12000*math.Sin(2*math.Pi*(200+300*x)*x*float64(c+1))) + int32(seed>>24) - 128
			}
			fr.Subframes = append(fr.Subframes, sub)
		}
		for i := range size {
			for c := range ch {
				all = append(all, fr.Subframes[c].Samples[i])
			}
		}
		if err := enc.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
		n += size
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return all
}

// A frame that does not end (here its residual runs on in zeros, a Rice
// code that never stops) fails within the limit of its block size: 1 KiB
// and twice 4096 17-bit samples (a side channel's size) for frame 2, not
// at the end of the file.
func TestFrameWithoutEnd(t *testing.T) {
	b := readFixture(t)
	ends := frameEnds(t, b)
	mid := (ends[0] + ends[1]) / 2
	data := append(bytes.Clone(b[:mid]), make([]byte, 4<<20)...)
	d, err := NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 10000)
	n, err := d.Read(buf)
	if n != 4096 || err == nil || !strings.HasPrefix(err.Error(), "flac: frame 2 (at 512ms, byte ") || !strings.HasSuffix(err.Error(), "): corrupt: no end within 18433 bytes") {
		t.Errorf("%d samples, %v", n, err)
	}
	if read := d.offset(); read > ends[0]+18433 {
		t.Errorf("read %d bytes, past frame 2's limit (it starts at %d): %v", read, ends[0], err)
	}
}

// Frame headers may leave the sample size to STREAMINFO (code 0), which
// mewkiz/flac would decode with 0 bits per sample: the fixture with every
// header rewritten so decodes to the same samples.
func TestSampleSizeFromStreamInfo(t *testing.T) {
	b := readFixture(t)
	want, err := decodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	ends := frameEnds(t, b)
	patched := bytes.Clone(b)
	start := frameStart(t, b)
	for _, end := range ends {
		f := patched[start:end]
		if f[3]&0x0E != 0x08 {
			t.Fatalf("frame at %d: sample size code %03b, want 100 (16 bits)", start, f[3]>>1&7)
		}
		f[3] &^= 0x0E
		h := 4 + utf8Len(f[4])
		switch f[2] >> 4 {
		case 6:
			h++
		case 7:
			h += 2
		}
		switch f[2] & 0x0F {
		case 0xC:
			h++
		case 0xD, 0xE:
			h += 2
		}
		f[h] = crc8(f[:h])
		var crc uint16
		for _, v := range f[:len(f)-2] {
			crc = crc16Byte(crc, v)
		}
		f[len(f)-2], f[len(f)-1] = byte(crc>>8), byte(crc)
		start = end
	}
	got, err := decodeAll(patched)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %v, want %v", i, got[i], want[i])
		}
	}
}
