package elks_test

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// readStereo reads a two-sided recording: its left and right channels.
func readStereo(t *testing.T, path string) (left, right []float64, rate int) {
	t.Helper()
	src, err := sources.File(path)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	f := src.Format()
	if f.Channels != 2 {
		t.Fatalf("%s has %d channels, want 2", path, f.Channels)
	}
	all := audiotest.MustReadAll(t, src)
	return audiotest.Channel(all, 2, 0), audiotest.Channel(all, 2, 1), f.Rate
}

// readMono reads a mono WAV file.
func readMono(t *testing.T, path string) []float64 {
	t.Helper()
	src, err := sources.File(path)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return audiotest.Channel(audiotest.MustReadAll(t, src), 1, 0)
}

// onset returns where a tone of f Hz first reaches half of amplitude amp
// in x, in seconds, by 5 ms steps over 10 ms windows; -1 if never.
func onset(x []float64, f float64, amp float64, rate int) float64 {
	step, win := rate/200, rate/100
	for i := 0; i+win <= len(x); i += step {
		if a, _, _ := audiotest.SineFit(x[i:i+win], f, rate); a > amp/2 {
			return float64(i) / float64(rate)
		}
	}
	return -1
}

// toneAmp returns the amplitude of f Hz in x[from:to] (seconds).
func toneAmp(x []float64, f float64, rate int, from, to float64) float64 {
	a, _, _ := audiotest.SineFit(x[int(from*float64(rate)):int(to*float64(rate))], f, rate)
	return a
}

// record-mode=both: the caller (1 kHz from 1 s) on the left, what the
// caller heard (440 Hz from 0.5 s, an interrupt at 1.3 s, then 700 Hz)
// on the right, on the call's clock — the right channel is what the
// simulator itself recorded as heard, sample for sample, and the left
// is the caller's tone where the simulator said it.
func TestSessionRecordsBothSides(t *testing.T) {
	for _, f := range []elks.Format{elks.PCM16000, elks.ULaw} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			say, err := pipeline.OpenerText("silence 1s + tone 1000 dur=1s amp=-6dB")
			if err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				cfg := elks.Config{Format: f, Chunk: 20 * time.Millisecond, Record: dir + "/{callid}.wav", RecordMode: elks.RecordBoth}
				call := startSim(t, cfg, elkstest.Options{Say: say, Record: dir + "/heard.wav", RecordRate: 8000 * (1 + btoi(f == elks.PCM16000))})
				ctx := context.Background()
				s := call.s
				errc := make(chan error, 1)
				go func() { errc <- s.PlayGraph(ctx, elks.TestGraph(t, "silence 500ms + tone 440 dur=5s amp=-6dB")) }()
				time.Sleep(1300 * time.Millisecond)
				s.Interrupt()
				<-errc
				if err := s.PlayGraph(ctx, elks.TestGraph(t, "tone 700 dur=1s amp=-6dB")); err != nil {
					t.Error(err)
				}
				s.Drain(ctx)
				time.Sleep(time.Second) // the caller's tone ends at 2 s
				s.Hangup()
				call.report()
			})
			left, right, rate := readStereo(t, filepath.Join(dir, "c1.wav"))
			heard := readMono(t, filepath.Join(dir, "heard.wav"))
			// The heard side is what the simulator played, where it
			// played it (a µ-law call: the audio before the codec).
			n := min(len(right), len(heard))
			tol := 1e-4
			if f == elks.ULaw {
				tol = 0.05
			}
			for i := 0; i < n; i++ {
				if math.Abs(right[i]-heard[i]) > tol {
					t.Fatalf("right channel differs from what the simulator played at %.4f s: %g, want %g", float64(i)/float64(rate), right[i], heard[i])
				}
			}
			if len(right) < len(heard) {
				t.Errorf("recording %.3f s long, shorter than what was heard (%.3f s)", float64(len(right))/float64(rate), float64(len(heard))/float64(rate))
			}
			// On the clock: 440 Hz from 0.5 s, cut at 1.3 s; 700 Hz
			// right after; the caller's 1 kHz from 1 s on the left.
			const chunk = 0.02
			for _, c := range []struct {
				name string
				x    []float64
				hz   float64
				want float64
			}{
				{"heard 440 Hz", right, 440, 0.5}, {"heard 700 Hz", right, 700, 1.3}, {"caller 1 kHz", left, 1000, 1.0},
			} {
				if got := onset(c.x, c.hz, 0.5, rate); math.Abs(got-c.want) > chunk {
					t.Errorf("%s starts at %.3f s, want %.3f s (within %v s)", c.name, got, c.want, chunk)
				}
			}
			// Each side holds its own audio only.
			if a := toneAmp(left, 440, rate, 0.6, 1.2); a > 0.01 {
				t.Errorf("440 Hz (heard) on the caller's side: %.3f", a)
			}
			if a := toneAmp(right, 1000, rate, 1.1, 1.9); a > 0.01 {
				t.Errorf("1 kHz (said) on the heard side: %.3f", a)
			}
			if a := toneAmp(right, 440, rate, 1.35, 2.2); a > 0.01 {
				t.Errorf("440 Hz heard after the interrupt: %.3f", a)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A call that drops while audio is queued leaves a complete, valid stereo
// WAV: its header patched with the real sizes, the heard side cut where
// the call ended.
func TestSessionRecordsBothSidesDropped(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		cfg := elks.Config{Format: elks.PCM8000, Chunk: 20 * time.Millisecond, Record: dir + "/{callid}.wav", RecordMode: elks.RecordBoth}
		call := startSim(t, cfg, elkstest.Options{})
		go call.s.PlayGraph(context.Background(), elks.TestGraph(t, "tone 440 dur=10s amp=-6dB"))
		time.Sleep(1500 * time.Millisecond)
		call.tap.Transport.Close() // the connection breaks: no bye
		<-call.s.Done()
		call.s.Close()
		if e := call.s.End(); e.By != elks.ByDrop {
			t.Errorf("end %+v, want dropped", e)
		}
		call.report()
	})
	path := filepath.Join(dir, "c1.wav")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if riff, data := binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[40:]); int(riff) != len(b)-8 || int(data) != len(b)-44 {
		t.Errorf("header sizes riff %d data %d for a %d-byte file: not patched", riff, data, len(b))
	}
	_, right, rate := readStereo(t, path)
	if d := float64(len(right)) / float64(rate); math.Abs(d-1.5) > 0.05 {
		t.Errorf("recording %.3f s long, want the call's 1.5 s", d)
	}
	if a := toneAmp(right, 440, rate, 0.1, 1.4); math.Abs(a-0.5) > 0.01 {
		t.Errorf("heard 440 Hz at amplitude %.3f until the drop, want 0.5", a)
	}
}

// record-max= bounds a two-sided recording as it does a mono one.
func TestSessionRecordsBothSidesMax(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		cfg := elks.Config{Format: elks.PCM8000, Chunk: 20 * time.Millisecond, Record: dir + "/{callid}.wav",
			RecordMode: elks.RecordBoth, RecordMax: time.Second}
		call := startSim(t, cfg, elkstest.Options{})
		if err := call.play(t, "tone 440 dur=4s amp=-6dB"); err != nil {
			t.Error(err)
		}
		call.report()
	})
	_, right, rate := readStereo(t, filepath.Join(dir, "c1.wav"))
	if len(right) != rate {
		t.Errorf("recording of %d frames, want %d (1 s)", len(right), rate)
	}
}
