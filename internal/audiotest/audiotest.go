// Package audiotest holds helpers for elkspipe's tests: reading sources
// whole, contract checks every Source must pass, measurements of tones
// (frequency, level, SNR), and running external reference tools (ffmpeg,
// sox) when they are installed.
package audiotest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// ReadAll reads src to its end with reads of chunk frames and returns every
// sample. It fails on any error but io.EOF, and on a stream that never ends
// (more than maxFrames frames) or that keeps returning no frames and no
// error (io.ErrNoProgress, see pipeline.ReadSome).
func ReadAll(src pipeline.Source, chunk int) ([]float32, error) {
	const maxFrames = 1 << 28
	ch := src.Format().Channels
	buf := make([]float32, chunk*ch)
	var out []float32
	for {
		n, err := pipeline.ReadSome(src, buf)
		if n < 0 || n > chunk {
			return out, fmt.Errorf("Read returned %d frames for a %d-frame buffer", n, chunk)
		}
		out = append(out, buf[:n*ch]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(out)/ch > maxFrames {
			return out, errors.New("source does not end")
		}
	}
}

// MustReadAll is ReadAll with 4096-frame reads that fails the test on error.
func MustReadAll(t testing.TB, src pipeline.Source) []float32 {
	t.Helper()
	out, err := ReadAll(src, 4096)
	if err != nil {
		t.Fatalf("reading %T: %v", src, err)
	}
	return out
}

// CheckContract opens a source several times through open and reads it with
// different read sizes (1, 7, 160, 4096 frames, and a mix), checking the
// Source rules: whole frames, io.EOF at the end and again after it, output
// identical whatever the read sizes, and Close (when present) succeeding.
// It returns the samples.
func CheckContract(t testing.TB, open func() (pipeline.Source, error)) []float32 {
	t.Helper()
	var ref []float32
	for i, chunk := range []int{4096, 1, 7, 160, -1} {
		src, err := open()
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		f := src.Format()
		if err := f.Validate(); err != nil {
			t.Fatalf("format %v: %v", f, err)
		}
		var got []float32
		if chunk > 0 {
			got, err = ReadAll(src, chunk)
		} else {
			got, err = readMixed(src)
		}
		if err != nil {
			t.Fatalf("read with %d-frame chunks: %v", chunk, err)
		}
		if len(got)%f.Channels != 0 {
			t.Fatalf("%d samples is not a whole number of %d-channel frames", len(got), f.Channels)
		}
		buf := make([]float32, 64*f.Channels)
		if n, err := src.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
		}
		if n, err := src.Read(buf[:0]); n != 0 || err == nil {
			t.Fatalf("Read into an empty buffer = %d, %v; want 0 and an error", n, err)
		}
		if c, ok := src.(io.Closer); ok {
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		for _, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("sample %v is not finite", v)
			}
		}
		if i == 0 {
			ref = got
			continue
		}
		if len(got) != len(ref) {
			t.Fatalf("read with %d-frame chunks gave %d samples, with 4096-frame chunks %d", chunk, len(got), len(ref))
		}
		for j := range got {
			if got[j] != ref[j] {
				t.Fatalf("read with %d-frame chunks differs at sample %d: %v vs %v", chunk, j, got[j], ref[j])
			}
		}
	}
	return ref
}

func readMixed(src pipeline.Source) ([]float32, error) {
	ch := src.Format().Channels
	sizes := []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597}
	buf := make([]float32, 1597*ch)
	var out []float32
	for i := 0; ; i++ {
		n, err := pipeline.ReadSome(src, buf[:sizes[i%len(sizes)]*ch])
		out = append(out, buf[:n*ch]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(out) > 1<<28 {
			return out, errors.New("source does not end")
		}
	}
}

// Channel returns channel c of interleaved samples with ch channels, as
// float64.
func Channel(samples []float32, ch, c int) []float64 {
	out := make([]float64, len(samples)/ch)
	for i := range out {
		out[i] = float64(samples[i*ch+c])
	}
	return out
}

// RMS returns the root mean square of x.
func RMS(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	if len(x) == 0 {
		return 0
	}
	return math.Sqrt(s / float64(len(x)))
}

// SineFit fits x to a*sin(2πf n/rate) + b*cos(...) + c at the known
// frequency f by least squares and returns the amplitude, the phase and the
// SNR in dB of the sine against the residual.
func SineFit(x []float64, f float64, rate int) (amp, phase, snrDB float64) {
	w := 2 * math.Pi * f / float64(rate)
	// Normal equations for [sin cos 1].
	var m [3][3]float64
	var v [3]float64
	for n, s := range x {
		b := [3]float64{math.Sin(w * float64(n)), math.Cos(w * float64(n)), 1}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				m[i][j] += b[i] * b[j]
			}
			v[i] += b[i] * s
		}
	}
	c := solve3(m, v)
	var sig, res float64
	for n, s := range x {
		fit := c[0]*math.Sin(w*float64(n)) + c[1]*math.Cos(w*float64(n)) + c[2]
		sig += (fit - c[2]) * (fit - c[2])
		res += (s - fit) * (s - fit)
	}
	amp = math.Hypot(c[0], c[1])
	phase = math.Atan2(c[1], c[0])
	if res == 0 {
		return amp, phase, math.Inf(1)
	}
	return amp, phase, 10 * math.Log10(sig/res)
}

func solve3(m [3][3]float64, v [3]float64) [3]float64 {
	for i := 0; i < 3; i++ {
		p := i
		for r := i + 1; r < 3; r++ {
			if math.Abs(m[r][i]) > math.Abs(m[p][i]) {
				p = r
			}
		}
		m[i], m[p] = m[p], m[i]
		v[i], v[p] = v[p], v[i]
		if m[i][i] == 0 {
			continue
		}
		for r := 0; r < 3; r++ {
			if r == i {
				continue
			}
			k := m[r][i] / m[i][i]
			for c := i; c < 3; c++ {
				m[r][c] -= k * m[i][c]
			}
			v[r] -= k * v[i]
		}
	}
	var out [3]float64
	for i := 0; i < 3; i++ {
		if m[i][i] != 0 {
			out[i] = v[i] / m[i][i]
		}
	}
	return out
}

// Frequency estimates the dominant frequency of x in Hz: it finds the peak
// of a Goertzel scan from lo to hi Hz and refines it by golden-section search
// on the sine fit's amplitude. Accurate to well under 0.1 Hz for a clean
// tone of a second or more.
func Frequency(x []float64, rate int, lo, hi float64) float64 {
	power := func(f float64) float64 { return goertzel(x, f, rate) }
	step := float64(rate) / float64(len(x)) / 2
	if step <= 0 {
		return 0
	}
	best, bestP := lo, -1.0
	for f := lo; f <= hi; f += step {
		if p := power(f); p > bestP {
			best, bestP = f, p
		}
	}
	a, b := best-step, best+step
	const g = 0.6180339887498949
	for i := 0; i < 60; i++ {
		c, d := b-g*(b-a), a+g*(b-a)
		if power(c) > power(d) {
			b = d
		} else {
			a = c
		}
	}
	return (a + b) / 2
}

// goertzel returns the power of x at frequency f.
func goertzel(x []float64, f float64, rate int) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// Level returns the power of x at frequency f relative to a full-scale sine
// at f, in dB (a full-scale sine at f gives about 0).
func Level(x []float64, f float64, rate int) float64 {
	amp, _, _ := SineFit(x, f, rate)
	return 20 * math.Log10(amp)
}

// NeedTool skips the test unless the named program is on PATH.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// Run runs a program and returns its standard output, failing the test with
// its standard error if it fails.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

// S16LE decodes raw signed 16-bit little-endian PCM to float32 in [-1, 1).
func S16LE(b []byte) []float32 {
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return out
}

// FFmpegDecode decodes path with ffmpeg to float32 samples with the given
// channel count (0 keeps the file's), skipping the test when ffmpeg is
// absent.
func FFmpegDecode(t testing.TB, path string, channels int) []float32 {
	t.Helper()
	NeedTool(t, "ffmpeg")
	args := []string{"-v", "error", "-i", path}
	if channels > 0 {
		args = append(args, "-ac", fmt.Sprint(channels))
	}
	args = append(args, "-f", "f32le", "-")
	b := Run(t, "ffmpeg", args...)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// MaxDiff returns the largest absolute difference between a and b over
// their common length.
func MaxDiff(a, b []float32) float64 {
	var m float64
	for i := 0; i < min(len(a), len(b)); i++ {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
