package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// An echo test over real sockets: `simulate --say` against
// `caller | elks chunk=20ms` reports the echo. The exact delay (30 ms) is
// TestEchoLatency (package elks), on a fake clock; over loopback on a
// shared machine the bound is generous, and the figure is logged.
func TestEchoCLI(t *testing.T) {
	url := serveElks(t, "caller | elks format=pcm_16000 chunk=20ms hangup=false listen=127.0.0.1:0")
	said := "noise 150ms amp=-10dB + silence 250ms + noise 80ms amp=-10dB + silence 420ms + noise 300ms amp=-10dB + silence 700ms + noise 50ms amp=-10dB + silence 1s"
	code, stdout, stderr := runCLI(t, context.Background(), "simulate", url, "--duration", "4s", "--say", said, "--json")
	if code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	var r elkstest.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if r.Echo == nil || r.Echo.Latency < 0.02 || r.Echo.Latency > 0.5 || r.Echo.Correlation < 0.7 {
		t.Fatalf("echo %+v, want the caller's audio back within 0.5 s", r.Echo)
	}
	t.Logf("echo over loopback: %+v; gaps %d (%.1f ms)", *r.Echo, r.Gaps.Count, r.Gaps.Seconds*1000)
}

// record-mode=both from the command line: a stereo WAV, the caller's
// 1 kHz on the left, the 440 Hz the caller heard on the right.
func TestRecordBothCLI(t *testing.T) {
	dir := t.TempDir()
	url := serveElks(t, "tone 440 dur=3s | elks format=ulaw chunk=20ms record="+dir+"/{callid}.wav record-mode=both listen=127.0.0.1:0")
	code, _, stderr := runCLI(t, context.Background(), "simulate", url, "--duration", "5s", "--callid", "both1",
		"--say", "silence 1s + tone 1000 dur=1s amp=-6dB")
	if code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	// The server completes the file as the call closes, a moment after
	// the simulator has seen the bye.
	var got []float32
	var rate int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		samples, f, err := readAllFile(filepath.Join(dir, "both1.wav"))
		if err == nil && f.Channels != 2 {
			t.Fatalf("recording in %v, want stereo", f)
		}
		if err == nil && len(samples) >= 2*f.Rate*29/10 {
			got, rate = samples, f.Rate
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete recording: %d samples, %v", len(samples), err)
		}
	}
	left, right := audiotest.Channel(got, 2, 0), audiotest.Channel(got, 2, 1)
	if len(left) < 2*rate {
		t.Fatalf("recording of %d frames", len(left))
	}
	if f := audiotest.Frequency(left[rate+rate/10:2*rate-rate/10], rate, 200, 2000); math.Abs(f-1000) > 2 {
		t.Errorf("the caller's side at 1.1-1.9 s: %.1f Hz, want 1000", f)
	}
	if f := audiotest.Frequency(right[rate/10:rate-rate/10], rate, 200, 2000); math.Abs(f-440) > 2 {
		t.Errorf("the heard side at 0.1-0.9 s: %.1f Hz, want 440", f)
	}
	if strings.Contains(stderr, "panic") {
		t.Error(stderr)
	}
}

// readAllFile decodes a WAV, MP3 or FLAC file of any channel count.
func readAllFile(path string) ([]float32, pipeline.Format, error) {
	src, err := sources.File(path)(context.Background())
	if err != nil {
		return nil, pipeline.Format{}, err
	}
	defer pipeline.Close(src)
	all, err := audiotest.ReadAll(src, 4096)
	return all, src.Format(), err
}
