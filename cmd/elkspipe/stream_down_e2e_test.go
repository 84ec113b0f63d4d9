package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// A server whose stream is down when it starts (Icecast runs, but the
// mount's source has not connected: it answers 404) starts all the same,
// as a server behind an orchestrator must; a call hears silence while the
// stream is retried, then the stream once its source connects, and the
// log tells both.
func TestStreamDownAtServerStart(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	ic := startIcecast(t)
	bin := buildElkspipe(t)
	u := "http://127.0.0.1:" + ic.port + "/hold.mp3"
	srv := startReplica(t, bin, "stream "+u+" | elks listen=127.0.0.1:0")
	logs := srv.logs
	logs.wait(t, "live stream unreachable")
	heard := filepath.Join(t.TempDir(), "heard.wav")
	type result struct {
		rep *elkstest.Report
		err error
	}
	called := make(chan result, 1)
	go func() {
		rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: "ws://" + srv.addr + "/", Duration: 16 * time.Second, Record: heard, RecordRate: 16000})
		called <- result{rep, err}
	}()
	time.Sleep(4 * time.Second)
	ic.feed(t, "/hold.mp3")
	logs.wait(t, "live stream reconnected")
	res := <-called
	if res.err != nil {
		t.Fatalf("call: %v\n%s", res.err, logs.String())
	}
	if res.rep.End.By == "app" || res.rep.Duration < 15 {
		t.Fatalf("the call ended by %q after %.1f s, want the caller's hangup at 16 s\n%s", res.rep.End.By, res.rep.Duration, logs.String())
	}
	raw, _ := decodeFile(t, heard)
	x := audiotest.Channel(raw[min(len(raw), int(res.rep.FirstAudio*16000)):], 1, 0)
	if len(x) < 14*16000 {
		t.Fatalf("the recording is %.1f s long", float64(len(x))/16000)
	}
	if rms := audiotest.RMS(x[:3*16000]); rms > 0.005 {
		t.Errorf("the first 3 s, while the stream was down, have an RMS of %.4f, want silence", rms)
	}
	end := len(x)
	if f := audiotest.Frequency(x[end-4*16000:end-16000], 16000, 200, 2000); math.Abs(f-440) > 3 {
		t.Errorf("once the source connected the call hears %.1f Hz, want 440\n%s", f, logs.String())
	}
	if l := logs.String(); !strings.Contains(l, `level=WARN msg="live stream unreachable`) {
		t.Errorf("the log does not say the stream is down:\n%s", l)
	}
}
