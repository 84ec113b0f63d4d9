package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// serveElks serves a pipeline ending in `elks ... listen=127.0.0.1:0` and
// returns its WebSocket URL; the server stops when the test ends.
func serveElks(t *testing.T, text string) string {
	url, _ := serveElksStop(t, text)
	return url
}

// serveElksStop is serveElks that also returns a function that stops the
// server and waits for it.
func serveElksStop(t *testing.T, text string) (url string, stop func()) {
	t.Helper()
	return serveElksLogged(t, text, slog.DiscardHandler)
}

// serveElksLogged is serveElksStop with the server's log going to log.
func serveElksLogged(t *testing.T, text string, log slog.Handler) (url string, stop func()) {
	t.Helper()
	spec, err := pipeline.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	srv := g.Sink.Sink.(*elks.Sink).Server()
	srv.Logger = slog.New(log)
	listening := make(chan net.Addr, 1)
	srv.OnListen = func(a net.Addr) { listening <- a }
	ctx, cancel := context.WithCancel(context.Background())
	p, err := pipeline.Build(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil && err != context.Canceled {
				t.Errorf("server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-listening:
		return "ws://" + a.String() + "/", stop
	case err := <-served:
		t.Fatalf("server did not start: %v", err)
	}
	return "", stop
}

// expected renders what a pipeline's audio is in a rate, through elkspipe's
// own offline path (the same conversion the elks sink inserts), as floats.
func expected(t *testing.T, source string, rate int) []float32 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "want.f32")
	mustRun(t, fmt.Sprintf("%s | raw %s enc=f32le rate=%d channels=1", source, out, rate))
	return readF32(t, out)
}

// Every sink format end to end over real WebSockets: what the simulated
// caller heard equals what the pipeline produced, sample for sample for
// PCM and passthrough, within G.711's quantisation for µ-law and A-law.
func TestElksEveryFormatEndToEnd(t *testing.T) {
	dir := t.TempDir()
	wavFile := filepath.Join(dir, "prompt.wav")
	mustRun(t, "tone 440 dur=1.5s rate=16k + dtmf 159 rate=16k | wav "+wavFile)
	cases := []struct {
		format string
		source string
		rate   int
		tol    float64
	}{
		{"pcm_8000", "file " + wavFile, 8000, 1.0 / 32768},
		{"pcm_16000", "file " + wavFile, 16000, 1.0 / 32768},
		{"pcm_24000", "file " + wavFile, 24000, 1.0 / 32768},
		{"ulaw", "file " + wavFile, 8000, 0.016},
		{"alaw", "file " + wavFile, 8000, 0.016},
		{"wav", "file " + wavFile, 16000, 1.0 / 32768},
		{"mp3", "file " + mp3Fixture, 44100, 1.0 / 32768},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			// This test is about content: long chunks and a wide window,
			// and the recording compared without the silence of any gap
			// (at 10× a loaded machine may not make the audio as fast as
			// it plays; the timing claims are the synctest tests').
			url := serveElks(t, c.source+" | elks format="+c.format+" chunk=500ms window=30s listen=127.0.0.1:0")
			heard := filepath.Join(t.TempDir(), "heard.wav")
			rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10, Record: heard, RecordRate: c.rate})
			if err != nil {
				t.Fatal(err)
			}
			if rep.End.By != "app" || len(rep.Violations) != 0 || rep.Syncs.Answered != rep.Syncs.Requests {
				t.Fatalf("ended by %q, violations %v, syncs %+v", rep.End.By, rep.Violations, rep.Syncs)
			}
			got, f := decodeFile(t, heard)
			if f.Rate == c.rate {
				got = heardWithoutGaps(t, got, f.Rate, rep)
			}
			want := expected(t, c.source, c.rate)
			if f.Rate != c.rate || len(got) != len(want) {
				t.Fatalf("heard %d samples at %d Hz, the pipeline made %d at %d Hz", len(got), f.Rate, len(want), c.rate)
			}
			if d := audiotest.MaxDiff(got, want); d > c.tol {
				t.Errorf("heard audio differs from the pipeline's by up to %g (tolerance %g)", d, c.tol)
			}
		})
	}
}

// A looped file runs 30 minutes of call time over the real server and
// WebSocket: the buffer bounded by window + checkpoint, a checkpoint at
// every iteration, and the whole call accounted for by audio played and
// gaps reported. That there is no gap at all is a timing claim, made on a
// fake clock by TestSessionLoopThirtyMinutes (package elkstest): at 60×
// the 60 s window is one second of wall time, and a loaded machine under
// the race detector stalls longer than that now and then.
func TestElksLoopThirtyMinutes(t *testing.T) {
	dir := t.TempDir()
	hold := filepath.Join(dir, "hold.wav")
	mustRun(t, "tone 400 dur=3s rate=8k | wav "+hold)
	url := serveElks(t, "file "+hold+" | loop | elks format=ulaw chunk=500ms window=60s checkpoint=5s listen=127.0.0.1:0")
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 60, Duration: 30 * time.Minute, RTT: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.End.By != elks.ByAPI || rep.End.Reason != elks.ReasonHangup || rep.Duration != 1800 || len(rep.Violations) != 0 {
		t.Fatalf("the call ended after %.1f s, by %q; problems %v", rep.Duration, rep.End.By, rep.Problems)
	}
	if rep.Gaps.Count != 0 {
		t.Logf("%d gaps (%.2f s) in 30 minutes: %+v", rep.Gaps.Count, rep.Gaps.Seconds, rep.Gaps.List)
	}
	// The buffer holds at most window + checkpoint, however late the
	// machine: the server sends no more than that beyond the last answer.
	if rep.MaxBuffered.Seconds > 65+1e-9 || rep.MaxBuffered.Bytes > 65*8000 {
		t.Errorf("buffered up to %.2f s (%d bytes); the bound is window + checkpoint = 65 s", rep.MaxBuffered.Seconds, rep.MaxBuffered.Bytes)
	}
	// A checkpoint at the end of every iteration and none inside one (3 s
	// is shorter than the 5 s checkpoint interval): one per iteration the
	// simulator received whole, give or take the one in flight at the
	// hangup.
	iterations := int(rep.Audio.Seconds / 3)
	if rep.Syncs.Requests < iterations-1 || rep.Syncs.Requests > iterations+1 || iterations < 600 {
		t.Errorf("%d syncs in 30 minutes of a 3 s loop (%d iterations received whole)", rep.Syncs.Requests, iterations)
	}
	// From the first audio to the hangup, the caller heard audio or a
	// reported gap, but for the buffer running dry at the very end (a
	// stall then, not a gap): allowed up to 65 s of call time, a stall of
	// over a second beyond the buffer the server keeps ahead (the longest
	// gaps seen on a loaded machine are under 10 s).
	if heard := rep.FirstAudio + rep.Played + rep.Gaps.Seconds; heard > 1800+1e-6 || heard < 1800-65 {
		t.Errorf("first audio at %.3f s, %.3f s played, %.3f s of gaps: %.3f s of a 30-minute call", rep.FirstAudio, rep.Played, rep.Gaps.Seconds, heard)
	}
}

// A wrong or missing token is refused before the upgrade, and the
// simulator says so in one line.
func TestElksTokenRefused(t *testing.T) {
	url := serveElks(t, "tone 440 dur=1s | elks token=s3cret listen=127.0.0.1:0")
	for _, u := range []string{url, url + "?token=wrong"} {
		code, _, stderr := runCLI(t, context.Background(), "simulate", u)
		if code != exitFailed || stderr == "" {
			t.Errorf("simulate %s: exit %d, %q", u, code, stderr)
		}
	}
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url + "?token=s3cret", Speed: 20})
	if err != nil || rep.End.By != "app" || rep.Played < 0.99 {
		t.Fatalf("with the right token: %v, %+v", err, rep.End)
	}
}

// The caller hangs up mid-call: the server ends the call and leaves no
// goroutine behind.
func TestElksHangupLeavesNothingBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	url, stop := serveElksStop(t, "tone 440 | elks format=pcm_16000 listen=127.0.0.1:0")
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10, Duration: 2 * time.Second})
	if err != nil || rep.End.By != elks.ByAPI || rep.End.Reason != elks.ReasonHangup {
		t.Fatalf("%v %+v", err, rep)
	}
	stop()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Errorf("%d goroutines before the call, %d after", before, n)
	}
}

func TestDemo(t *testing.T) {
	heard := filepath.Join(t.TempDir(), "heard.wav")
	code, stdout, stderr := runCLI(t, context.Background(), "demo", "--duration", "4s", "--speed", "4", "--record", heard)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	got, f := decodeFile(t, heard)
	// The recording runs from the call's start to the hangup at 4 s of
	// call time: the first audio arrives a few milliseconds of wall time
	// (at 4×, some tens of milliseconds of call time) after hello, and the
	// recording holds the silence before it.
	if heardFor := float64(len(got)) / float64(f.Rate); heardFor < 3.5 || heardFor > 4.01 {
		t.Errorf("heard %.2f s, want nearly 4", heardFor)
	}
	x := audiotest.Channel(got, 1, 0)
	lead := 0
	for lead < len(x) && x[lead] == 0 {
		lead++
	}
	if lead > f.Rate/2 {
		t.Fatalf("%d samples of silence before the jingle: the demo's call started late", lead)
	}
	x = x[lead:]
	if fr := audiotest.Frequency(x[f.Rate/100:f.Rate/5], f.Rate, 300, 1200); math.Abs(fr-500) > 1 {
		t.Errorf("the jingle starts at %.1f Hz, want 500", fr)
	}
	// The report, and (the loaded machine allowing) no gap: that the
	// demo's call has none is TestDemoJingleNoGaps, on a fake clock.
	for _, want := range []string{"the caller hung up", "gaps: ", "protocol violations: none"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "gaps: none") {
		t.Logf("the call ran dry on this machine:\n%s", stdout)
	}
}

// The sync window against the simulator over the real server, at a round
// trip well inside the window and one beyond it: no gap in the first case,
// gaps in the second (which shows that the simulator would see them), and
// the buffer within window + checkpoint in both. The exact gaps at round
// trips up to and at the window's edge are TestSessionWindowAgainstRoundTrips
// (package elkstest), on a fake clock; here the round trip of the first
// case leaves the whole window (2 s of call time, 1 s at 2×) to a loaded
// machine's stalls.
func TestElksWindowAgainstRoundTrips(t *testing.T) {
	url := serveElks(t, "tone 440 | elks format=pcm_8000 chunk=250ms listen=127.0.0.1:0")
	for _, c := range []struct {
		rtt      time.Duration
		speed    float64
		duration time.Duration
		gaps     bool
	}{{0, 2, 6 * time.Second, false}, {4 * time.Second, 5, 12 * time.Second, true}} {
		rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: c.speed, Duration: c.duration, RTT: c.rtt})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Gaps.Count > 0; got != c.gaps {
			t.Errorf("round trip %v: %d gaps (%.2f s), want gaps: %v", c.rtt, rep.Gaps.Count, rep.Gaps.Seconds, c.gaps)
		}
		if rep.MaxBuffered.Seconds > 2.51 { // window + checkpoint
			t.Errorf("round trip %v: %.2f s buffered, above window + checkpoint", c.rtt, rep.MaxBuffered.Seconds)
		}
		if rep.End.Reason != elks.ReasonHangup || rep.Duration != c.duration.Seconds() {
			t.Errorf("round trip %v: end %+v after %v s", c.rtt, rep.End, rep.Duration)
		}
	}
}

// Passthrough with a window shorter than the file, over the real server:
// WAV and MP3 (a stream of six copies of a 0.55 s fixture without a Xing
// header: 3.3 s of MPEG frames) play whole, with a checkpoint every 250
// ms and the buffer within window + checkpoint and a frame, whatever the
// machine's load. That pieces end between frames, so that the caller
// hears no gap, is TestSessionPassthroughWindowNoGaps in package elkstest.
// The simulator decodes MP3 as it arrives and must outrun the call (it
// credits decoded audio to the arrival of its bytes): under the race
// detector that needs real time.
func TestElksPassthroughWindowNoGaps(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "long.wav")
	mustRun(t, "tone 440 dur=5s rate=22050 channels=2 | wav "+wav+" bits=24")
	one, err := os.ReadFile("../../sources/testdata/mp3/sine44notag.mp3")
	if err != nil {
		t.Fatal(err)
	}
	mp3 := filepath.Join(dir, "long.mp3")
	if err := os.WriteFile(mp3, bytes.Repeat(one, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same MP3 behind a 256 KiB ID3v2 tag (cover art): it plays for
	// no time, so it must not make the pieces of audio larger.
	art := filepath.Join(dir, "art.mp3")
	tag := append([]byte("ID3\x03\x00\x00\x00\x10\x00\x00"), make([]byte, 256<<10)...)
	if err := os.WriteFile(art, append(tag, bytes.Repeat(one, 6)...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format, path string
		speed        float64
	}{{"wav", wav, 3}, {"mp3", mp3, 1}, {"mp3", art, 1}} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			want := float64(len(mustDecode(t, c.path))) / 44100
			if c.format == "wav" {
				want = 5
			}
			url := serveElks(t, "file "+c.path+" | elks format="+c.format+" window=1s checkpoint=250ms listen=127.0.0.1:0")
			rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: c.speed})
			if err != nil {
				t.Fatal(err)
			}
			if rep.End.By != "app" || math.Abs(rep.Played-want) > 0.03 {
				t.Fatalf("played %.3f s of %.3f, end %+v", rep.Played, want, rep.End)
			}
			// No gap is the claim of TestSessionPassthroughWindowNoGaps (package
			// elkstest), on a fake clock; here a loaded machine may be late.
			if rep.Gaps.Count != 0 {
				t.Logf("%d gaps (%.3f s): %+v", rep.Gaps.Count, rep.Gaps.Seconds, rep.Gaps.List)
			}
			// window + checkpoint, and at most one frame more; for MP3 a
			// piece (a checkpoint) more, as the simulator answers the
			// first sync of an MP3 early (see
			// TestSessionPassthroughWindowNoGaps in package elkstest).
			limit := 1.25 + 0.03
			if c.format == "mp3" {
				limit += 0.25
			}
			if rep.MaxBuffered.Seconds > limit {
				t.Errorf("buffered up to %.3f s, above %.3f s", rep.MaxBuffered.Seconds, limit)
			}
			if rep.Syncs.Requests < int(want/0.25) {
				t.Errorf("%d syncs for %.1f s with checkpoint=250ms", rep.Syncs.Requests, want)
			}
		})
	}
}

// A looped VBR MP3 passed through the real server with a round trip close
// to the window: both iterations reach the caller whole, in order, sample
// for sample.
// That the joints between iterations do not eat the window's margin (no
// gap at all at a 1.5 s round trip with a 2 s window) is a timing claim,
// made exactly on a fake clock by TestSessionPassthroughLoopNearWindow in
// package elkstest: here, at 3× under the race detector, the simulator's
// own MP3 decoding may fall behind on a loaded machine and delay the
// answers, and the gaps that makes are cut out of the comparison.
func TestElksPassthroughLoopNearWindow(t *testing.T) {
	audiotest.NeedTool(t, "sox")
	audiotest.NeedTool(t, "lame")
	dir := t.TempDir()
	wav, mp3 := filepath.Join(dir, "hold.wav"), filepath.Join(dir, "hold.mp3")
	audiotest.Run(t, "sox", "-n", "-r", "44100", "-c", "2", wav, "synth", "6", "sine", "300-900", "sine", "500", "gain", "-6")
	audiotest.Run(t, "lame", "--quiet", "-V2", wav, mp3)
	url := serveElks(t, "file "+mp3+" | loop 2 | elks format=mp3 window=2s listen=127.0.0.1:0")
	rec := filepath.Join(dir, "heard.wav")
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 3, RTT: 1500 * time.Millisecond, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if rep.End.By != "app" || rep.Sendings["mp3"] != 2 || len(rep.Violations) != 0 || rep.Syncs.Answered != rep.Syncs.Requests {
		t.Fatalf("end %+v, sendings %v, problems %v, syncs %+v", rep.End, rep.Sendings, rep.Problems, rep.Syncs)
	}
	// (Not the buffer's bound here: when the simulator's MP3 decoding
	// falls behind, it credits decoded audio to the arrival of earlier
	// bytes, and its buffer levels are off; see elkstest's doc.)
	got, f := decodeFile(t, rec)
	if f.Rate != 44100 {
		t.Fatalf("recording at %d Hz", f.Rate)
	}
	got = heardWithoutGaps(t, got, f.Rate, rep)
	// The file twice, but for the frames the decoder still held when
	// the app hung up (at most two).
	want := expected(t, "file "+mp3+" | loop 2", 44100)
	if len(got) > len(want) || len(got) < len(want)-2*1152 {
		t.Fatalf("heard %d samples without the gaps, want the file twice: %d less at most two frames", len(got), len(want))
	}
	if d := audiotest.MaxDiff(got, want[:len(got)]); d > 1.0/32768 {
		t.Errorf("heard audio differs from the pipeline's by up to %g", d)
	}
}
