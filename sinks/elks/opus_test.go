//go:build opus

package elks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/ogg"
)

// opusTone is a sine of freq Hz at 48 kHz, amplitude amp.
func opusTone(freq, amp float64, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/48000))
	}
	return s
}

// opusEncodeChunks encodes samples in chunks of chunk samples, as a
// session does, and flushes.
func opusEncodeChunks(t *testing.T, enc Encoder, samples []float32, chunk int) []byte {
	t.Helper()
	var out []byte
	for len(samples) > 0 {
		n := min(chunk, len(samples))
		before := len(out)
		out = enc.Encode(out, samples[:n])
		samples = samples[n:]
		// Every Encode ends on a page boundary: its bytes can go out now.
		if err := opusWholePages(out[before:]); err != nil {
			t.Fatalf("Encode output: %v", err)
		}
	}
	return enc.Flush(out)
}

// opusWholePages checks that b is a sequence of whole pages with valid
// checksums.
func opusWholePages(b []byte) error {
	for len(b) > 0 {
		if len(b) < ogg.HeaderSize || string(b[:4]) != "OggS" || len(b) < ogg.HeaderSize+int(b[26]) {
			return errors.New("not a whole page")
		}
		size := ogg.HeaderSize + int(b[26])
		for _, l := range b[ogg.HeaderSize:size] {
			size += int(l)
		}
		if size > len(b) {
			return errors.New("page cut short")
		}
		page := bytes.Clone(b[:size])
		want := binary.LittleEndian.Uint32(page[22:])
		clear(page[22:26])
		if ogg.CRC(0, page) != want {
			return errors.New("checksum mismatch")
		}
		b = b[size:]
	}
	return nil
}

func opusDecodeAll(t *testing.T, data []byte, piece int) []float32 {
	t.Helper()
	dec, err := NewDecoder(Ogg)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for len(data) > 0 {
		n := min(piece, len(data))
		if out, err = dec.Decode(out, data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return out
}

func f32le(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// opusCheckTone checks a decoded 997 Hz tone of -6 dBFS: length, frequency,
// level, and returns the SNR.
func opusCheckTone(t *testing.T, who string, got []float32, want int, frame int) float64 {
	t.Helper()
	if d := len(got) - want; d < -frame || d > frame {
		t.Errorf("%s: %d samples, want %d within one frame (%d)", who, len(got), want, frame)
	}
	// Skip the codec's attack and the end.
	x := audiotest.Channel(got[min(len(got), 4800):max(4800, len(got)-4800)], 1, 0)
	if f := audiotest.Frequency(x, 48000, 900, 1100); math.Abs(f-997) > 1 {
		t.Errorf("%s: frequency %.2f Hz, want 997", who, f)
	}
	lvl := audiotest.Level(x, 997, 48000)
	if math.Abs(lvl-(-6.0206)) > 1 {
		t.Errorf("%s: level %.2f dBFS, want -6.02 within 1 dB", who, lvl)
	}
	_, _, snr := audiotest.SineFit(x, 997, 48000)
	t.Logf("%s: %d samples, level %.2f dBFS, SNR %.1f dB", who, len(got), lvl, snr)
	return snr
}

// A 2 s tone, encoded in 100 ms chunks: opusinfo validates it, opusdec,
// ffmpeg and our decoder give back its duration, frequency and level.
func TestOpusTone(t *testing.T) {
	in := opusTone(997, 0.5, 2*48000)
	enc, err := NewEncoder(Ogg)
	if err != nil {
		t.Fatal(err)
	}
	data := opusEncodeChunks(t, enc, in, 4800)
	t.Logf("2 s at the defaults: %d bytes (%.0f bytes/s)", len(data), float64(len(data))/2)
	if rate := float64(len(data)) * 8 / 2; rate < 20000 || rate > 40000 {
		t.Errorf("%.0f bit/s with the container, for a 24 kbit/s target", rate)
	}
	if snr := opusCheckTone(t, "own decoder", opusDecodeAll(t, data, 1), len(in), 960); snr < 20 {
		t.Errorf("own decoder: SNR %.1f dB, want at least 20", snr)
	}
	path := filepath.Join(t.TempDir(), "tone.opus")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("opusinfo", func(t *testing.T) {
		audiotest.NeedTool(t, "opusinfo")
		out := string(audiotest.Run(t, "opusinfo", path))
		for _, w := range []string{"WARNING", "ERROR", "Invalid", "invalid"} {
			if strings.Contains(out, w) {
				t.Errorf("opusinfo: %s", out)
			}
		}
		for _, want := range []string{"Pre-skip: " + strconv.Itoa(opusLookahead), "Channels: 1", "Playback length: 0m:02.000s", "Logical stream 1 ended"} {
			if !strings.Contains(out, want) {
				t.Errorf("opusinfo lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("opusdec", func(t *testing.T) {
		audiotest.NeedTool(t, "opusdec")
		raw := filepath.Join(t.TempDir(), "out.f32")
		audiotest.Run(t, "opusdec", "--quiet", "--rate", "48000", "--float", path, raw)
		b, err := os.ReadFile(raw)
		if err != nil {
			t.Fatal(err)
		}
		ref := f32le(b)
		opusCheckTone(t, "opusdec", ref, len(in), 960)
		// Same libopus underneath: our decoder matches it closely.
		own := opusDecodeAll(t, data, 4096)
		if len(own) != len(ref) {
			t.Errorf("own decoder %d samples, opusdec %d", len(own), len(ref))
		}
		if d := audiotest.MaxDiff(own, ref); d > 1e-3 {
			t.Errorf("own decoder differs from opusdec by %g", d)
		}
	})
	t.Run("ffmpeg", func(t *testing.T) {
		audiotest.NeedTool(t, "ffmpeg")
		opusCheckTone(t, "ffmpeg", audiotest.FFmpegDecode(t, path, 1), len(in), 960)
	})
}

// Every frame size and a range of bit rates: exact duration, tone kept.
func TestOpusOptions(t *testing.T) {
	in := opusTone(997, 0.5, 48000+123)
	for _, o := range []CodecOptions{
		{Frame: 2500 * time.Microsecond}, {Frame: 5 * time.Millisecond}, {Frame: 10 * time.Millisecond},
		{Frame: 40 * time.Millisecond}, {Frame: 60 * time.Millisecond},
		{Bitrate: 12000, Complexity: 1}, {Bitrate: 64000, Complexity: 10},
	} {
		enc, err := NewEncoderOptions(Ogg, o)
		if err != nil {
			t.Fatal(err)
		}
		data := opusEncodeChunks(t, enc, in, 1000)
		got := opusDecodeAll(t, data, 333)
		// Our decoder honours the end granule: exact length.
		if len(got) != len(in) {
			t.Errorf("%+v: %d samples, want %d", o, len(got), len(in))
		}
		x := audiotest.Channel(got[9600:len(got)-4800], 1, 0)
		amp, _, snr := audiotest.SineFit(x, 997, 48000)
		t.Logf("%+v: %d bytes for 1 s, level %.2f dBFS, SNR %.1f dB", o, len(data), 20*math.Log10(amp), snr)
		if lvl := 20 * math.Log10(amp); math.Abs(lvl+6.02) > 1 {
			t.Errorf("%+v: level %.2f dBFS", o, lvl)
		}
	}
	for _, bad := range []CodecOptions{{Bitrate: 100}, {Bitrate: 600000}, {Complexity: 11}, {Complexity: -1}, {Frame: 30 * time.Millisecond}, {Frame: time.Second}} {
		if _, err := NewEncoderOptions(Ogg, bad); err == nil || !strings.HasPrefix(err.Error(), "opus: ") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// Reset in the middle (an interrupt) and Flush then Encode both start a
// new logical stream with its own headers. In a session every logical
// stream follows its own "sending": the stream after a Reset is complete
// on its own, and a stream ended by Flush chains validly with the next.
// Our decoder follows all of them concatenated.
func TestOpusChain(t *testing.T) {
	tone := opusTone(997, 0.5, 48000)
	enc, err := NewEncoder(Ogg)
	if err != nil {
		t.Fatal(err)
	}
	var interrupted []byte
	for i := 0; i < len(tone); i += 4800 {
		interrupted = enc.Encode(interrupted, tone[i:i+4800])
	}
	enc.Reset() // no EOS: the stream just stops
	first := opusEncodeChunks(t, enc, tone, 4800)
	second := opusEncodeChunks(t, enc, tone, 4800) // after Flush: a new stream
	chain := append(bytes.Clone(first), second...)
	all := append(bytes.Clone(interrupted), chain...)

	serials := map[uint32]bool{}
	var r ogg.Reader
	r.Write(all)
	for {
		p, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		serials[p.Serial] = true
	}
	if len(serials) != 3 {
		t.Errorf("%d logical streams, want 3", len(serials))
	}
	got := opusDecodeAll(t, all, 1000)
	// The interrupted stream loses the encoder's lookahead at its end.
	if want := 3*len(tone) - opusLookahead; len(got) != want {
		t.Errorf("%d samples, want %d", len(got), want)
	}
	opusCheckTone(t, "stream after the interrupt", got[len(tone)-opusLookahead:][:len(tone)], len(tone), 0)

	if _, err := exec.LookPath("opusinfo"); err != nil {
		t.Skip("opusinfo not installed")
	}
	dir := t.TempDir()
	for name, c := range map[string]struct {
		data    []byte
		streams int
	}{"after-reset": {first, 1}, "chain": {chain, 2}} {
		path := filepath.Join(dir, name+".opus")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		out := string(audiotest.Run(t, "opusinfo", path))
		if n := strings.Count(out, "New logical stream"); n != c.streams || strings.Contains(out, "WARNING") || strings.Contains(out, "ERROR") {
			t.Errorf("%s: opusinfo sees %d streams, want %d, or complains:\n%s", name, n, c.streams, out)
		}
		if n := strings.Count(out, "Playback length: 0m:01.000s"); n != c.streams {
			t.Errorf("%s: opusinfo:\n%s", name, out)
		}
	}
}

// Garbage, damaged pages and truncation: errors or nothing, never a panic.
func TestOpusDecodeMalformed(t *testing.T) {
	enc, _ := NewEncoder(Ogg)
	good := opusEncodeChunks(t, enc, opusTone(440, 0.5, 9600), 960)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	for name, b := range map[string][]byte{
		"garbage":     []byte("this is not an ogg stream at all, not even close"),
		"damaged crc": flip(len(good) / 2),
		"no head": func() []byte {
			w := ogg.NewWriter(5)
			return w.Close(w.Packet(nil, []byte("OpusTags"), 0), 0)
		}(),
		"stereo family 1": func() []byte {
			w := ogg.NewWriter(5)
			h := ogg.OpusHead{Channels: 2, PreSkip: 312, InputRate: 48000}.Append(nil)
			h[18] = 1
			return w.Close(w.Packet(nil, h, 0), 0)
		}(),
		"bad tags": func() []byte {
			w := ogg.NewWriter(5)
			s := w.Flush(w.Packet(nil, ogg.OpusHead{Channels: 1, PreSkip: 312}.Append(nil), 0))
			return w.Close(w.Packet(s, []byte("OpusTagz\x00\x00\x00\x00\x00\x00\x00\x00"), 0), 0)
		}(),
	} {
		dec, _ := NewDecoder(Ogg)
		if _, err := dec.Decode(nil, b); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "ogg: ") && !strings.HasPrefix(err.Error(), "opus: ") {
			t.Errorf("%s: error %q lacks the codec prefix", name, err)
		}
	}
	for _, n := range []int{0, 10, 50, len(good) / 2, len(good) - 1} {
		dec, _ := NewDecoder(Ogg)
		if _, err := dec.Decode(nil, good[:n]); err != nil {
			t.Errorf("truncated at %d: %v", n, err)
		}
	}
	// Reset drops a half-read page: the next stream decodes cleanly.
	dec, _ := NewDecoder(Ogg)
	dec.Decode(nil, good[:len(good)/2])
	dec.Reset()
	if got, err := dec.Decode(nil, good); err != nil || len(got) != 9600 {
		t.Errorf("after Reset: %d samples, %v", len(got), err)
	}
}

// Encoding allocates nothing once running.
func TestOpusEncodeAllocs(t *testing.T) {
	enc, _ := NewEncoder(Ogg)
	in := opusTone(997, 0.5, 4800)
	buf := enc.Encode(make([]byte, 0, 1<<16), in)
	if a := testing.AllocsPerRun(20, func() { buf = enc.Encode(buf[:0], in) }); a > 0 {
		t.Errorf("%.1f allocations per Encode", a)
	}
	out := make([]float32, 0, 1<<16)
	dec, _ := NewDecoder(Ogg)
	enc.Reset()
	stream := enc.Encode(nil, in) // headers and the first packets
	dec.Decode(nil, stream)
	if a := testing.AllocsPerRun(20, func() {
		stream = enc.Encode(stream[:0], in)
		out, _ = dec.Decode(out[:0], stream)
	}); a > 0 {
		t.Errorf("%.1f allocations per Decode", a)
	}
}
