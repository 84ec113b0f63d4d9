package dtmf_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/dtmf"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/internal/g722"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
)

const dialled = "0123456789*#ABCD"

// decode runs a Detector over x and returns the digits pressed.
func decode(t *testing.T, rate int, x []float32) string {
	t.Helper()
	d, err := dtmf.New(rate)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for len(x) > 0 {
		n := min(len(x), 256)
		for _, e := range d.Write(x[:n]) {
			if !e.End {
				b.WriteByte(e.Digit)
			}
		}
		x = x[n:]
	}
	return b.String()
}

// generate renders elkspipe's own dtmf source.
func generate(t *testing.T, opt sources.DTMFOptions) []float32 {
	t.Helper()
	open, err := sources.DTMF(opt)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	var out []float32
	buf := make([]float32, 1024)
	for {
		n, err := src.Read(buf)
		out = append(out, buf[:n*src.Format().Channels]...)
		if err != nil {
			return out
		}
	}
}

// The dtmf source's digits decode back to the same string at every rate,
// across levels and its shortest usual timing.
func TestOwnGenerator(t *testing.T) {
	for _, rate := range []int{8000, 16000, 24000, 48000} {
		for _, amp := range []float64{-30, -20, -6, 0} { // peak of the sum, dBFS
			for _, timing := range []time.Duration{40 * time.Millisecond, 100 * time.Millisecond} {
				x := generate(t, sources.DTMFOptions{Digits: dialled, Rate: rate, Channels: 1,
					Amp: pipeline.DBToAmplitude(amp), Tone: timing, Gap: timing})
				if got := decode(t, rate, x); got != dialled {
					t.Errorf("%d Hz, %g dBFS, %v tones and gaps: got %q, want %q", rate, amp, timing, got, dialled)
				}
			}
		}
	}
}

// quantise rounds x to 16-bit integers.
func quantise(x []float32) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(-32768, min(32767, v*32768)))
	}
	return out
}

func floats(x []int16) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v) / 32768
	}
	return out
}

// Digits survive the codecs of the listen formats: µ-law and A-law at
// 8 kHz and G.722 at 16 kHz, at the dtmf source's default level and 20 dB
// below it.
func TestThroughCodecs(t *testing.T) {
	for _, amp := range []float64{-6, -26} {
		opt := sources.DTMFOptions{Digits: dialled, Rate: 8000, Channels: 1, Amp: pipeline.DBToAmplitude(amp), Tone: 60 * time.Millisecond, Gap: 60 * time.Millisecond}
		pcm := quantise(generate(t, opt))
		ulaw, alaw := make([]int16, len(pcm)), make([]int16, len(pcm))
		for i, s := range pcm {
			ulaw[i] = g711.ULawToLinear[g711.EncodeULaw(s)]
			alaw[i] = g711.ALawToLinear[g711.EncodeALaw(s)]
		}
		if got := decode(t, 8000, floats(ulaw)); got != dialled {
			t.Errorf("µ-law at %g dBFS: got %q", amp, got)
		}
		if got := decode(t, 8000, floats(alaw)); got != dialled {
			t.Errorf("A-law at %g dBFS: got %q", amp, got)
		}
		opt.Rate = 16000
		wide := quantise(generate(t, opt))
		coded := g722.NewEncoder().Encode(nil, wide)
		back := g722.NewDecoder().Decode(nil, coded)
		if got := decode(t, 16000, floats(back)); got != dialled {
			t.Errorf("G.722 at %g dBFS: got %q", amp, got)
		}
	}
}

// DTMF made by sox (sine pairs, one per digit, with gaps) decodes to the
// digits sox was asked for.
func TestSox(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed")
	}
	dir := t.TempDir()
	var parts []string
	for i, d := range "159#" {
		lo, hi, _ := dtmf.Frequencies(byte(d))
		p := filepath.Join(dir, string(rune('a'+i))+".wav")
		cmd := exec.Command("sox", "-n", "-r", "8000", "-b", "16", "-c", "1", p, "synth", "0.1",
			"sine", ftoa(lo), "sine", ftoa(hi), "channels", "1", "gain", "-10", "pad", "0", "0.1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v: %s", err, out)
		}
		parts = append(parts, p)
	}
	all := filepath.Join(dir, "all.wav")
	if out, err := exec.Command("sox", append(parts, all)...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	src, err := sources.File(all)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	var x []float32
	buf := make([]float32, 1024)
	for {
		n, err := src.Read(buf)
		x = append(x, buf[:n]...)
		if err != nil {
			break
		}
	}
	if src.Format().Channels != 1 {
		t.Fatalf("sox wrote %v", src.Format())
	}
	if got := decode(t, src.Format().Rate, x); got != "159#" {
		t.Errorf("got %q, want 159#", got)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Digits survive Opus (the ogg listen format) at 12 and 24 kbit/s, coded
// and decoded by opus-tools at 48 kHz.
func TestOpusTools(t *testing.T) {
	for _, tool := range []string{"opusenc", "opusdec"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	x := generate(t, sources.DTMFOptions{Digits: dialled, Rate: 48000, Channels: 1, Tone: 60 * time.Millisecond, Gap: 60 * time.Millisecond})
	w, err := sinks.NewWAVWriter(f, pipeline.Format{Rate: 48000, Channels: 1}, sinks.WAVS16)
	if err == nil {
		err = w.Write(x)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, kbits := range []string{"12", "24"} {
		coded, out := filepath.Join(dir, kbits+".opus"), filepath.Join(dir, kbits+".wav")
		for _, cmd := range [][]string{
			{"opusenc", "--quiet", "--bitrate", kbits, in, coded},
			{"opusdec", "--quiet", "--rate", "48000", coded, out},
		} {
			if b, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", cmd[0], err, b)
			}
		}
		x := readPipeline(t, "file "+out)
		if got := decode(t, 48000, x); got != dialled {
			t.Errorf("Opus at %s kbit/s: got %q, want %q", kbits, got, dialled)
		}
	}
}
