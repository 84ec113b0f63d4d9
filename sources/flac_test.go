package sources

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// flacCase is a FLAC file made at test time: sox synthesises a WAV, and
// ffmpeg (or sox, with soxEnc) encodes it.
type flacCase struct {
	name       string
	rate, ch   int
	bits       int
	dur        string
	synth      []string // sox synth effects after the duration
	ffmpeg     []string // ffmpeg encoder options
	soxEnc     bool     // encode with sox instead (8-bit, which ffmpeg cannot write)
	coarse     int      // synthesise with this many bits, stored in bits: FLAC's "wasted bits"
	wantFrames int64
}

var flacCases = []flacCase{
	{name: "16-bit mono 8 kHz level 0", rate: 8000, ch: 1, bits: 16, dur: "1",
		synth: []string{"sine", "300-3400"}, ffmpeg: []string{"-compression_level", "0"}, wantFrames: 8000},
	{name: "16-bit stereo 44.1 kHz level 8", rate: 44100, ch: 2, bits: 16, dur: "1",
		synth: []string{"sine", "200-3000", "pinknoise"}, ffmpeg: []string{"-compression_level", "8"}, wantFrames: 44100},
	{name: "24-bit stereo 96 kHz", rate: 96000, ch: 2, bits: 24, dur: "0.5",
		synth: []string{"sine", "1000", "whitenoise"}, ffmpeg: []string{"-compression_level", "5"}, wantFrames: 48000},
	{name: "24-bit mono 192 kHz level 8", rate: 192000, ch: 1, bits: 24, dur: "0.5",
		synth: []string{"sine", "20-40000"}, ffmpeg: []string{"-compression_level", "8"}, wantFrames: 96000},
	{name: "16-bit 6 channels 48 kHz", rate: 48000, ch: 6, bits: 16, dur: "0.5",
		synth: []string{"sine", "100", "sine", "200", "sine", "300", "sine", "60", "pinknoise", "whitenoise"}, wantFrames: 24000},
	{name: "24-bit 8 channels 44.1 kHz", rate: 44100, ch: 8, bits: 24, dur: "0.25",
		synth: []string{"sine", "100", "sine", "200", "sine", "300", "sine", "60", "pinknoise", "whitenoise", "sine", "5000", "brownnoise"}, wantFrames: 11025},
	{name: "odd block size 1000", rate: 16000, ch: 2, bits: 16, dur: "0.7",
		synth: []string{"sine", "440", "sine", "660-1200"}, ffmpeg: []string{"-frame_size", "1000"}, wantFrames: 11200},
	{name: "odd block size 4607 level 8", rate: 22050, ch: 1, bits: 16, dur: "1.3",
		synth: []string{"pinknoise"}, ffmpeg: []string{"-frame_size", "4607", "-compression_level", "8"}, wantFrames: 28665},
	{name: "small block size 16", rate: 8000, ch: 1, bits: 16, dur: "0.1",
		synth: []string{"sine", "1000"}, ffmpeg: []string{"-frame_size", "16"}, wantFrames: 800},
	{name: "8-bit mono 11.025 kHz (sox)", rate: 11025, ch: 1, bits: 8, dur: "0.5",
		synth: []string{"sine", "500"}, soxEnc: true, wantFrames: 5512},
	{name: "24-bit stereo 48 kHz (sox)", rate: 48000, ch: 2, bits: 24, dur: "0.5",
		synth: []string{"sine", "500", "pinknoise"}, soxEnc: true, wantFrames: 24000},
	{name: "16-bit mono 24 kHz (a rate mewkiz/flac logs on)", rate: 24000, ch: 1, bits: 16, dur: "0.5",
		synth: []string{"sine", "300-3400"}, wantFrames: 12000},
	{name: "24-bit stereo 176.4 kHz", rate: 176400, ch: 2, bits: 24, dur: "0.2",
		synth: []string{"sine", "1000", "whitenoise"}, wantFrames: 35280},
	{name: "8-bit audio in 16 bits (wasted bits)", rate: 16000, ch: 2, bits: 16, coarse: 8, dur: "0.5",
		synth: []string{"sine", "440", "pinknoise"}, wantFrames: 8000},
	{name: "16-bit audio in 24 bits (wasted bits) level 8", rate: 48000, ch: 1, bits: 24, coarse: 16, dur: "0.5",
		synth: []string{"sine", "100-9000"}, ffmpeg: []string{"-compression_level", "8"}, wantFrames: 24000},
	{name: "16-bit stereo 32 kHz silence (constant subframes)", rate: 32000, ch: 2, bits: 16, dur: "0.3",
		synth: []string{"sine", "0"}, wantFrames: 9600},
}

// makeFLAC writes the case's FLAC file into dir and returns its path,
// skipping the test when sox or ffmpeg is missing.
func makeFLAC(t *testing.T, dir string, c flacCase) string {
	t.Helper()
	audiotest.NeedTool(t, "sox")
	wav := filepath.Join(dir, "in.wav")
	out := filepath.Join(dir, "out.flac")
	synthBits := c.bits
	if c.coarse > 0 {
		synthBits = c.coarse
	}
	args := []string{"-n", "-r", fmt.Sprint(c.rate), "-c", fmt.Sprint(c.ch), "-b", fmt.Sprint(synthBits), wav, "synth", c.dur}
	args = append(args, c.synth...)
	audiotest.Run(t, "sox", append(args, "vol", "0.9")...)
	if c.coarse > 0 {
		fine := filepath.Join(dir, "fine.wav")
		audiotest.Run(t, "sox", wav, "-b", fmt.Sprint(c.bits), fine)
		wav = fine
	}
	if c.soxEnc {
		audiotest.Run(t, "sox", wav, "-b", fmt.Sprint(c.bits), out)
		return out
	}
	audiotest.NeedTool(t, "ffmpeg")
	args = append([]string{"-v", "error", "-y", "-i", wav}, c.ffmpeg...)
	audiotest.Run(t, "ffmpeg", append(args, out)...)
	return out
}

// Every case decodes sample for sample as ffmpeg decodes it, obeys the
// Source contract, and has the length STREAMINFO declares.
func TestFLACMatchesFFmpeg(t *testing.T) {
	for _, c := range flacCases {
		t.Run(c.name, func(t *testing.T) {
			path := makeFLAC(t, t.TempDir(), c)
			got := audiotest.CheckContract(t, func() (pipeline.Source, error) { return File(path)(context.Background()) })
			src, err := File(path)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f, frames := src.Format(), src.(pipeline.Lengther).Frames()
			pipeline.Close(src)
			if f != (pipeline.Format{Rate: c.rate, Channels: c.ch}) || frames != c.wantFrames {
				t.Errorf("format %v, %d frames; want %d Hz, %d channels, %d frames", f, frames, c.rate, c.ch, c.wantFrames)
			}
			want := audiotest.FFmpegDecode(t, path, 0)
			if len(got) != len(want) || int64(len(got)) != c.wantFrames*int64(c.ch) {
				t.Fatalf("%d samples, ffmpeg %d, want %d", len(got), len(want), c.wantFrames*int64(c.ch))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("sample %d (frame %d, channel %d) = %v, ffmpeg %v", i, i/c.ch, i%c.ch, got[i], want[i])
				}
			}
			var peak float32
			for _, v := range got {
				peak = max(peak, v, -v)
			}
			if c.synth[len(c.synth)-1] != "0" && (peak < 0.5 || peak > 1) {
				t.Errorf("peak %v: want the synthesised level (0.9) within [-1, 1]", peak)
			}
		})
	}
}

// A real-ish recording: a three-second stereo chirp with noise at 44.1 kHz
// through the whole CLI pipeline of the README, resampled to 8 kHz.
func TestFLACPipelineLikeREADME(t *testing.T) {
	dir := t.TempDir()
	path := makeFLAC(t, dir, flacCase{rate: 44100, ch: 2, bits: 16, dur: "3",
		synth: []string{"sine", "200-3400", "pinknoise"}})
	open, err := pipeline.OpenerText(fmt.Sprintf("file %q | resample 8k", path))
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	got, err := audiotest.ReadAll(src, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if f := src.Format(); f.Rate != 8000 || len(got) != 3*8000*f.Channels {
		t.Errorf("format %v, %d samples; want 3 s at 8 kHz", f, len(got))
	}
	if rms := audiotest.RMS(audiotest.Channel(got, 2, 0)); rms < 0.1 {
		t.Errorf("RMS %v: the chirp is missing", rms)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// What ffmpeg writes to a pipe has no length and no MD5 signature (it
// cannot seek back to write them): it decodes from a reader that cannot
// seek, with an unknown length, as ffmpeg decodes it.
func TestFLACFromPipe(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	audiotest.NeedTool(t, "sox")
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.Run(t, "sox", "-n", "-r", "48000", "-c", "2", "-b", "24", wav, "synth", "0.5", "sine", "700", "pinknoise", "vol", "0.5")
	data := audiotest.Run(t, "ffmpeg", "-v", "error", "-i", wav, "-f", "flac", "-")
	src, err := Decode(struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if n := src.(pipeline.Lengther).Frames(); n != -1 {
		t.Errorf("Frames = %d, want -1 (unknown)", n)
	}
	got, err := audiotest.ReadAll(src, 1000)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "piped.flac")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := audiotest.FFmpegDecode(t, path, 0)
	if len(got) != 48000 || !equalSamples(got, want) {
		t.Errorf("%d samples (ffmpeg %d), want 48000 equal to ffmpeg's", len(got), len(want))
	}
}
