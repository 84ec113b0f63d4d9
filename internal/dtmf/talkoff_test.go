package dtmf_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

// talk is read by espeak-ng in TestTalkOff: prose with numbers, as a
// caller says them, and whistled-sounding vowels.
const talk = `Thank you for calling. Please say your customer number after the tone:
four seven one, nine nine two, zero zero eight. I said four hundred and seventy one!
Oh no, it is my birthday on the twenty-second of November, nineteen eighty-five.
Hello? Hello? Can you hear me? The weather is lovely, isn't it? Beep beep, ring ring.
Eeeee, ooooh, aaaah. Sing along: do re mi fa so la ti do.`

// TestTalkOff has espeak-ng read speech with several voices, speeds and
// pitches, and asserts that the detector finds no digit in it, at 8 kHz
// through µ-law and at 16 kHz. bench/dtmf-talkoff.sh measures far more.
func TestTalkOff(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	dir := t.TempDir()
	for _, v := range []struct{ voice, speed, pitch string }{
		{"en", "175", "50"}, {"en-us+f3", "140", "80"}, {"en-gb+m3", "230", "30"}, {"sv+f2", "160", "60"},
	} {
		path := filepath.Join(dir, v.voice+".wav")
		if out, err := exec.Command("espeak-ng", "-v", v.voice, "-s", v.speed, "-p", v.pitch, "-w", path, talk).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v: %s", err, out)
		}
		for _, rate := range []int{8000, 16000} {
			x := readPipeline(t, "file "+path+" | resample "+map[int]string{8000: "8k", 16000: "16k"}[rate])
			if len(x) < 10*rate {
				t.Fatalf("%s: only %d samples of speech", v.voice, len(x))
			}
			if rate == 8000 {
				for i, s := range quantise(x) {
					x[i] = float32(g711.ULawToLinear[g711.EncodeULaw(s)]) / 32768
				}
			}
			if got := decode(t, rate, x); got != "" {
				t.Errorf("voice %s at %d Hz: false digits %q in %.1f s of speech", v.voice, rate, got, float64(len(x))/float64(rate))
			}
		}
	}
}

// readPipeline returns all the mono samples of a source pipeline.
func readPipeline(t *testing.T, text string) []float32 {
	t.Helper()
	open, err := pipeline.OpenerText(text)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if src.Format().Channels != 1 {
		t.Fatalf("%s: %v, want mono", text, src.Format())
	}
	var out []float32
	buf := make([]float32, 4096)
	for {
		n, err := src.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}
