package sources

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

const mp3Fixtures = "testdata/mp3"

// mp3Tone describes a fixture made by testdata/mp3/make.sh: per channel a
// sine amp*sin(2π f n/rate) starting at n = 0, lasting n frames.
type mp3Tone struct {
	file  string
	rate  int
	n     int
	freqs []float64 // per channel
	amps  []float64
}

var mp3GaplessFixtures = []mp3Tone{
	{"sine44m.mp3", 44100, 22100, []float64{441}, []float64{0.5}},
	{"sine44s.mp3", 44100, 22100, []float64{441, 882}, []float64{0.5, 0.25}},
	{"sine44ff.mp3", 44100, 22100, []float64{441}, []float64{0.5}},
	{"sine44crc.mp3", 44100, 22100, []float64{441}, []float64{0.5}},
	{"sine22v.mp3", 22050, 11050, []float64{441}, []float64{0.5}},
}

func readMP3Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mp3Fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeMP3Bytes decodes b whole; the stream must end without error.
func decodeMP3Bytes(t testing.TB, b []byte) (pipeline.Source, []float32) {
	t.Helper()
	src, err := DecodeMP3(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("DecodeMP3: %v", err)
	}
	return src, audiotest.MustReadAll(t, src)
}

// snr returns the power of ref over the power of got-ref, in dB, over
// their common length.
func snr(got, ref []float64) float64 {
	var s, e float64
	for i := range min(len(got), len(ref)) {
		d := got[i] - ref[i]
		e += d * d
		s += ref[i] * ref[i]
	}
	if e == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/e)
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func sine(n int, f, amp float64, rate int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate))
	}
	return out
}

// The LAME-tagged fixtures decode to exactly the samples that were encoded:
// the length is exact, the tone is in phase with the input (not one sample
// off) and close to it, and the decode matches ffmpeg's gapless decode.
func TestMP3Gapless(t *testing.T) {
	for _, tc := range mp3GaplessFixtures {
		t.Run(tc.file, func(t *testing.T) {
			src, got := decodeMP3Bytes(t, readMP3Fixture(t, tc.file))
			f := src.Format()
			if f.Rate != tc.rate || f.Channels != len(tc.freqs) {
				t.Fatalf("format %v, want %d Hz %d ch", f, tc.rate, len(tc.freqs))
			}
			if n := pipeline.FramesOf(src); n != int64(tc.n) {
				t.Errorf("Frames() = %d, want %d", n, tc.n)
			}
			if len(got)/f.Channels != tc.n {
				t.Fatalf("decoded %d frames, want %d", len(got)/f.Channels, tc.n)
			}
			for c := range f.Channels {
				mp3CheckTone(t, fmt.Sprintf("ch %d", c), audiotest.Channel(got, f.Channels, c), tc.freqs[c], tc.amps[c], tc.rate)
			}
			ff := audiotest.FFmpegDecode(t, filepath.Join(mp3Fixtures, tc.file), 0)
			if len(ff) != len(got) {
				t.Fatalf("ffmpeg decodes %d samples, we %d", len(ff), len(got))
			}
			s, md := snr(float64s(got), float64s(ff)), audiotest.MaxDiff(got, ff)*32768
			t.Logf("vs ffmpeg: SNR %.1f dB, max diff %.2f LSB", s, md)
			if s < 85 || md > 3 {
				t.Errorf("vs ffmpeg: SNR %.1f dB, max diff %.2f LSB; want ≥ 85 dB, ≤ 3 LSB", s, md)
			}
		})
	}
}

// mp3CheckTone checks that x is the tone amp*sin(2π f n/rate) from n = 0 on:
// in phase (one sample of shift is 2πf/rate, 0.063 rad for 441 Hz at
// 44.1 kHz), at the right level (LAME encodes these tones up to 0.45 dB
// low, as its own decoder shows), and clean.
func mp3CheckTone(t *testing.T, what string, x []float64, f, amp float64, rate int) {
	t.Helper()
	a, phase, fitSNR := audiotest.SineFit(x, f, rate)
	s := snr(x, sine(len(x), f, a, rate)) // the input shape at the decoded level
	t.Logf("%s: amp %.4f (%.2f dB), phase %.5f rad, sine-fit SNR %.1f dB, SNR vs the input tone %.1f dB",
		what, a, 20*math.Log10(a/amp), phase, fitSNR, s)
	if math.Abs(phase) > 0.005 {
		t.Errorf("%s: phase %.5f rad: not aligned with the input", what, phase)
	}
	if math.Abs(20*math.Log10(a/amp)) > 0.6 {
		t.Errorf("%s: amplitude %.4f, want %.4f", what, a, amp)
	}
	if s < 40 || fitSNR < 40 {
		t.Errorf("%s: SNR %.1f dB vs the input tone, %.1f dB sine fit; want ≥ 40", what, s, fitSNR)
	}
}

// A LAME-tagged tone of a whole number of periods, played twice in a row,
// is one continuous tone. A sample dropped, repeated or silent at the
// joint would put an error of about amp*2πf/rate (-33 dBFS here) there.
func TestMP3GaplessJoint(t *testing.T) {
	for _, tc := range mp3GaplessFixtures {
		t.Run(tc.file, func(t *testing.T) {
			b := readMP3Fixture(t, tc.file)
			_, once := decodeMP3Bytes(t, b)
			var ffJoint []float64
			if _, err := exec.LookPath("ffmpeg"); err == nil {
				ff := audiotest.FFmpegDecode(t, filepath.Join(mp3Fixtures, tc.file), 0)
				ffJoint = mp3JointResidual(t, "ffmpeg", append(ff, ff...), tc)
			}
			joint := mp3JointResidual(t, "ours", append(once, once...), tc)
			for c, j := range joint {
				if j > 0.0032 { // -50 dBFS
					t.Errorf("ch %d: residual at the joint %.2e (%.1f dBFS), want < -50 dBFS", c, j, 20*math.Log10(j))
				}
				if ffJoint != nil && j > 1.05*ffJoint[c]+1e-5 {
					t.Errorf("ch %d: residual at the joint %.2e, ffmpeg's %.2e", c, j, ffJoint[c])
				}
			}
		})
	}
}

// mp3JointResidual fits one sine per channel across both copies of a
// fixture's decode in x, checks the fit and the step at the joint, logs the
// residual at the joint and elsewhere, and returns the residual's RMS over
// 5 ms around the joint, per channel.
func mp3JointResidual(t *testing.T, who string, x []float32, tc mp3Tone) []float64 {
	t.Helper()
	ch := len(tc.freqs)
	var out []float64
	for c := range ch {
		y := audiotest.Channel(x, ch, c)
		amp, phase, fitSNR := audiotest.SineFit(y, tc.freqs[c], tc.rate)
		w := 2 * math.Pi * tc.freqs[c] / float64(tc.rate)
		res := make([]float64, len(y))
		for i := range y {
			res[i] = y[i] - amp*math.Sin(w*float64(i)+phase)
		}
		win := tc.rate / 200
		joint := audiotest.RMS(res[tc.n-win/2 : tc.n+win/2])
		worst := 0.0
		for s := win; s+win <= tc.n-win; s += win / 2 {
			worst = max(worst, audiotest.RMS(res[s:s+win]))
		}
		step := math.Abs(y[tc.n] - y[tc.n-1])
		t.Logf("%s ch %d: fit SNR over both copies %.1f dB; residual RMS at the joint %.2e (%.1f dBFS), worst 5 ms elsewhere %.2e; step at the joint %.4f (the sine's largest %.4f)",
			who, c, fitSNR, joint, 20*math.Log10(joint), worst, step, amp*w)
		if fitSNR < 40 {
			t.Errorf("%s ch %d: the two copies are not one tone: fit SNR %.1f dB", who, c, fitSNR)
		}
		if step > amp*w+0.003 {
			t.Errorf("%s ch %d: step %.4f at the joint: a click", who, c, step)
		}
		out = append(out, joint)
	}
	return out
}

// Without a LAME tag nothing is trimmed, like ffmpeg: the encoder delay
// (576) and the decoder delay (529) come first, and the whole last frame is
// there. go-mp3's synthesis has ffmpeg's decoder delay.
func TestMP3NoLAMETag(t *testing.T) {
	const file = "sine44notag.mp3"
	src, got := decodeMP3Bytes(t, readMP3Fixture(t, file))
	if n := pipeline.FramesOf(src); n != 21*1152 {
		t.Errorf("Frames() = %d, want 21 frames counted (%d)", n, 21*1152)
	}
	if len(got) != 21*1152 {
		t.Errorf("decoded %d frames, want 21 whole frames (%d)", len(got), 21*1152)
	}
	const delay = 576 + mp3.DecoderDelay
	mp3CheckTone(t, "after the delay", float64s(got)[delay:delay+22100], 441, 0.5, 44100)
	ff := audiotest.FFmpegDecode(t, filepath.Join(mp3Fixtures, file), 0)
	if len(ff) != len(got) {
		t.Fatalf("ffmpeg decodes %d samples, we %d", len(ff), len(got))
	}
	if s := snr(float64s(got), float64s(ff)); s < 85 {
		t.Errorf("vs ffmpeg: SNR %.1f dB, want ≥ 85", s)
	}
}

// MPEG-2 frames whose length go-mp3 gets wrong (22050 Hz, 32 kbit/s,
// padded) decode like ffmpeg decodes them.
func TestMP3MPEG2PaddedFrames(t *testing.T) {
	const file = "sine22cbr32.mp3"
	b := readMP3Fixture(t, file) // frames go-mp3 would cut short: see internal/mp3's TestPaddedMPEG2Fixture
	_, got := decodeMP3Bytes(t, b)
	// The tone, after encoder (576) and decoder (529) delay.
	x := float64s(got)[1105 : 1105+11050]
	if a, phase, fitSNR := audiotest.SineFit(x, 441, 22050); math.Abs(phase) > 0.01 || fitSNR < 25 || math.Abs(a-0.5) > 0.05 {
		t.Errorf("tone: amp %.3f, phase %.4f rad, SNR %.1f dB; want 0.5, 0, ≥ 25 dB (32 kbit/s)", a, phase, fitSNR)
	}
	ff := audiotest.FFmpegDecode(t, filepath.Join(mp3Fixtures, file), 0)
	if len(ff) != len(got) {
		t.Fatalf("ffmpeg decodes %d samples, we %d", len(ff), len(got))
	}
	s := snr(float64s(got), float64s(ff))
	t.Logf("vs ffmpeg SNR %.1f dB", s)
	if s < 85 {
		t.Errorf("vs ffmpeg: SNR %.1f dB, want ≥ 85", s)
	}
}

// For a stream that go-mp3 reads right, the repacked frames decode to
// exactly go-mp3's own output.
func TestMP3RepackTransparent(t *testing.T) {
	files := []string{filepath.Join(mp3Fixtures, "sine44notag.mp3")}
	for _, name := range []string{"l3-si_block.mp3"} {
		p := filepath.Join(mp3Corpus, "lieff-minimp3", name)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		src, got := decodeMP3Bytes(t, b)
		if n := src.(*mp3Source).scan.Lost(); n != 0 {
			t.Errorf("%s: %d frames decoded as silence", p, n)
		}
		dec, err := gomp3.NewDecoder(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(dec)
		if err != nil {
			t.Fatal(err)
		}
		ch := src.Format().Channels
		if len(raw)/4 != len(got)/ch {
			t.Fatalf("%s: go-mp3 gives %d frames, we %d", p, len(raw)/4, len(got)/ch)
		}
		for i := range len(got) / ch {
			want := mp3Sample(raw[4*i], raw[4*i+1])
			if ch == 2 {
				if got[2*i] != want || got[2*i+1] != mp3Sample(raw[4*i+2], raw[4*i+3]) {
					t.Fatalf("%s: frame %d differs from go-mp3", p, i)
				}
			} else if got[i] != want {
				t.Fatalf("%s: frame %d differs from go-mp3", p, i)
			}
		}
	}
}

// Tag builders for TestMP3Tags.

func syncsafe(n int) []byte {
	return []byte{byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
}

// id3v2 returns an ID3v2.4 tag with one APIC-like frame of size payload
// bytes of noise (full of 0xFF sync patterns), with a footer if asked.
func id3v2(payload int, footer bool, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(r.Uint32())
		if i%7 == 0 {
			data[i] = 0xFF // plenty of fake frame syncs
		}
	}
	frame := append([]byte("APIC"), syncsafe(len(data))...)
	frame = append(frame, 0, 0)
	frame = append(frame, data...)
	flags := byte(0)
	if footer {
		flags = 0x10
	}
	tag := append([]byte{'I', 'D', '3', 4, 0, flags}, syncsafe(len(frame))...)
	tag = append(tag, frame...)
	if footer {
		tag = append(tag, '3', 'D', 'I', 4, 0, flags)
		tag = append(tag, syncsafe(len(frame))...)
	}
	return tag
}

func id3v1() []byte {
	t := make([]byte, 128)
	copy(t, "TAGtitle\xff\xfb\x90\x64")
	return t
}

// apev2 returns an APEv2 tag with a binary item (which holds a fake frame
// header), with or without its header.
func apev2(withHeader bool) []byte {
	item := []byte{}
	value := []byte("\xff\xfb\x90\x64 cover art bytes \xff\xfb\x92\x64")
	item = binary.LittleEndian.AppendUint32(item, uint32(len(value)))
	item = binary.LittleEndian.AppendUint32(item, 1<<1) // binary
	item = append(item, "Cover Art (front)\x00"...)
	item = append(item, value...)
	hf := func(isHeader bool) []byte {
		b := []byte("APETAGEX")
		b = binary.LittleEndian.AppendUint32(b, 2000)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(item)+32))
		b = binary.LittleEndian.AppendUint32(b, 1)
		flags := uint32(0)
		if withHeader {
			flags |= 1 << 31
		}
		if isHeader {
			flags |= 1 << 29
		}
		b = binary.LittleEndian.AppendUint32(b, flags)
		return append(b, make([]byte, 8)...)
	}
	var out []byte
	if withHeader {
		out = append(out, hf(true)...)
	}
	out = append(out, item...)
	return append(out, hf(false)...)
}

// lyrics3v2 returns a Lyrics3 v2.00 tag (which goes before an ID3v1 tag).
func lyrics3v2() []byte {
	body := "LYRICSBEGININD0000210LYR00010la la la \xff\xfb"
	return []byte(body + fmt.Sprintf("%06d", len(body)) + "LYRICS200")
}

type onlyReader struct{ io.Reader } // hides Seek

// Tags before, between and after the frames are skipped, whether the
// reader can seek (tags at the end found from the end) or not (found in
// the stream): the samples are identical to those of the untagged file.
func TestMP3Tags(t *testing.T) {
	base := readMP3Fixture(t, "sine22v.mp3")
	_, want := decodeMP3Bytes(t, base)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		data []byte
	}{
		{"id3v2 with 200 kB picture", cat(id3v2(200<<10, false, 1), base)},
		{"two id3v2", cat(id3v2(3000, false, 2), id3v2(5000, false, 3), base)},
		{"id3v2.4 with footer", cat(id3v2(4000, true, 4), base)},
		{"id3v2 then zero padding", cat(id3v2(1000, false, 5), make([]byte, 2000), base)},
		{"id3v1", cat(base, id3v1())},
		{"apev2 with header", cat(base, apev2(true))},
		{"apev2 footer only, id3v1", cat(base, apev2(false), id3v1())},
		{"lyrics3v2, id3v1", cat(base, lyrics3v2(), id3v1())},
		{"all", cat(id3v2(7000, true, 6), id3v2(100, false, 7), base, apev2(true), lyrics3v2(), id3v1())},
	}
	for _, tc := range cases {
		for _, seek := range []bool{true, false} {
			var r io.Reader = bytes.NewReader(tc.data)
			if !seek {
				r = onlyReader{r}
			}
			src, err := DecodeMP3(r)
			if err != nil {
				t.Fatalf("%s (seekable %v): %v", tc.name, seek, err)
			}
			got := audiotest.MustReadAll(t, src)
			if n := pipeline.FramesOf(src); n != 11050 {
				t.Errorf("%s (seekable %v): Frames() = %d, want 11050", tc.name, seek, n)
			}
			if len(got) != len(want) {
				t.Fatalf("%s (seekable %v): %d samples, want %d", tc.name, seek, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s (seekable %v): sample %d differs", tc.name, seek, i)
				}
			}
		}
	}
}

// A file that is longer or shorter than its Xing header says (two files
// concatenated, a cut file) does not claim a length when the reader can
// seek; the padding of the first is still trimmed, as ffmpeg does.
func TestMP3LengthMismatch(t *testing.T) {
	base := readMP3Fixture(t, "sine44m.mp3")
	_, one := decodeMP3Bytes(t, base)
	src, two := decodeMP3Bytes(t, append(append([]byte{}, base...), base...))
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("concatenated: Frames() = %d, want -1", n)
	}
	// The first part, trimmed, then the second as plain frames: its tag
	// frame decodes as silence, as with ffmpeg and mpg123.
	want := len(one) + int(src.(*mp3Source).scan.Tag().Frames+1)*1152
	if len(two) != want {
		t.Errorf("concatenated: %d frames, want %d", len(two), want)
	}
	for i := range one {
		if two[i] != one[i] {
			t.Fatalf("concatenated: sample %d of the first part differs", i)
		}
	}
	src, _ = decodeMP3Bytes(t, base[:len(base)-1000])
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("cut: Frames() = %d, want -1", n)
	}
}

// Bad input gives an error or a short stream, never a panic.
func TestMP3Malformed(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		data       []byte
		err        string
	}{
		{name: "empty", data: nil, err: "no MPEG audio frames"},
		{name: "id3v2 only", data: id3v2(3000, false, 8), err: "no MPEG audio frames"},
		{name: "five bytes", data: []byte{0xFF, 0xFB, 0x90, 0x64, 0}, err: ""},
		{name: "text", data: bytes.Repeat([]byte("not an mp3 file\n"), 1000), err: "no MPEG audio frames"},
		{name: "layer II", file: "layer2.mp3", err: "MPEG-1 Layer II audio is not supported"},
		{name: "MPEG-2.5", file: "mpeg25.mp3", err: "MPEG-2.5 audio (8000 Hz) is not supported"},
	} {
		data := tc.data
		if tc.file != "" {
			data = readMP3Fixture(t, tc.file)
		}
		src, err := DecodeMP3(bytes.NewReader(data))
		switch {
		case tc.err == "" && err == nil:
			if got := audiotest.MustReadAll(t, src); len(got) != 0 {
				t.Errorf("%s: %d samples, want none", tc.name, len(got))
			}
		case tc.err == "":
			// A header cut short may be an error too.
			if !strings.HasPrefix(err.Error(), "mp3: ") {
				t.Errorf("%s: error %q lacks the mp3: prefix", tc.name, err)
			}
		case err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "mp3: "):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.err)
		}
	}

	// Only the Info frame of a LAME file: an empty stream of known length.
	b := readMP3Fixture(t, "sine44m.mp3")
	h, _ := mp3.ParseHeader(b)
	for _, r := range []io.Reader{bytes.NewReader(b[:h.Size]), onlyReader{bytes.NewReader(b[:h.Size])}} {
		src, err := DecodeMP3(r)
		if err != nil {
			t.Fatalf("Info frame only: %v", err)
		}
		if got := audiotest.MustReadAll(t, src); len(got) != 0 || pipeline.FramesOf(src) != 0 || src.Format() != (pipeline.Format{Rate: 44100, Channels: 1}) {
			t.Errorf("Info frame only: %d samples, Frames() %d, %v; want none, 0, 44100 Hz mono", len(got), pipeline.FramesOf(src), src.Format())
		}
	}

	// Random bytes, seekable or not.
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 20 {
		data := make([]byte, 100+r.IntN(20000))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		mp3MustNotPanic(t, data, i%2 == 0)
	}
}

// mp3MustNotPanic decodes data to the end; it fails on a panic, on
// non-finite samples and on errors without the mp3: prefix.
func mp3MustNotPanic(t *testing.T, data []byte, seek bool) (samples int, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic on %d bytes: %v", len(data), p)
		}
	}()
	var rd io.Reader = bytes.NewReader(data)
	if !seek {
		rd = onlyReader{rd}
	}
	src, err := DecodeMP3(rd)
	if err == nil {
		var got []float32
		got, err = audiotest.ReadAll(src, 1000)
		samples = len(got)
		for _, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1.0001 {
				t.Fatalf("sample %v out of range", v)
			}
		}
	}
	if err != nil && !strings.HasPrefix(err.Error(), "mp3: ") {
		t.Errorf("error %q lacks the mp3: prefix", err)
	}
	return samples, err
}

// A file cut anywhere decodes to a prefix of the whole file's samples: the
// cut frame is dropped.
func TestMP3Truncated(t *testing.T) {
	for _, file := range []string{"sine44s.mp3", "sine22v.mp3"} {
		base := readMP3Fixture(t, file)
		_, full := decodeMP3Bytes(t, base)
		for _, cut := range []int{40, 417, 1555, len(base) / 2, len(base) - 200, len(base) - 1} {
			if cut >= len(base) {
				continue
			}
			src, err := DecodeMP3(bytes.NewReader(base[:cut]))
			if err != nil {
				if !errors.Is(err, mp3.ErrNoFrames) {
					t.Errorf("%s cut at %d: %v", file, cut, err)
				}
				continue
			}
			got := audiotest.MustReadAll(t, src)
			if len(got) > len(full) {
				t.Fatalf("%s cut at %d: %d samples, more than the whole file's %d", file, cut, len(got), len(full))
			}
			for i := range got {
				if got[i] != full[i] {
					t.Fatalf("%s cut at %d: sample %d differs from the whole file's", file, cut, i)
				}
			}
		}
	}
}

// Corrupt bytes in the middle of a stream: junk between frames is skipped;
// a frame go-mp3 fails on ends the stream with an error; nothing panics.
func TestMP3Corrupt(t *testing.T) {
	base := readMP3Fixture(t, "sine44s.mp3")
	_, full := decodeMP3Bytes(t, base)

	// Junk inserted between two frames is skipped: the frames after it
	// decode as before (the frame layout is untouched).
	h, _ := mp3.ParseHeader(base)
	at := h.Size // after the tag frame
	for range 3 {
		h2, _ := mp3.ParseHeader(base[at:])
		at += h2.Size
	}
	junk := bytes.Repeat([]byte{0xFF, 0xFB, 0x00, 0x12, 0x34}, 50)
	src, got := decodeMP3Bytes(t, append(append(append([]byte{}, base[:at]...), junk...), base[at:]...))
	if len(got) != len(full) {
		t.Fatalf("with junk: %d samples, want %d", len(got), len(full))
	}
	for i := range got {
		if got[i] != full[i] {
			t.Fatalf("with junk: sample %d differs", i)
		}
	}
	if s := src.(*mp3Source).scan.Skipped(); s != int64(len(junk)) {
		t.Errorf("skipped %d bytes, want %d", s, len(junk))
	}

	r := rand.New(rand.NewPCG(3, 4))
	errs := 0
	base = readMP3Fixture(t, "sine22v.mp3") // MPEG-2: repacked frames
	for i := range 16 {
		data := append([]byte{}, base...)
		for range 1 + r.IntN(20) {
			data[500+r.IntN(len(data)-500)] = byte(r.Uint32())
		}
		if _, err := mp3MustNotPanic(t, data, i%2 == 0); err != nil {
			errs++
		}
	}
	t.Logf("16 corrupted files: %d ended with an error", errs)
}

// go-mp3 panics on some corrupt frames; the panic becomes an error naming
// the frame.
func TestMP3DecoderPanic(t *testing.T) {
	// go-mp3's Read on a nil decoder panics, like a crash inside it.
	sc := mp3.NewScanner(bytes.NewReader(readMP3Fixture(t, "sine44s.mp3")))
	if _, err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if _, err := sc.Next(); err != nil {
			t.Fatal(err)
		}
	}
	d := &mp3Source{scan: sc, base: 10}
	_, err := d.decode()
	want := fmt.Sprintf("mp3: corrupt audio frame 7 at byte %d: decoder panic", 10+sc.FrameOffset())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// The Source contract: every read size gives the same samples, EOF rules.
func TestMP3Contract(t *testing.T) {
	for _, file := range []string{"sine44s.mp3", "sine22v.mp3"} {
		open := MP3(filepath.Join(mp3Fixtures, file))
		got := audiotest.CheckContract(t, func() (pipeline.Source, error) { return open(context.Background()) })
		if len(got) == 0 {
			t.Errorf("%s: no samples", file)
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed int
}

func (c *closeRecorder) Close() error { c.closed++; return nil }

func TestMP3OpenAndClose(t *testing.T) {
	_, err := MP3(filepath.Join(mp3Fixtures, "missing.mp3"))(context.Background())
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "missing.mp3") || !strings.HasPrefix(err.Error(), "mp3: ") {
		t.Errorf("missing file: %v; want mp3: not exist, without the file name", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MP3(filepath.Join(mp3Fixtures, "sine44m.mp3"))(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	c := &closeRecorder{Reader: bytes.NewReader(readMP3Fixture(t, "sine44m.mp3"))}
	src, err := DecodeMP3(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.(io.Closer).Close(); err != nil || c.closed != 1 {
		t.Errorf("Close = %v, closed %d times", err, c.closed)
	}
	if n, err := src.Read(make([]float32, 100)); n != 0 || err == nil || err == io.EOF {
		t.Errorf("Read after Close = %d, %v", n, err)
	}
	src.(io.Closer).Close()
	if c.closed != 1 {
		t.Errorf("second Close closed the reader again")
	}

	c = &closeRecorder{Reader: strings.NewReader("no mp3 here")}
	if _, err := DecodeMP3(c); err == nil || c.closed != 1 {
		t.Errorf("failed DecodeMP3: err %v, reader closed %d times; want an error and 1", err, c.closed)
	}
}

// Reads that the decoded frame can serve allocate nothing.
func TestMP3ReadAllocs(t *testing.T) {
	src, err := DecodeMP3(bytes.NewReader(readMP3Fixture(t, "sine44s.mp3")))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 2*1152)
	// The first frame has 1152-1105 samples after the delay; then decode
	// the second.
	for _, n := range []int{1152 - 1105, 1} {
		if got, err := src.Read(buf[:2*n]); got != n || err != nil {
			t.Fatalf("Read = %d, %v; want %d", got, err, n)
		}
	}
	d := src.(*mp3Source)
	if left := d.pcmLen - d.pcmPos; left < 101 {
		t.Fatalf("only %d frames left in the buffer", left)
	}
	if a := testing.AllocsPerRun(100, func() { src.Read(buf[:2]) }); a != 0 {
		t.Errorf("%v allocations per Read", a)
	}
}

const mp3Corpus = "../../shared/corpus"

// mp3CorpusCase says what a corpus file must give. Frame counts are in
// samples per channel.
type mp3CorpusCase struct {
	err      string // the error wanted; "" for a decode
	noRef    bool   // do not compare with the .pcm reference
	refSkip  int    // leading frames of ours the reference leaves out
	refLen   int    // compare only this many frames with the reference
	noFF     bool   // do not compare with ffmpeg
	ffLen    int    // compare only this many frames with ffmpeg
	perFrame bool   // the reference switches channel count frame by frame
	whole    bool   // decode all of a long file
	maxLSB   float64
	// isLSB is the bound for frames with intensity stereo (and the frame
	// after each, which overlaps it), which go-mp3 decodes inexactly;
	// negative: do not compare them.
	isLSB float64
}

// Every MP3 of the shared corpus decodes or fails cleanly. Where a
// reference decode (.pcm, by minimp3) exists it is matched within go-mp3's
// accuracy, and so is ffmpeg's decode, sample-aligned.
//
// Tolerance: go-mp3 synthesizes in float32 and truncates to 16 bits (which
// mp3Sample undoes to half a step); the references are rounded 16-bit
// decodes and ffmpeg's is float. Standard-conforming decoders agree within
// 1-2 LSB, so the bound is 3 LSB (about -80 dBFS) of largest difference.
func TestMP3Corpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(mp3Corpus, "*", "*.mp3"))
	if len(files) == 0 {
		t.Skip("no corpus at " + mp3Corpus)
	}
	cases := map[string]mp3CorpusCase{
		// Every MPEG-2 bitrate at 22050 Hz: the padded frames go-mp3 reads
		// one byte short.
		"M2L3_bitrate_22_all.mp3":          {whole: true},
		"l1-fl4.mp3":                       {err: "MPEG-1 Layer I audio is not supported"},
		"l2-fl13.mp3":                      {err: "MPEG-1 Layer II audio is not supported"},
		"l3-he_free.mp3":                   {err: "free-format"},
		"l3-nonstandard-big-iscf.mp3":      {err: "no MPEG audio frames"},
		"l3-nonstandard-sideinfo-size.mp3": {err: "no MPEG audio frames"},
		"l3-nonstandard-small.mp3":         {err: "no MPEG audio frames"},
		"l3-nonstandard-id3v2-only.mp3":    {err: "no MPEG audio frames"},
		// A stream cut before its first frame: minimp3 drops the 2 frames
		// whose bit reservoir is missing, we decode them as silence, ffmpeg
		// decodes them from what it has.
		"l3-sin1k0db.mp3": {refSkip: 2 * 1152, noFF: true},
		// The last frame is cut: ffmpeg decodes it, minimp3 and we drop it.
		"l3-compl.mp3": {ffLen: 216 * 1152},
		// minimp3's reference leaves out the last frame.
		"l3-he_32khz.mp3": {refLen: 149 * 1152},
		"l3-he_48khz.mp3": {refLen: 149 * 1152},
		"l3-si_block.mp3": {refLen: 63 * 1152},
		// minimp3 skips frame 10, whose emphasis field has its reserved
		// value; ffmpeg and we ignore the field.
		"l3-hecommon.mp3": {refLen: 10 * 1152},
		// MPEG-2 with intensity stereo, which go-mp3 decodes as MPEG-1's
		// (wrong): only the 30 frames without it are compared. Of those,
		// go-mp3 also gets the short-block frames 244 and 245 wrong.
		"l3-test46.mp3": {isLSB: -1, refLen: 244 * 576, ffLen: 244 * 576},
		// ffmpeg 5.1's decode differs from minimp3's by up to 1244 LSB
		// (3199 samples by more than 3); we match minimp3 within 1 LSB.
		"M2L3_compl24.mp3": {noFF: true},
		// Mono, dual-channel, stereo and joint-stereo frames in turn: we
		// keep the first frame's channel count (mono) and mix the others
		// down; minimp3's reference has each frame's own channel count.
		// go-mp3's intensity stereo is up to 15 LSB (-67 dBFS) off.
		"l3-he_mode.mp3": {perFrame: true, noFF: true, isLSB: 16},
		// Single frames: ffmpeg refuses files this short.
		"l3-nonstandard-id3v1.mp3":        {noFF: true},
		"l3-nonstandard-id3v2.mp3":        {noFF: true},
		"l3-nonstandard-apetag.mp3":       {noFF: true},
		"l3-nonstandard-id3v1-apetag.mp3": {noFF: true},
		"l3-compl-cut.mp3":                {noFF: true},
		// A Xing tag whose fields run past its frame: minimp3 decodes the
		// frame as audio, ffmpeg and we take it for a tag.
		"l3-nonstandard-vbrtag-oob-read.mp3": {noRef: true, noFF: true},
		// Tag frames only: empty streams (ffmpeg refuses these files).
		"l3-nonstandard-vbrtag-only.mp3":      {noFF: true},
		"l3-nonstandard-vbrtag-empty.mp3":     {noFF: true},
		"l3-nonstandard-vbrtag-noframes.mp3":  {noFF: true},
		"l3-nonstandard-vbrtag-corrupted.mp3": {noFF: true},
	}
	for _, p := range files {
		name := filepath.Base(p)
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.maxLSB == 0 {
				tc.maxLSB = 3
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			src, err := DecodeMP3(bytes.NewReader(b))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%s: error %v, want %q", name, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			limit := mp3CorpusMaxFrames
			if tc.whole {
				limit = math.MaxInt32
			}
			got, whole, err := mp3ReadUpTo(src, limit)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			ch := src.Format().Channels
			line := fmt.Sprintf("%-40s %v, %d frames", name, src.Format(), len(got)/ch)
			var mask []float64 // per sample frame: the bound, or -1 to skip
			if tc.isLSB != 0 {
				mask = mp3IntensityMask(t, b, tc.maxLSB, tc.isLSB)
			}

			if pcm, err := os.ReadFile(strings.TrimSuffix(p, ".mp3") + ".pcm"); err == nil && !tc.noRef {
				ref := audiotest.S16LE(pcm)
				if tc.perFrame {
					ref = mp3DownmixPerFrame(t, b, ref)
				}
				ours := got[tc.refSkip*ch:]
				n := len(ref) / ch
				if tc.refLen > 0 {
					n = tc.refLen
				}
				if !whole {
					n = min(n, len(ours)/ch)
				} else if tc.refLen == 0 && len(ours) != len(ref) {
					t.Errorf("%s: %d frames (after %d skipped), reference %d", name, len(ours)/ch, tc.refSkip, len(ref)/ch)
				}
				line += mp3Compare(t, name+" vs reference", ours, ref, n*ch, ch, tc.maxLSB, mask)
			}
			if !tc.noFF {
				if _, err := exec.LookPath("ffmpeg"); err == nil {
					ff := audiotest.FFmpegDecode(t, p, ch)
					for i, v := range ff { // go-mp3 saturates; ffmpeg's floats do not
						ff[i] = max(-1, min(v, 1))
					}
					n := len(ff)
					if tc.ffLen > 0 {
						n = tc.ffLen * ch
					}
					if !whole {
						n = min(n, len(got))
					} else if tc.ffLen == 0 && len(ff) != len(got) {
						t.Errorf("%s: %d frames, ffmpeg %d", name, len(got)/ch, len(ff)/ch)
					}
					line += mp3Compare(t, name+" vs ffmpeg", got, ff, n, ch, tc.maxLSB, mask)
				}
			}
			t.Log(line)
		})
	}
}

// mp3CorpusMaxFrames bounds the decode of the longer corpus files (the 75 s
// mpeg2.mp3, the 8 s sine tests, ...) to keep the test fast under -race.
// Decoded whole, they all match as well.
const mp3CorpusMaxFrames = 40_000

// mp3ReadUpTo reads src to its end or to at least max frames; whole says
// which.
func mp3ReadUpTo(src pipeline.Source, max int) (out []float32, whole bool, err error) {
	ch := src.Format().Channels
	buf := make([]float32, 4096*ch)
	for len(out) < max*ch {
		n, err := src.Read(buf)
		out = append(out, buf[:n*ch]...)
		if err == io.EOF {
			return out, true, nil
		}
		if err != nil {
			return out, false, err
		}
	}
	return out, false, nil
}

// mp3Compare checks the first n samples of got (ch channels) against ref
// and describes the difference. mask, if set, gives the bound per sample
// frame (negative: not compared) instead of maxLSB.
func mp3Compare(t *testing.T, what string, got, ref []float32, n, ch int, maxLSB float64, mask []float64) string {
	t.Helper()
	if len(got) < n || len(ref) < n {
		t.Errorf("%s: %d and %d samples, want %d to compare", what, len(got), len(ref), n)
		return ""
	}
	var md, e, sig float64
	m := 0
	for i := range n {
		bound := maxLSB
		if mask != nil {
			bound = mask[i/ch]
		}
		if bound < 0 {
			continue
		}
		d := math.Abs(float64(got[i])-float64(ref[i])) * 32768
		if d > bound {
			t.Errorf("%s: sample %d (frame %d) differs by %.1f LSB, want ≤ %.0f", what, i, i/ch, d, bound)
			return ""
		}
		md = max(md, d)
		e += d * d
		sig += float64(ref[i]) * float64(ref[i]) * 32768 * 32768
		m++
	}
	return fmt.Sprintf("; %s (%d samples): max %.1f LSB, RMS %.2f LSB, SNR %.1f dB",
		strings.SplitN(what, " ", 2)[1], m, md, math.Sqrt(e/float64(max(m, 1))), 10*math.Log10(sig/e))
}

// mp3IntensityMask returns, per sample frame of a decode of b (a stream of
// frames without tags), is for frames that use intensity stereo and the
// 1152 samples after them (the IMDCT overlap and the synthesis window carry
// them on), else other.
func mp3IntensityMask(t *testing.T, b []byte, other, is float64) []float64 {
	t.Helper()
	var mask []float64
	after := 0 // samples after an intensity-stereo frame still affected
	for i := 0; i+4 <= len(b); {
		h, ok := mp3.ParseHeader(b[i:])
		if !ok || h.Size == 0 {
			t.Fatalf("no frame at byte %d", i)
		}
		if b[i+3]>>6 == 1 && b[i+3]&0x10 != 0 { // joint stereo with intensity
			after = 1152 + h.SamplesPerFrame()
		}
		for range h.SamplesPerFrame() {
			bound := other
			if after > 0 {
				bound = is
				after--
			}
			mask = append(mask, bound)
		}
		i += h.Size
	}
	return mask
}

// mp3DownmixPerFrame turns a reference decode whose frames have their own
// channel counts into mono, mixing stereo frames down as we do.
func mp3DownmixPerFrame(t *testing.T, b []byte, ref []float32) []float32 {
	t.Helper()
	var out []float32
	for i := 0; i+4 <= len(b) && len(ref) > 0; {
		h, ok := mp3.ParseHeader(b[i:])
		if !ok || h.Size == 0 {
			t.Fatalf("no frame at byte %d", i)
		}
		spf := h.SamplesPerFrame()
		if h.Mono {
			out = append(out, ref[:spf]...)
			ref = ref[spf:]
		} else {
			for k := range spf {
				out = append(out, (ref[2*k]+ref[2*k+1])/2)
			}
			ref = ref[2*spf:]
		}
		i += h.Size
	}
	return out
}

// BenchmarkDecodeMP3 decodes a 44.1 kHz joint-stereo 160 kbit/s file and
// reports how many times faster than real time that is.
func BenchmarkDecodeMP3(b *testing.B) {
	benchDecoding(b, readMP3Fixture(b, "sine44s.mp3"), DecodeMP3)
}

// FuzzDecodeMP3 feeds DecodeMP3 mutated MP3 data: it must never panic.
func FuzzDecodeMP3(f *testing.F) {
	for _, file := range []string{"sine44m.mp3", "sine22v.mp3", "sine22cbr32.mp3", "layer2.mp3"} {
		b := readMP3Fixture(f, file)
		f.Add(b[:min(len(b), 1500)])
	}
	f.Add(append(id3v2(100, true, 1), readMP3Fixture(f, "sine44s.mp3")[:1500]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := DecodeMP3(onlyReader{bytes.NewReader(data)})
		if err != nil {
			return
		}
		buf := make([]float32, 1000*src.Format().Channels)
		for range 1000 {
			if _, err := src.Read(buf); err != nil {
				return
			}
		}
	})
}

// BenchmarkDecodeMP3GoMP3 decodes the same file with go-mp3 alone, for
// comparison: the allocations per run are go-mp3's own.
func BenchmarkDecodeMP3GoMP3(b *testing.B) {
	data := readMP3Fixture(b, "sine44s.mp3")
	buf := make([]byte, 4*4096)
	frames := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dec, err := gomp3.NewDecoder(onlyReader{bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		for {
			n, err := dec.Read(buf)
			frames += n / 4
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(frames)/44100/b.Elapsed().Seconds(), "x_realtime")
}

// A file without a Xing/Info header is measured by walking its frames, so
// that fades and loop counts know its length; the count equals what the
// decoder then delivers, through File (buffered) and DecodeMP3 (a file).
func TestMP3LengthWithoutHeader(t *testing.T) {
	const path = "testdata/mp3/sine44notag.mp3"
	for name, open := range map[string]func() (pipeline.Source, error){
		"File": func() (pipeline.Source, error) { return File(path)(context.Background()) },
		"DecodeMP3": func() (pipeline.Source, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return DecodeMP3(f)
		},
	} {
		src, err := open()
		if err != nil {
			t.Fatal(err)
		}
		n := pipeline.FramesOf(src)
		got := audiotest.MustReadAll(t, src)
		pipeline.Close(src)
		if n <= 0 || n != int64(len(got)) {
			t.Errorf("%s: Frames = %d, decoded %d frames", name, n, len(got))
		}
	}
	// A plain reader cannot be walked twice: the length stays unknown.
	b, _ := os.ReadFile(path)
	src, err := DecodeMP3(struct{ io.Reader }{bytes.NewReader(b)})
	if err != nil {
		t.Fatal(err)
	}
	if n := pipeline.FramesOf(src); n != -1 {
		t.Errorf("Frames of a plain reader = %d, want -1", n)
	}
}

// Identical channels are coded by LAME as mid/side with an empty side
// channel; go-mp3 alone leaves the lines above count1 of granules with short
// blocks untransformed (left = mid, right = 0 there, up to 104 LSB off).
// Rewritten (internal/mp3/msfix.go), both channels are the same and within 1 LSB
// of ffmpeg's decode.
func TestMP3MidSideShortBlocks(t *testing.T) {
	const file = "dual22ms.mp3"
	src, got := decodeMP3Bytes(t, readMP3Fixture(t, file))
	if f := src.Format(); f.Rate != 16000 || f.Channels != 2 {
		t.Fatalf("format %v, want 16000 Hz stereo", f)
	}
	if n := src.(*mp3Source).scan.MSFixed(); n == 0 {
		t.Error("no frame rewritten for mid/side: the fixture no longer has the case")
	}
	differ := 0
	for i := 0; i+1 < len(got); i += 2 {
		if got[i] != got[i+1] {
			differ++
		}
	}
	if differ != 0 {
		t.Errorf("left and right differ in %d of %d frames; the channels are identical", differ, len(got)/2)
	}
	ff := audiotest.FFmpegDecode(t, filepath.Join(mp3Fixtures, file), 0)
	if len(ff) != len(got) {
		t.Fatalf("ffmpeg decodes %d samples, we %d", len(ff), len(got))
	}
	md := audiotest.MaxDiff(got, ff) * 32768
	t.Logf("vs ffmpeg: max diff %.2f LSB", md)
	if md > 1 {
		t.Errorf("vs ffmpeg: max diff %.2f LSB, want ≤ 1", md)
	}
}

// A Xing header that does not describe the data after it (a file cut
// short, or two files joined) gives no length, through File as through
// DecodeMP3: the decoded length is not what the header says.
func TestMP3HeaderNotDescribingDataThroughFile(t *testing.T) {
	data := readMP3Fixture(t, "sine44m.mp3")
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp3")
	joined := filepath.Join(dir, "joined.mp3")
	os.WriteFile(cut, data[:len(data)*6/10], 0o644)
	os.WriteFile(joined, append(append([]byte{}, data...), data...), 0o644)
	whole := filepath.Join(dir, "whole.mp3")
	os.WriteFile(whole, data, 0o644)
	for _, c := range []struct {
		path  string
		known bool
	}{{whole, true}, {cut, false}, {joined, false}} {
		for name, open := range map[string]pipeline.Opener{"File": File(c.path), "MP3": MP3(c.path)} {
			src, err := open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n := pipeline.FramesOf(src)
			got := audiotest.MustReadAll(t, src)
			pipeline.Close(src)
			if known := n >= 0; known != c.known || (known && n != int64(len(got))) {
				t.Errorf("%s %s: length %d, decoded %d frames", name, filepath.Base(c.path), n, len(got))
			}
		}
	}
}
