package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
)

// mp3Fixture is shared with the sources package: a 441 Hz tone near -6 dBFS,
// 22100 samples at 44.1 kHz mono, LAME-tagged (made by lame, see its make.sh).
const mp3Fixture = "../../sources/testdata/mp3/sine44m.mp3"

// makeWAV writes a 441 Hz stereo tone at 44.1 kHz lasting 0.5 s (22050
// frames) with elkspipe itself and returns its path.
func makeWAV(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "a.wav")
	mustRun(t, "tone 441 rate=44.1k channels=2 dur=0.5 | wav "+path)
	return path
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, _, stderr := runCLI(t, context.Background(), args...)
	if code != 0 {
		t.Fatalf("elkspipe %q: exit %d: %s", args, code, stderr)
	}
	return stderr
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}

// The playlist example: items of different formats, looped three
// times, faded in and out, as one WAV of exactly the expected length.
func TestPlaylistLoopFade(t *testing.T) {
	wavFixture := makeWAV(t)
	_, wf := decodeFile(t, wavFixture)
	wavLen := len(mustDecode(t, wavFixture)) / wf.Channels
	mp3Len := len(mustDecode(t, mp3Fixture))
	out := filepath.Join(t.TempDir(), "out.wav")
	mustRun(t, fmt.Sprintf("playlist %s %s | loop 3 | fade in=200ms out=500ms | wav %s", wavFixture, mp3Fixture, out))
	got, f := decodeFile(t, out)
	if f != wf {
		t.Errorf("format %v, want the first item's %v", f, wf)
	}
	if want := 3 * (wavLen + mp3Len*wf.Rate/44100); len(got)/f.Channels != want {
		t.Errorf("%d frames, want %d", len(got)/f.Channels, want)
	}
	if got[0] != 0 || got[len(got)-1] != 0 {
		t.Errorf("fade ends: first %v last %v, want 0", got[0], got[len(got)-1])
	}
	mid := audiotest.Channel(got, f.Channels, 0)
	if rms := audiotest.RMS(mid[len(mid)/2-2000 : len(mid)/2+2000]); rms < 0.1 {
		t.Errorf("middle RMS %v: the audio is missing", rms)
	}
}

func mustDecode(t *testing.T, path string) []float32 {
	s, _ := decodeFile(t, path)
	return s
}

// The issue's `+` example: a tone, silence and a file, resampled to 16 kHz
// raw PCM, with every part where it belongs.
func TestConcatToRaw(t *testing.T) {
	wavFixture := makeWAV(t)
	out := filepath.Join(t.TempDir(), "x.pcm")
	mustRun(t, "tone 1k dur=200ms + silence 300ms + file "+wavFixture+" | resample 16k | raw "+out+" enc=s16le")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, wf := decodeFile(t, wavFixture)
	x := audiotest.Channel(audiotest.S16LE(b), wf.Channels, 0)
	wavFrames := len(mustDecode(t, wavFixture)) / wf.Channels
	want := 3200 + 4800 + int(math.Round(float64(wavFrames)*16000/float64(wf.Rate)))
	if len(x)*wf.Channels != len(audiotest.S16LE(b)) || math.Abs(float64(len(x)-want)) > 1 {
		t.Fatalf("%d frames, want %d", len(x), want)
	}
	if fr := audiotest.Frequency(x[200:3000], 16000, 500, 1500); math.Abs(fr-1000) > 0.5 {
		t.Errorf("tone at %.2f Hz", fr)
	}
	if rms := audiotest.RMS(x[3400:7800]); rms > 1e-3 {
		t.Errorf("silence has RMS %v", rms)
	}
	if fr := audiotest.Frequency(x[9000:len(x)-1000], 16000, 300, 600); math.Abs(fr-441) > 0.5 {
		t.Errorf("file part at %.2f Hz, want 441", fr)
	}
}

// A looped tone whose length is a whole number of periods is exactly the
// longer tone: no sample dropped, repeated or altered at the joints.
func TestToneLoopIsSampleExact(t *testing.T) {
	dir := t.TempDir()
	looped, long := filepath.Join(dir, "looped.f32"), filepath.Join(dir, "long.f32")
	// 400 Hz at 8 kHz: 20 samples a period, 400 periods a second.
	mustRun(t, "tone 400 rate=8k dur=1s | loop 3 | raw "+looped+" enc=f32le")
	mustRun(t, "tone 400 rate=8k dur=3s | raw "+long+" enc=f32le")
	a, b := readF32(t, looped), readF32(t, long)
	if len(a) != 24000 || len(b) != 24000 {
		t.Fatalf("lengths %d and %d, want 24000", len(a), len(b))
	}
	if d := audiotest.MaxDiff(a, b); d > 1e-6 {
		t.Errorf("looped tone differs from the long tone by %g", d)
	}
}

// A LAME-tagged MP3 loops gaplessly through the pipeline: the three
// iterations form one continuous tone. Around a joint the codec's own error
// is a little higher (the encoder saw the tone start and stop there; ffmpeg's
// gapless decode measures the same), but a dropped or repeated sample would
// cost some 40 dB there.
func TestMP3LoopIsGapless(t *testing.T) {
	out := filepath.Join(t.TempDir(), "loop.f32")
	mustRun(t, "file "+mp3Fixture+" | loop 3 | raw "+out+" enc=f32le")
	x := readF32(t, out)
	if len(x) != 3*22100 {
		t.Fatalf("%d samples, want %d (3 × 22100)", len(x), 3*22100)
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	amp, _, snr := audiotest.SineFit(y[2000:len(y)-2000], 441, 44100)
	if snr < 55 || amp < 0.4 || amp > 0.55 {
		t.Fatalf("one continuous 441 Hz tone expected: amplitude %.4f, SNR %.1f dB", amp, snr)
	}
	for _, joint := range []int{22100, 44200} {
		_, _, jsnr := audiotest.SineFit(y[joint-500:joint+500], 441, 44100)
		if jsnr < 55 {
			t.Errorf("joint at %d: SNR %.1f dB against %.1f dB overall (a gap or a click)", joint, jsnr, snr)
		}
	}
}
