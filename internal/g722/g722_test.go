package g722

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
)

// The reference streams of testdata/ were made by testdata/make.sh.
var signals = []string{"speech", "odd", "tone997", "sweep", "silence", "noise"}

func readS16(t testing.TB, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%2 != 0 {
		t.Fatalf("%s: odd byte count %d", path, len(b))
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func s16Bytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func encodeAll(s []int16) []byte {
	e := NewEncoder()
	return e.Flush(e.Encode(nil, s))
}

func decodeAll(b []byte) []int16 { return NewDecoder().Decode(nil, b) }

// firstDiff returns the index of the first element where a and b differ
// (the shorter length if one is a prefix of the other), or -1.
func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestEncoderMatchesFFmpegReference(t *testing.T) {
	for _, name := range signals {
		in := readS16(t, filepath.Join("testdata", name+".raw"))
		want := readBytes(t, filepath.Join("testdata", name+".g722"))
		got := encodeAll(in)
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("%s: %d bytes, ffmpeg %d; first difference at byte %d", name, len(got), len(want), i)
		}
	}
}

func TestDecoderMatchesFFmpegReference(t *testing.T) {
	for _, name := range append(slices.Clone(signals), "random") {
		in := readBytes(t, filepath.Join("testdata", name+".g722"))
		want := readS16(t, filepath.Join("testdata", name+".dec.raw"))
		got := decodeAll(in)
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("%s: %d samples, ffmpeg %d; first difference at sample %d", name, len(got), len(want), i)
		}
	}
}

// TestOddLengthPairsLastSampleWithItself pins the Flush rule on the
// odd-length reference: the last byte encodes the last sample twice.
func TestOddLengthPairsLastSampleWithItself(t *testing.T) {
	in := readS16(t, filepath.Join("testdata", "odd.raw"))
	if len(in)%2 != 1 {
		t.Fatalf("odd.raw has %d samples", len(in))
	}
	e := NewEncoder()
	b := e.Encode(nil, in)
	if len(b) != len(in)/2 || !e.Pending() {
		t.Fatalf("Encode gave %d bytes for %d samples (pending %v)", len(b), len(in), e.Pending())
	}
	b = e.Flush(b)
	if len(b) != len(in)/2+1 || e.Pending() {
		t.Fatalf("Flush gave %d bytes", len(b))
	}
	if n := len(e.Flush(nil)); n != 0 {
		t.Fatalf("second Flush appended %d bytes", n)
	}
}

// testSignal is a deterministic mixture of everything the codec meets:
// a gliding harmonic tone with an envelope, bursts of full-scale noise,
// clipping and silence.
func testSignal(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	s := make([]int16, n)
	phase := 0.0
	for i := range s {
		t := float64(i) / 16000
		f := 120 + 80*math.Sin(2*math.Pi*0.7*t)
		phase += 2 * math.Pi * f / 16000
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*t)
		var v float64
		for h := 1.0; h <= 30; h++ {
			v += math.Sin(h*phase) / h
		}
		v *= 0.6 * env
		switch (i / 2000) % 5 {
		case 2:
			v = 2*r.Float64() - 1
		case 3:
			v *= 3 // clips
		case 4:
			if i%2000 < 500 {
				v = 0
			}
		}
		s[i] = int16(math.Max(-32768, math.Min(32767, math.Round(v*32768))))
	}
	return s
}

// TestAgainstFFmpegLive encodes and decodes a fresh signal with ffmpeg and
// compares both directions.
func TestAgainstFFmpegLive(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	in := testSignal(16001, 7)
	raw := filepath.Join(dir, "in.raw")
	enc := filepath.Join(dir, "out.g722")
	if err := os.WriteFile(raw, s16Bytes(in), 0o644); err != nil {
		t.Fatal(err)
	}
	audiotest.Run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", raw, "-c:a", "g722", "-f", "g722", enc)
	want := readBytes(t, enc)
	got := encodeAll(in)
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("encoder: %d bytes, ffmpeg %d; first difference at byte %d", len(got), len(want), i)
	}
	dec := audiotest.Run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "g722", "-i", enc, "-f", "s16le", "-")
	wantS := make([]int16, len(dec)/2)
	for i := range wantS {
		wantS[i] = int16(binary.LittleEndian.Uint16(dec[2*i:]))
	}
	if i := firstDiff(decodeAll(got), wantS); i >= 0 {
		t.Fatalf("decoder differs from ffmpeg at sample %d", i)
	}
}

// TestChunkedMatchesOneCall feeds the encoder and decoder in chunks of
// many sizes, odd ones included.
func TestChunkedMatchesOneCall(t *testing.T) {
	in := testSignal(8001, 3)
	whole := encodeAll(in)
	wholeDec := decodeAll(whole)
	r := rand.New(rand.NewPCG(5, 5))
	for _, chunk := range []int{1, 2, 3, 7, 160, 321, 0} {
		e := NewEncoder()
		var b []byte
		for rest := in; len(rest) > 0; {
			n := chunk
			if n == 0 {
				n = 1 + r.IntN(50)
			}
			n = min(n, len(rest))
			b = e.Encode(b, rest[:n])
			rest = rest[n:]
		}
		b = e.Flush(b)
		if !bytes.Equal(b, whole) {
			t.Fatalf("encoding in chunks of %d differs at byte %d", chunk, firstDiff(b, whole))
		}
		d := NewDecoder()
		var s []int16
		for rest := b; len(rest) > 0; {
			n := chunk
			if n == 0 {
				n = 1 + r.IntN(50)
			}
			n = min(n, len(rest))
			s = d.Decode(s, rest[:n])
			rest = rest[n:]
		}
		if !slices.Equal(s, wholeDec) {
			t.Fatalf("decoding in chunks of %d differs at sample %d", chunk, firstDiff(s, wholeDec))
		}
	}
}

// TestResetStartsAFreshStream: after Reset both ends behave exactly like new
// ones, even with an odd sample pending at the time.
func TestResetStartsAFreshStream(t *testing.T) {
	a := testSignal(3001, 1)
	b := testSignal(4000, 2)
	e := NewEncoder()
	e.Encode(nil, a)
	e.Reset()
	if e.Pending() {
		t.Fatal("Reset kept the pending sample")
	}
	got := e.Flush(e.Encode(nil, b))
	if want := encodeAll(b); !bytes.Equal(got, want) {
		t.Fatalf("encoder after Reset differs at byte %d", firstDiff(got, want))
	}
	d := NewDecoder()
	d.Decode(nil, encodeAll(a))
	d.Reset()
	if got, want := d.Decode(nil, got), decodeAll(got); !slices.Equal(got, want) {
		t.Fatalf("decoder after Reset differs at sample %d", firstDiff(got, want))
	}
}

// delay is the codec's delay in samples, through both QMF stages.
const delay = 22

// TestToneQuality measures a 997 Hz tone at -6 dBFS through the codec: the
// level is kept and the SNR is that of G.722 at 64 kbit/s.
func TestToneQuality(t *testing.T) {
	snr, gain := toneSNR(t)
	t.Logf("997 Hz at -6 dBFS: SNR %.1f dB, gain %.2f dB", snr, gain)
	if snr < 35 || math.Abs(gain) > 0.5 {
		t.Fatalf("SNR %.1f dB, gain %.2f dB", snr, gain)
	}
}

func toneSNR(t testing.TB) (snrDB, gainDB float64) {
	const n = 16000
	in := make([]int16, n)
	for i := range in {
		in[i] = int16(math.Round(0.5 * 32768 * math.Sin(2*math.Pi*997*float64(i)/16000)))
	}
	out := decodeAll(encodeAll(in))
	if len(out) != n {
		t.Fatalf("%d samples out of %d", len(out), n)
	}
	x := make([]float64, 0, n)
	for _, v := range out[1600:] { // skip the adaptation at the start
		x = append(x, float64(v)/32768)
	}
	amp, _, snr := audiotest.SineFit(x, 997, 16000)
	return snr, audiotest.DB(amp / 0.5)
}

// TestDelay checks the documented delay: an impulse, at an even or an odd
// position, comes out 22 samples later as the peak of the decoded response.
func TestDelay(t *testing.T) {
	for _, at := range []int{100, 101} {
		in := make([]int16, 400)
		in[at] = 20000
		out := decodeAll(encodeAll(in))
		peak := 0
		for i, v := range out {
			if abs(v) > abs(out[peak]) {
				peak = i
			}
		}
		if peak != at+delay {
			t.Errorf("impulse at %d peaks at %d", at, peak)
		}
	}
}

func abs(v int16) int32 {
	if v < 0 {
		return -int32(v)
	}
	return int32(v)
}

func TestNoAllocations(t *testing.T) {
	in := testSignal(321, 4)
	e := NewEncoder()
	d := NewDecoder()
	buf := make([]byte, 0, 400)
	out := make([]int16, 0, 800)
	if n := testing.AllocsPerRun(50, func() {
		b := e.Encode(buf[:0], in)
		b = e.Flush(b)
		d.Decode(out[:0], b)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// BenchmarkEncode reports the encoding speed as a multiple of real time.
func BenchmarkEncode(b *testing.B) {
	in := testSignal(320, 9) // 20 ms
	e := NewEncoder()
	buf := make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Encode(buf[:0], in)
	}
	b.ReportMetric(float64(b.N)*0.020/b.Elapsed().Seconds(), "x_realtime")
}

// BenchmarkDecode reports the decoding speed as a multiple of real time.
func BenchmarkDecode(b *testing.B) {
	in := encodeAll(testSignal(320, 9))
	d := NewDecoder()
	out := make([]int16, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		out = d.Decode(out[:0], in)
	}
	b.ReportMetric(float64(b.N)*0.020/b.Elapsed().Seconds(), "x_realtime")
}
