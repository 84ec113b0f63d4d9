package elks

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// g722Ref reads a reference file of internal/g722/testdata (made by ffmpeg,
// see make.sh there).
func g722Ref(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "g722", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func g722Codec(t *testing.T) (Encoder, Decoder) {
	t.Helper()
	enc, err := NewEncoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

// The float codec gives ffmpeg's bytes for ffmpeg's input, and ffmpeg's
// samples (as s/32768) for its bytes: s/32768 converts back to s exactly.
func TestG722CodecMatchesFFmpeg(t *testing.T) {
	for _, name := range []string{"speech", "odd", "noise"} {
		enc, dec := g722Codec(t)
		in := audiotest.S16LE(g722Ref(t, name+".raw"))
		want := g722Ref(t, name+".g722")
		if got := enc.Flush(enc.Encode(nil, in)); !bytes.Equal(got, want) {
			t.Errorf("%s: encoding differs from ffmpeg's (%d bytes, want %d)", name, len(got), len(want))
		}
		wantS := audiotest.S16LE(g722Ref(t, name+".dec.raw"))
		got, err := dec.Decode(nil, want)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, wantS) {
			t.Errorf("%s: decoding differs from ffmpeg's (max %g)", name, audiotest.MaxDiff(got, wantS))
		}
	}
}

// Chunks of any size, odd ones included, give the bytes of one call; Reset
// then starts the stream again on both ends.
func TestG722CodecStreamsAndResets(t *testing.T) {
	in := audiotest.S16LE(g722Ref(t, "speech.raw"))[:4001]
	enc, dec := g722Codec(t)
	whole := enc.Flush(enc.Encode(nil, in))
	wholeDec, _ := dec.Decode(nil, whole)
	if len(whole) != 2001 || len(wholeDec) != 4002 {
		t.Fatalf("%d samples gave %d bytes, %d samples back", len(in), len(whole), len(wholeDec))
	}
	for _, chunk := range []int{1, 3, 160, 999} {
		enc.Reset()
		dec.Reset()
		var b []byte
		var s []float32
		for i := 0; i < len(in); i += chunk {
			n := len(b)
			b = enc.Encode(b, in[i:min(i+chunk, len(in))])
			var err error
			if s, err = dec.Decode(s, b[n:]); err != nil {
				t.Fatal(err)
			}
		}
		n := len(b)
		b = enc.Flush(b)
		s, _ = dec.Decode(s, b[n:])
		if !bytes.Equal(b, whole) || !slices.Equal(s, wholeDec) {
			t.Fatalf("chunks of %d differ from one call", chunk)
		}
	}
}

// Out-of-range and NaN samples follow the project's convention (clamped;
// NaN is silence) rather than wrapping.
func TestG722CodecClampsInput(t *testing.T) {
	enc, _ := g722Codec(t)
	wild := []float32{2, -3, float32(math.NaN()), 1.5, -1.0001, 0.25}
	tame := []float32{32767.0 / 32768, -1, 0, 32767.0 / 32768, -1, 0.25}
	a := enc.Flush(enc.Encode(nil, wild))
	enc.Reset()
	if b := enc.Flush(enc.Encode(nil, tame)); !bytes.Equal(a, b) {
		t.Fatalf("%x vs %x", a, b)
	}
}

// A 997 Hz tone at -6 dBFS survives with its level and frequency; the SNR
// is stated for the README.
func TestG722CodecTone(t *testing.T) {
	enc, dec := g722Codec(t)
	in := make([]float32, 16000)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(2*math.Pi*997*float64(i)/16000))
	}
	out, _ := dec.Decode(nil, enc.Flush(enc.Encode(nil, in)))
	x := audiotest.Channel(out[1600:], 1, 0)
	amp, _, snr := audiotest.SineFit(x, 997, 16000)
	f := audiotest.Frequency(x, 16000, 900, 1100)
	t.Logf("g722 997 Hz at -6 dBFS: SNR %.1f dB, level %.2f dB, %.2f Hz", snr, audiotest.DB(amp/0.5), f)
	if snr < 40 || math.Abs(audiotest.DB(amp/0.5)) > 0.2 || math.Abs(f-997) > 0.5 {
		t.Fatalf("SNR %.1f dB, amplitude %.4f, frequency %.2f Hz", snr, amp, f)
	}
}

func TestG722CodecNoAllocations(t *testing.T) {
	enc, dec := g722Codec(t)
	in := audiotest.S16LE(g722Ref(t, "speech.raw"))[:1001]
	buf := make([]byte, 0, 600)
	out := make([]float32, 0, 1200)
	if n := testing.AllocsPerRun(20, func() {
		b := enc.Flush(enc.Encode(buf[:0], in))
		out, _ = dec.Decode(out[:0], b)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// BenchmarkG722Encode and BenchmarkG722Decode report the speed of the float
// codec, 20 ms a call, in multiples of real time.
func BenchmarkG722Encode(b *testing.B) {
	enc, err := NewEncoder(G722)
	if err != nil {
		b.Fatal(err)
	}
	in := make([]float32, 320)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(float64(i)*0.39))
	}
	buf := make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Encode(buf[:0], in)
	}
	b.ReportMetric(float64(b.N)*0.020/b.Elapsed().Seconds(), "x_realtime")
}

func BenchmarkG722Decode(b *testing.B) {
	enc, _ := NewEncoder(G722)
	dec, err := NewDecoder(G722)
	if err != nil {
		b.Fatal(err)
	}
	in := make([]float32, 320)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(float64(i)*0.39))
	}
	data := enc.Encode(nil, in)
	out := make([]float32, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		out, _ = dec.Decode(out[:0], data)
	}
	b.ReportMetric(float64(b.N)*0.020/b.Elapsed().Seconds(), "x_realtime")
}

// record= with format=g722 asks for the caller's audio in G.722 and writes
// exactly what the caller's encoder sent, decoded: the recording is the
// offline codec's output for what was said.
func TestG722RecordCallerAudio(t *testing.T) {
	dir := t.TempDir()
	said := recTone(t, 16000, "1.5s")
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Format: G722, Record: dir + "/{callid}.wav"}
		s, p, _ := sessCall(t, cfg, nil)
		recSay(t, p, G722, said)
		time.Sleep(time.Second)
		if got := p.snapshot().msgs[0]; got != `{"t":"listening","format":"g722"}` {
			t.Errorf("first message %s", got)
		}
		p.hangup()
		<-s.Done()
		s.Close()
		if st := s.Stats(); st.Recorded != 1500*time.Millisecond || st.Malformed != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	enc, dec := g722Codec(t)
	want, _ := dec.Decode(nil, enc.Flush(enc.Encode(nil, said)))
	if f != (pipeline.Format{Rate: 16000, Channels: 1}) || !slices.Equal(got, want) {
		t.Fatalf("recording %v, %d samples, differs from the codec's %d by up to %g", f, len(got), len(want), audiotest.MaxDiff(got, want))
	}
}
