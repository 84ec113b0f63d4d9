package sources

import (
	"math"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

func TestNoiseLevels(t *testing.T) {
	for _, amp := range []float64{-6, -20} {
		src := genOpen(t, mustGen(t, "noise", map[string]string{"dur": "1s", "amp": genFtoa(amp), "rate": "48k"}))
		if pipeline.FramesOf(src) != 48000 {
			t.Fatalf("Frames() = %d", pipeline.FramesOf(src))
		}
		x := audiotest.Channel(audiotest.MustReadAll(t, src), 1, 0)
		if len(x) != 48000 {
			t.Fatalf("%d frames", len(x))
		}
		peak := pipeline.DBToAmplitude(amp)
		var sum, max float64
		for _, v := range x {
			sum += v
			max = math.Max(max, math.Abs(v))
		}
		// Uniform on [-peak, peak): RMS = peak/√3, mean 0 within 4 standard
		// errors.
		rms := audiotest.RMS(x)
		t.Logf("amp %g dBFS: RMS %.3f dBFS, mean %.2g, peak %.4f", amp, audiotest.DB(rms), sum/48000, max)
		if d := audiotest.DB(rms) - audiotest.DB(peak/math.Sqrt(3)); math.Abs(d) > 0.05 {
			t.Errorf("amp %g: RMS %.3f dB off", amp, d)
		}
		if mean := sum / 48000; math.Abs(mean) > 4*peak/math.Sqrt(3)/math.Sqrt(48000) {
			t.Errorf("amp %g: mean %g", amp, mean)
		}
		if max > peak || max < peak*0.999 {
			t.Errorf("amp %g: peak %.5f, want just below %.5f", amp, max, peak)
		}
		// White: as much power in the top half of the band as in the bottom.
		sp := audiotest.Spectrum(x)
		var lo, hi float64
		for i, a := range sp[1:] {
			if i < len(sp)/2 {
				lo += a * a
			} else {
				hi += a * a
			}
		}
		if d := 10 * math.Log10(hi/lo); math.Abs(d) > 0.2 {
			t.Errorf("amp %g: top half of the band %.2f dB off the bottom half", amp, d)
		}
	}
}

func TestNoiseSeeds(t *testing.T) {
	read := func(p map[string]string) []float32 {
		p["dur"] = "100ms"
		return audiotest.MustReadAll(t, genOpen(t, mustGen(t, "noise", p)))
	}
	a, b := read(map[string]string{"seed": "7"}), read(map[string]string{"seed": "7"})
	if audiotest.MaxDiff(a, b) != 0 {
		t.Error("the same seed gave different noise")
	}
	c := read(map[string]string{"seed": "8"})
	if noiseCorr(audiotest.Channel(a, 1, 0), audiotest.Channel(c, 1, 0)) > 0.05 {
		t.Error("seeds 7 and 8 gave correlated noise")
	}
	if audiotest.MaxDiff(read(map[string]string{}), read(map[string]string{"seed": "1"})) != 0 {
		t.Error("the default seed is not 1")
	}
	// Channels carry independent noise.
	st := read(map[string]string{"channels": "2"})
	if r := noiseCorr(audiotest.Channel(st, 2, 0), audiotest.Channel(st, 2, 1)); math.Abs(r) > 0.05 {
		t.Errorf("channels correlate: %.3f", r)
	}
}

func noiseCorr(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

func TestNoiseEndlessAndContract(t *testing.T) {
	src := genOpen(t, mustGen(t, "noise", map[string]string{"rate": "8k"}))
	if n := pipeline.FramesOf(src); n != -1 {
		t.Fatalf("Frames() = %d, want -1", n)
	}
	buf := make([]float32, 3*8000)
	if n, err := pipeline.ReadFull(src, buf); n != len(buf) || err != nil {
		t.Fatalf("ReadFull = %d, %v", n, err)
	}
	if rms := audiotest.RMS(audiotest.Channel(buf[16000:], 1, 0)); math.Abs(audiotest.DB(rms/DefaultAmp)+4.77) > 0.2 {
		t.Errorf("third second: RMS %.2f dB re amp", audiotest.DB(rms/DefaultAmp))
	}
	audiotest.CheckContract(t, genContract(mustGen(t, "noise", map[string]string{"dur": "200ms", "channels": "2", "seed": "42"})))
	a := genOpen(t, mustGen(t, "noise", map[string]string{"dur": "1s"}))
	if _, ok := a.(pipeline.Adaptable); !ok {
		t.Error("noise without rate= is not Adaptable")
	}
	if _, ok := genOpen(t, mustGen(t, "noise", map[string]string{"rate": "8k"})).(pipeline.Adaptable); ok {
		t.Error("noise rate=8k is Adaptable")
	}
}

func TestNoiseErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"amp": "0.5dB"}, "out of range"},
		{map[string]string{"color": "pink"}, "not one of white"},
		{map[string]string{"seed": "x"}, "whole number"},
		{map[string]string{"dur": "0"}, "above zero"},
	} {
		_, err := genElement("noise", c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("noise %v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
	if _, err := Noise(NoiseOptions{Amp: 1.01}); err == nil {
		t.Error("amplitude 1.01 accepted")
	}
}
