package sources

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

var dtmfAll = []float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

func TestDTMFDigits(t *testing.T) {
	const digits = "0123456789*#ABCDabcd"
	want := map[rune][2]float64{
		'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
		'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
		'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
		'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
		'a': {697, 1633}, 'b': {770, 1633}, 'c': {852, 1633}, 'd': {941, 1633},
	}
	for _, rate := range []int{8000, 48000} {
		o := mustGen(t, "dtmf", map[string]string{"digits": digits, "tone": "70ms", "gap": "30ms", "amp": "-3dB", "rate": genItoa(rate)})
		src := genOpen(t, o)
		x := audiotest.Channel(audiotest.MustReadAll(t, src), 1, 0)
		tone, gap := 70*rate/1000, 30*rate/1000
		if len(x) != len(digits)*(tone+gap) || pipeline.FramesOf(src) != int64(len(x)) {
			t.Fatalf("rate %d: %d frames (Frames() %d), want %d", rate, len(x), pipeline.FramesOf(src), len(digits)*(tone+gap))
		}
		// Each tone at 6 dB below amp, so that their sum peaks at amp.
		level := pipeline.DBToAmplitude(-3) / 2
		for i, d := range digits {
			seg := x[i*(tone+gap) : (i+1)*(tone+gap)]
			amps, res := audiotest.FitSines(seg[:tone], dtmfAll, rate)
			for k, f := range dtmfAll {
				if f == want[d][0] || f == want[d][1] {
					if math.Abs(audiotest.DB(amps[k]/level)) > 0.05 {
						t.Errorf("rate %d digit %c: %g Hz at %.3f dB re its level", rate, d, f, audiotest.DB(amps[k]/level))
					}
				} else if amps[k] > level*1e-5 {
					t.Errorf("rate %d digit %c: %g Hz present at %.1f dB", rate, d, f, audiotest.DB(amps[k]/level))
				}
			}
			if res > level*1e-5 {
				t.Errorf("rate %d digit %c: %.1f dB of something else", rate, d, audiotest.DB(res/level))
			}
			if seg[0] != 0 || seg[tone-1] == 0 {
				t.Errorf("rate %d digit %c: tone does not start at frame 0 or ends early", rate, d)
			}
			for j, v := range seg[tone:] {
				if v != 0 {
					t.Fatalf("rate %d digit %c: gap frame %d = %v", rate, d, j, v)
				}
			}
		}
	}
}

func TestDTMFFrequencies(t *testing.T) {
	if _, _, ok := DTMFFrequencies('e'); ok {
		t.Error("e is a DTMF digit")
	}
	lo, hi, ok := DTMFFrequencies('#')
	if !ok || lo != 941 || hi != 1477 {
		t.Errorf("# = %g, %g, %v", lo, hi, ok)
	}
}

func TestDTMFPauseAndDefaults(t *testing.T) {
	// Defaults: 100 ms tone, 100 ms gap, 500 ms for a comma, 48 kHz.
	o, err := DTMF(DTMFOptions{Digits: "1,2"})
	if err != nil {
		t.Fatal(err)
	}
	src := genOpen(t, o)
	x := audiotest.Channel(audiotest.MustReadAll(t, src), 1, 0)
	if len(x) != 48000*(200+500+200)/1000 {
		t.Fatalf("%d frames", len(x))
	}
	for i, v := range x[4800:33600] {
		if v != 0 {
			t.Fatalf("frame %d of the gap and pause = %v", 4800+i, v)
		}
	}
	for i, v := range x[38400:] {
		if v != 0 {
			t.Fatalf("frame %d of the last gap = %v", 38400+i, v)
		}
	}
	amps, _ := audiotest.FitSines(x[33600:38400], dtmfAll, 48000)
	if math.Abs(audiotest.DB(amps[0]/(DefaultAmp/2))) > 0.05 || math.Abs(audiotest.DB(amps[5]/(DefaultAmp/2))) > 0.05 {
		t.Errorf("second digit: %v", amps)
	}
	// The peak of the sum stays within amp.
	peak := 0.0
	for _, v := range x {
		peak = math.Max(peak, math.Abs(v))
	}
	if peak > DefaultAmp || peak < DefaultAmp*0.95 {
		t.Errorf("peak %.4f, want just below %.4f", peak, DefaultAmp)
	}
	// gap=0 means no gap.
	x = audiotest.Channel(audiotest.MustReadAll(t, genOpen(t, mustGen(t, "dtmf", map[string]string{"digits": "55", "gap": "0", "rate": "8k"}))), 1, 0)
	if len(x) != 1600 {
		t.Errorf("gap=0: %d frames, want 1600", len(x))
	}
}

func TestDTMFContract(t *testing.T) {
	audiotest.CheckContract(t, genContract(mustGen(t, "dtmf", map[string]string{"digits": "12,#", "tone": "40ms", "gap": "25ms", "pause": "50ms", "rate": "8k", "channels": "2"})))
	audiotest.CheckContract(t, genContract(mustGen(t, "dtmf", map[string]string{"digits": "9", "tone": "50ms"})))
}

func TestDTMFAdapt(t *testing.T) {
	src := genOpen(t, mustGen(t, "dtmf", map[string]string{"digits": "5"}))
	a, ok := src.(pipeline.Adaptable)
	if !ok {
		t.Fatal("dtmf without rate= is not Adaptable")
	}
	out, err := a.Adapt(pipeline.Format{Rate: 8000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(audiotest.MustReadAll(t, out)); n != 1600 {
		t.Errorf("adapted to 8 kHz: %d frames, want 1600", n)
	}
	// 5 sounds 770 and 1336 Hz: 2.7 kHz will do, 2.6 kHz will not.
	if _, err := a.Adapt(pipeline.Format{Rate: 2700, Channels: 1}); err != nil {
		t.Errorf("adapted to 2.7 kHz: %v", err)
	}
	_, err = a.Adapt(pipeline.Format{Rate: 2600, Channels: 1})
	want := `digit '5' sounds 1336 Hz, which is not below half the sample rate (1300 Hz at 2600 Hz); raise rate=`
	if err == nil || err.Error() != want {
		t.Errorf("adapted to 2.6 kHz: %v; want %s", err, want)
	}
	if _, ok := genOpen(t, mustGen(t, "dtmf", map[string]string{"digits": "5", "rate": "8k"})).(pipeline.Adaptable); ok {
		t.Error("dtmf rate=8k is Adaptable")
	}
}

func TestDTMFErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"digits": ""}, "no digits"},
		{map[string]string{"digits": "12x4"}, `'x' (character 3`},
		{map[string]string{"digits": "1 2"}, `' ' (character 2`},
		{map[string]string{"digits": "ä"}, `'ä' (character 1`},
		{map[string]string{"digits": "1A", "rate": "3k"}, `digit 'A' sounds 1633 Hz, which is not below half the sample rate (1500 Hz at 3000 Hz)`},
		{map[string]string{"digits": "#,1", "rate": "2900"}, `digit '#' sounds 1477 Hz, which is not below half`},
		{map[string]string{"digits": "1", "tone": "0"}, "out of range"},
		{map[string]string{"digits": "1", "amp": "1dB"}, "out of range"},
	} {
		_, err := genElement("dtmf", c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dtmf %v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
	if _, err := genElement("dtmf", map[string]string{}); err == nil {
		t.Error("dtmf without digits accepted")
	}
	for _, opt := range []DTMFOptions{
		{Digits: "1", Tone: -time.Second},
		{Digits: "1", Amp: 2},
		{Digits: "1", Rate: 1 << 30},
	} {
		if _, err := DTMF(opt); err == nil {
			t.Errorf("DTMF(%+v) accepted", opt)
		}
	}
}

// Only the frequencies of the digits dialled bound the rate: 1 sounds 697
// and 1209 Hz, so it plays at 3 kHz (below twice 1633 Hz).
func TestDTMFRateBoundByDigitsGiven(t *testing.T) {
	for _, digits := range []string{"1", "1*0,7", ","} {
		src := genOpen(t, mustGen(t, "dtmf", map[string]string{"digits": digits, "rate": "3k"}))
		got := audiotest.MustReadAll(t, src)
		if want := int(pipeline.FramesOf(src)); len(got) != want || want == 0 {
			t.Errorf("dtmf %s rate=3k: %d frames, length %d", digits, len(got), want)
		}
	}
	src := genOpen(t, mustGen(t, "dtmf", map[string]string{"digits": "1", "rate": "3k", "tone": "10ms", "gap": "0"}))
	got := audiotest.MustReadAll(t, src)
	if len(got) != 30 {
		t.Fatalf("%d frames, want 30", len(got))
	}
	for i, v := range got {
		w := DefaultAmp / 2 * (math.Sin(2*math.Pi*697*float64(i)/3000) + math.Sin(2*math.Pi*1209*float64(i)/3000))
		if math.Abs(float64(v)-w) > 1e-5 {
			t.Fatalf("sample %d = %v, want %v", i, v, w)
		}
	}
}

// An empty digit string reads well, its stage label included.
func TestDTMFNoDigitsMessage(t *testing.T) {
	_, err := pipeline.OpenerText(`dtmf ""`)
	want := `dtmf "": no digits to dial: give some of 0-9, *, #, A-D, and , for a pause`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
