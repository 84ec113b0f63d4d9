package main

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g722"
	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// g722Delay is the delay of G.722's filters, encoder and decoder together,
// in samples at 16 kHz.
const g722Delay = 22

// elks format=g722 end to end over real WebSockets: what the simulated
// caller heard is exactly the pipeline's audio through G.722 — the same
// samples as ffmpeg's g722 encoder and decoder give for it (when ffmpeg is
// installed) and as the in-project codec gives offline. Against the
// pipeline's own audio, delayed by the codec's 22 samples, a 997 Hz tone at
// -6 dBFS keeps its level within 0.1 dB at an SNR above 40 dB (measured:
// 47.6 dB, as offline).
func TestElksG722EndToEnd(t *testing.T) {
	dir := t.TempDir()
	prompt := filepath.Join(dir, "prompt.wav")
	mustRun(t, "tone 440 dur=1.5s rate=16k + dtmf 159 rate=16k | wav "+prompt)
	tone := filepath.Join(dir, "tone.wav")
	mustRun(t, "tone 997 amp=-6dB dur=1s rate=16k | wav "+tone)
	for _, c := range []struct{ name, source string }{
		{"prompt", "file " + prompt},
		{"tone997", "file " + tone},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := serveElks(t, c.source+" | elks format=g722 chunk=500ms window=30s listen=127.0.0.1:0")
			heard := filepath.Join(t.TempDir(), "heard.wav")
			rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10, Record: heard, RecordRate: 16000})
			if err != nil {
				t.Fatal(err)
			}
			if rep.End.By != "app" || len(rep.Violations) != 0 {
				t.Fatalf("ended by %q, violations %v", rep.End.By, rep.Violations)
			}
			got, f := decodeFile(t, heard)
			if f.Rate == 16000 {
				got = heardWithoutGaps(t, got, f.Rate, rep) // a loaded machine may run the call dry
			}
			src := expected(t, c.source, 16000)
			s16 := make([]int16, len(src))
			for i, x := range src {
				s16[i] = pcm.S16(x)
			}
			// An odd last sample is encoded paired with itself: one more out.
			if n := len(src) + len(src)%2; f.Rate != 16000 || len(got) != n {
				t.Fatalf("heard %d samples at %d Hz, want %d at 16000 Hz", len(got), f.Rate, n)
			}

			enc := g722.NewEncoder()
			want := s16ToFloat(g722.NewDecoder().Decode(nil, enc.Flush(enc.Encode(nil, s16))))
			if !slices.Equal(got, want) {
				t.Errorf("heard audio differs from the offline codec's by up to %g", audiotest.MaxDiff(got, want))
			}
			if ff := ffmpegG722(t, s16); ff != nil && !slices.Equal(got, ff) {
				t.Errorf("heard audio differs from ffmpeg's g722 by up to %g", audiotest.MaxDiff(got, ff))
			}

			if c.name == "tone997" {
				x := audiotest.Channel(got[1600+g722Delay:len(src)], 1, 0)
				amp, _, snr := audiotest.SineFit(x, 997, 16000)
				ref, _, _ := audiotest.SineFit(audiotest.Channel(src[1600:len(src)-g722Delay], 1, 0), 997, 16000)
				level := audiotest.DB(amp / ref)
				t.Logf("997 Hz at -6 dBFS through g722 and the simulator: SNR %.1f dB, level %+.2f dB", snr, level)
				if snr < 40 || math.Abs(level) > 0.1 {
					t.Errorf("SNR %.1f dB, level %+.2f dB", snr, level)
				}
			}
		})
	}
}

func s16ToFloat(s []int16) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v) / 32768
	}
	return out
}

// ffmpegG722 runs s through ffmpeg's g722 encoder and decoder, or returns
// nil when ffmpeg is not installed.
func ffmpegG722(t *testing.T, s []int16) []float32 {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil
	}
	dir := t.TempDir()
	raw, enc := filepath.Join(dir, "in.raw"), filepath.Join(dir, "in.g722")
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	if err := os.WriteFile(raw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	audiotest.Run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", raw, "-c:a", "g722", "-f", "g722", enc)
	return audiotest.S16LE(audiotest.Run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "g722", "-i", enc, "-f", "s16le", "-"))
}
