package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// The registered element, built from pipe syntax as the CLI builds it,
// prints every digit of elkspipe's dtmf source with its start time, at a
// rate and channel count the sink must convert.
func TestDigitsFromPipeline(t *testing.T) {
	out := filepath.Join(t.TempDir(), "digits.txt")
	runText(t, "dtmf 0123456789*#ABCD tone=60ms gap=60ms rate=44.1k channels=2 | digits "+out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	keys := "0123456789*#ABCD"
	if len(lines) != len(keys) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(keys), b)
	}
	for i, l := range lines {
		var sec float64
		var key string
		if _, err := fmtSscan(l, &sec, &key); err != nil || key != keys[i:i+1] {
			t.Errorf("line %d %q: want digit %c", i+1, l, keys[i])
			continue
		}
		if want := 0.12 * float64(i); sec < want-0.006 || sec > want+0.006 {
			t.Errorf("line %q: at %.3f s, want %.3f", l, sec, want)
		}
	}
}

// compact=yes writes the digits on one line; a stream without digits
// writes nothing.
func TestDigitsCompact(t *testing.T) {
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	runText(t, "dtmf 159# rate=8k | digits compact=yes")
	runText(t, "tone 1k dur=1s rate=8k | digits compact=yes")
	if buf.String() != "159#\n" {
		t.Errorf("output %q, want %q", buf.String(), "159#\n")
	}
}

func runText(t *testing.T, text string) {
	t.Helper()
	p, err := pipeline.BuildText(context.Background(), text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	defer p.Close()
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
}

// From Go: OnDigit sees each digit with its time and length, and Run
// converts a stereo stream at a rate the detector does not take.
func TestDigitsOnDigit(t *testing.T) {
	var got []Digit
	s := DigitsTo(nil, DigitsOptions{OnDigit: func(d Digit) { got = append(got, d) }})
	f := pipeline.Format{Rate: 8000, Channels: 2}
	lo, hi := 770.0, 1336.0 // 5
	x := make([]float32, 2*8000)
	for i := 2000; i < 2800; i++ { // 250 ms to 350 ms
		v := 0.2*sin(lo, i-2000, 8000) + 0.2*sin(hi, i-2000, 8000)
		x[2*i], x[2*i+1] = v, v
	}
	if err := s.Run(context.Background(), pipeline.FromSlice(f, x)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != '5' || got[0].At < 247*time.Millisecond || got[0].At > 253*time.Millisecond ||
		got[0].Len < 35*time.Millisecond || got[0].Len > 60*time.Millisecond {
		t.Errorf("got %v, want 5 at 0.250 s, proved after 35-60 ms", got)
	}
}

func TestDigitsErrors(t *testing.T) {
	if _, err := Digits("", DigitsOptions{}); err == nil {
		t.Error("Digits with an empty path: no error")
	}
	s := DigitsTo(failWriter{}, DigitsOptions{})
	src := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, audiotest.Pattern(100, 1))
	if err := s.Run(context.Background(), src); err != nil {
		t.Errorf("no digits, nothing written: Run = %v", err)
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run(nil): no error")
	}
	// A write error is returned.
	var x []float32
	for i := 0; i < 1600; i++ {
		x = append(x, 0.2*sin(697, i, 8000)+0.2*sin(1209, i, 8000))
	}
	x = append(x, make([]float32, 800)...)
	err := s.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, x))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Run with a failing writer = %v, want its error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src = &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}}
	if err := DigitsTo(nil, DigitsOptions{}).Run(ctx, src); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Run = %v", err)
	}
}

func fmtSscan(line string, sec *float64, key *string) (int, error) {
	return fmt.Sscanf(line, "%fs %s", sec, key)
}

// sin returns sample i of a sine of frequency f at rate, amplitude 1.
func sin(f float64, i, rate int) float32 {
	return float32(math.Sin(2 * math.Pi * f * float64(i) / float64(rate)))
}
