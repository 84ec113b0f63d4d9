package elkstest

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// The plain client of 46elks' documentation: on hello, send "sending wav",
// the file's bytes in 32 KiB pieces, then sync, and wait for the sync before
// the next round. The simulator decodes the passthrough WAV, and what the
// caller heard is the file again and again, with the silence of one round
// trip between the rounds: the seed's problem, measured.
func TestDocumentedLoop(t *testing.T) {
	checkLeaks(t)
	const rate, rounds = 16000, 3
	tone := makeTone(rate, rate, 440, 0.5) // 1 s
	file := wavFile(t, tone, rate)
	var appErr error
	srv := serveApp(t, func(a *testApp) {
		for range rounds {
			if appErr = a.send(elks.Sending{Format: elks.WAV}); appErr != nil {
				return
			}
			if appErr = a.sendAudio(file, 32<<10); appErr != nil {
				return
			}
			a.send(elks.Sync{})
			if a.expect(elks.TypeSync) == nil {
				return
			}
		}
		a.send(elks.Bye{})
		if m := a.expect(elks.TypeBye); m != nil && string(m.raw) != `{"t":"bye","reason":"done","message":"the application ended the call"}` {
			t.Errorf("bye after the app's bye: %s", m.raw)
		}
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: 10, RTT: 100 * time.Millisecond, Record: rec})
	srv.wait()
	if appErr != nil {
		t.Fatal(appErr)
	}
	if r.End.By != elks.ByApp || r.Sendings["wav"] != rounds || r.Syncs.Answered != rounds {
		t.Fatalf("report: %+v", r)
	}
	if len(r.Violations) != 0 {
		t.Errorf("violations: %v", r.Problems)
	}
	near(t, "audio seconds", r.Audio.Seconds, rounds, 1e-9)
	near(t, "played", r.Played, rounds, 1e-9)
	if r.Audio.Bytes != int64(rounds*len(file)) {
		t.Errorf("audio bytes %d, want %d", r.Audio.Bytes, rounds*len(file))
	}
	// A round trip of silence between rounds: the RTT, plus the app's and
	// the simulator's reaction times (times the speed).
	if r.Gaps.Count != rounds-1 {
		t.Fatalf("gaps: %+v", r.Gaps)
	}
	for i, g := range r.Gaps.List {
		if g.Seconds < 0.1 || g.Seconds > 0.6 {
			t.Errorf("gap %d lasted %.3f s, want the RTT (0.1 s) plus reaction times", i, g.Seconds)
		}
	}
	// Each sync waits for the whole file to play, plus the RTT.
	if r.Syncs.MinLatency < 0.8 || r.Syncs.MaxLatency > 1.1+0.3 { // less the time the app took to send
		t.Errorf("sync latencies %+v, want about 1.1 s", r.Syncs)
	}
	// What the caller heard: the file, silence, the file, silence, the file.
	heard, hr := readWAV(t, rec)
	if hr != rate {
		t.Fatalf("recording at %d Hz", hr)
	}
	pos, silent := 0, 0.0
	for i := range rounds {
		if pos+len(tone) > len(heard) {
			t.Fatalf("recording too short: %d samples", len(heard))
		}
		sameSamples(t, "round", heard[pos:pos+len(tone)], tone)
		pos += len(tone)
		if i < rounds-1 {
			n := int(math.Round(r.Gaps.List[i].Seconds * rate))
			for k := pos; k < pos+n; k++ {
				if heard[k] != 0 {
					t.Fatalf("gap %d: sample %d is %g, want silence", i, k, heard[k])
				}
			}
			pos += n
			near(t, "gap position in the recording", r.Gaps.List[i].Heard, float64(i+1)+silent, 1e-6)
			silent += r.Gaps.List[i].Seconds
		}
	}
	if pos != len(heard) {
		t.Errorf("recording has %d samples, want %d", len(heard), pos)
	}
	if r.Record == nil || r.Record.Error != "" || r.Record.Rate != rate {
		t.Errorf("record: %+v", r.Record)
	}
}

// The same example without waiting for the sync (the naive loop) fills the
// buffer: the call ends with bye "error".
func TestNaiveLoopOverflows(t *testing.T) {
	checkLeaks(t)
	file := wavFile(t, makeTone(8000, 8000, 440, 0.5), 8000)
	var bye *appMsg
	srv := serveApp(t, func(a *testApp) {
		for a.send(elks.Sending{Format: elks.WAV}) == nil && a.sendAudio(file, 32<<10) == nil {
		}
		bye = a.waitEnd()
	})
	r := callOK(t, Options{URL: srv.url, BufferLimit: 200_000})
	srv.wait()
	if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonError || !strings.Contains(r.End.Message, "overflowed") {
		t.Fatalf("end: %+v", r.End)
	}
	if bye == nil || !strings.HasPrefix(string(bye.raw), `{"t":"bye","reason":"error","message":"the playback buffer overflowed`) {
		t.Errorf("the app got %v", bye)
	}
	if r.MaxBuffered.Bytes <= 200_000 || r.MaxBuffered.Bytes > 200_000+int64(len(file)) {
		t.Errorf("max buffered %d bytes", r.MaxBuffered.Bytes)
	}
}

func flood(t *testing.T, f elks.Format, piece int, limit int64) (*Report, *appMsg, int64) {
	info, _ := f.Info()
	chunk := encode(t, f, makeTone(piece, info.Rate, 300, 0.3))
	var bye *appMsg
	var sent int64
	srv := serveApp(t, func(a *testApp) {
		a.send(elks.Sending{Format: f})
		done := make(chan struct{})
		go func() { bye = a.waitEnd(); close(done) }()
		for {
			select {
			case <-done:
				return
			default:
			}
			if a.send(elks.Audio{Data: chunk}) != nil {
				<-done
				return
			}
			sent += int64(len(chunk))
		}
	})
	r := callOK(t, Options{URL: srv.url, BufferLimit: limit})
	srv.wait()
	return r, bye, sent
}

func TestFloodOverflows(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		f     elks.Format
		piece int
		limit int64
	}{
		{elks.PCM16000, 1600, 1_000_000},
		{elks.ULaw, 800, 500_000},
		{elks.ALaw, 16000, 0}, // the real 30 MB
	} {
		t.Run(string(c.f), func(t *testing.T) {
			if c.limit == 0 && raceEnabled {
				t.Skip("30 MB through a WebSocket takes seconds under the race detector; run without -race")
			}
			r, bye, sent := flood(t, c.f, c.piece, c.limit)
			limit := c.limit
			if limit == 0 {
				limit = DefaultBufferLimit
			}
			if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonError {
				t.Fatalf("end: %+v", r.End)
			}
			if bye == nil || !strings.HasPrefix(string(bye.raw), `{"t":"bye","reason":"error","message":"the playback buffer overflowed`) {
				t.Fatalf("the app got %v", bye)
			}
			info, _ := c.f.Info()
			bytesPerSec := float64(info.Rate)
			if c.f == elks.PCM16000 {
				bytesPerSec *= 2
			}
			// It ends at the message that takes the buffer over the
			// limit: the bytes received minus those played.
			played := int64(r.Played * bytesPerSec)
			if r.MaxBuffered.Bytes <= limit || r.MaxBuffered.Bytes > limit+int64(c.piece*2) {
				t.Errorf("max buffered %d bytes, limit %d", r.MaxBuffered.Bytes, limit)
			}
			if got := r.Audio.Bytes - played; got < limit || got > limit+int64(c.piece*2)+int64(bytesPerSec/100) {
				t.Errorf("received %d bytes, played %d: %d buffered at the end, limit %d", r.Audio.Bytes, played, got, limit)
			}
			if sent < r.Audio.Bytes {
				t.Errorf("the app sent %d bytes, the simulator counted %d", sent, r.Audio.Bytes)
			}
			if r.Played > r.Duration+1e-6 || r.Dropped < float64(limit)/bytesPerSec*0.9 {
				t.Errorf("played %.3f s in a %.3f s call, dropped %.1f s", r.Played, r.Duration, r.Dropped)
			}
		})
	}
}

// A sync is answered once the audio before it has played, plus the RTT,
// first in first out; a sync with nothing buffered waits for the RTT only.
func TestSyncTiming(t *testing.T) {
	checkLeaks(t)
	const speed, rate = 10.0, 8000
	rtt := 200 * time.Millisecond
	audio2 := encode(t, elks.PCM8000, makeTone(2*rate, rate, 500, 0.3))
	audio1 := encode(t, elks.PCM8000, makeTone(rate, rate, 500, 0.3))
	var lat []time.Duration
	srv := serveApp(t, func(a *testApp) {
		t0 := time.Now()
		a.send(elks.Sync{}) // nothing buffered
		if m := a.expect(elks.TypeSync); m != nil {
			lat = append(lat, m.at.Sub(t0))
		}
		t0 = time.Now()
		a.send(elks.Sending{Format: elks.PCM8000})
		a.sendAudio(audio2, 8000)
		a.send(elks.Sync{})
		a.sendAudio(audio1, 8000)
		a.send(elks.Sync{})
		for range 2 {
			if m := a.expect(elks.TypeSync); m != nil {
				lat = append(lat, m.at.Sub(t0))
			}
		}
		a.send(elks.Bye{})
		a.waitEnd()
	})
	r := callOK(t, Options{URL: srv.url, Speed: speed, RTT: rtt})
	srv.wait()
	if r.Syncs.Requests != 3 || r.Syncs.Answered != 3 || len(lat) != 3 {
		t.Fatalf("syncs %+v, app saw %d", r.Syncs, len(lat))
	}
	// Call time, measured by the simulator: from the request to the answer.
	const tol = 0.3 // call seconds: 30 ms of wall time at speed 10
	near(t, "empty sync latency", r.Syncs.MinLatency, 0.2, tol)
	near(t, "second sync latency", r.Syncs.MaxLatency, 3.2, tol)
	// Wall time, measured by the app: buffered/speed + RTT/speed.
	near(t, "app: empty sync", lat[0].Seconds()*speed, 0.2, 2*tol)
	near(t, "app: 2 s sync", lat[1].Seconds()*speed, 2.2, 2*tol)
	near(t, "app: 3 s sync", lat[2].Seconds()*speed, 3.2, 2*tol)
	// At most 3 s (48000 bytes), less what played while the app sent.
	near(t, "max buffered", r.MaxBuffered.Seconds, 2.85, 0.15)
	if b := r.MaxBuffered.Bytes; b < 48000-16000*3/10 || b > 48000 || math.Abs(float64(b)/16000-r.MaxBuffered.Seconds) > 0.01 {
		t.Errorf("max buffered %d bytes, %.3f s", b, r.MaxBuffered.Seconds)
	}
	if r.Gaps.Count != 0 {
		t.Errorf("gaps: %+v", r.Gaps)
	}
}

// An app that pauses leaves a gap; its position and length are reported,
// and the recording holds the silence.
func TestGapDetected(t *testing.T) {
	checkLeaks(t)
	const speed, rate = 10.0, 8000
	a1 := makeTone(rate, rate, 400, 0.4)
	a2 := makeTone(rate/2, rate, 600, 0.4)
	srv := serveApp(t, func(a *testApp) {
		a.send(elks.Sending{Format: elks.PCM8000})
		a.sendAudio(encode(t, elks.PCM8000, a1), 1600)
		time.Sleep(time.Duration(1.5 * float64(time.Second) / speed))
		a.sendAudio(encode(t, elks.PCM8000, a2), 1600)
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	// The app's sleep less the audio before it, plus the app's delays.
	checkOneGap(t, srv, speed, rate, a1, a2)
}

// checkOneGap runs a call against srv and checks that the caller heard
// before, then one gap of about 0.6 s, then after, sample for sample.
func checkOneGap(t *testing.T, srv *appServer, speed float64, rate int, before, after []float32) {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: speed, Record: rec})
	srv.wait()
	if r.Gaps.Count != 1 {
		t.Fatalf("gaps: %+v", r.Gaps)
	}
	g := r.Gaps.List[0]
	near(t, "gap heard at", g.Heard, float64(len(before))/float64(rate), 1e-6)
	near(t, "gap length", g.Seconds, 0.6, 0.15)
	heard, _ := readWAV(t, rec)
	n := int(math.Round(g.Seconds * float64(rate)))
	sameSamples(t, "before the gap", heard[:len(before)], before)
	sameSamples(t, "the gap", heard[len(before):len(before)+n], make([]float32, n))
	sameSamples(t, "after the gap", heard[len(before)+n:], after)
}

// windowApp keeps a window of audio in flight, as the elks sink does:
// 100 ms chunks, a sync every 500 ms, never more than window beyond the
// last answered sync. It sends samples in format f and returns what it sent.
func windowApp(a *testApp, f elks.Format, samples []float32, window time.Duration) {
	info, _ := f.Info()
	enc, _ := elks.NewEncoder(f)
	chunk := info.Rate / 10
	var inflight []int // end (in frames) of each unanswered checkpoint
	acked, sent := 0, 0
	a.send(elks.Sending{Format: f})
	win := int(window.Seconds() * float64(info.Rate))
	for sent < len(samples) {
		for sent-acked >= win {
			m := a.expect(elks.TypeSync)
			if m == nil {
				return
			}
			acked, inflight = inflight[0], inflight[1:]
		}
		n := min(chunk, len(samples)-sent)
		if sent == 0 {
			// The first message holds a checkpoint's worth: a stall of the
			// test process right at the start would otherwise show as a
			// gap at high speed.
			n = min(5*chunk, len(samples))
		}
		if a.send(elks.Audio{Data: enc.Encode(nil, samples[sent:sent+n])}) != nil {
			return
		}
		sent += n
		if sent%(5*chunk) == 0 || sent == len(samples) {
			a.send(elks.Sync{})
			inflight = append(inflight, sent)
		}
	}
	for range inflight {
		if a.expect(elks.TypeSync) == nil {
			return
		}
	}
	a.send(elks.Bye{})
	a.waitEnd()
}

// An app that keeps the buffer fed has no gap even at high speed, the
// buffer stays within its window, and the caller hears exactly what was
// sent (sample-exact for PCM, within the codec's step for G.711).
func TestWindowNoGaps(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		f     elks.Format
		speed float64
		secs  int
	}{
		{elks.PCM16000, 10, 8},
		{elks.PCM24000, 10, 5},
		{elks.PCM8000, 10, 5},
		{elks.ULaw, 10, 8},
		{elks.ALaw, 10, 5},
	} {
		t.Run(string(c.f), func(t *testing.T) {
			info, _ := c.f.Info()
			samples := makeTone(c.secs*info.Rate, info.Rate, 440, 0.5)
			// A window wide enough that the test machine's stalls cannot
			// empty it at this speed: what is tested is the simulator.
			srv := serveApp(t, func(a *testApp) { windowApp(a, c.f, samples, 4*time.Second) })
			rec := filepath.Join(t.TempDir(), "heard.wav")
			r := callOK(t, Options{URL: srv.url, Speed: c.speed, RTT: 50 * time.Millisecond, Record: rec})
			srv.wait()
			if r.End.By != elks.ByApp || len(r.Violations) != 0 {
				t.Fatalf("end %+v, problems %v", r.End, r.Problems)
			}
			if r.Gaps.Count != 0 {
				t.Errorf("gaps at speed %g: %+v", c.speed, r.Gaps)
			}
			if r.MaxBuffered.Seconds > 4.5+0.01 || r.MaxBuffered.Seconds < 3 {
				t.Errorf("max buffered %.3f s, want about the window (4 s) and at most window + checkpoint", r.MaxBuffered.Seconds)
			}
			near(t, "played", r.Played, float64(c.secs), 1e-9)
			heard, hr := readWAV(t, rec)
			if hr != info.Rate {
				t.Fatalf("recording at %d Hz", hr)
			}
			switch c.f {
			case elks.ULaw, elks.ALaw:
				// Exactly the G.711 decoding of what was sent, and within
				// the codec's step of the original.
				want := make([]float32, len(samples))
				for i, s := range samples {
					x := pcmS16(s)
					if c.f == elks.ULaw {
						want[i] = float32(g711.ULawToLinear[g711.EncodeULaw(x)]) / 32768
					} else {
						want[i] = float32(g711.ALawToLinear[g711.EncodeALaw(x)]) / 32768
					}
				}
				sameSamples(t, "heard", heard, want)
				if d := audiotest.MaxDiff(heard, samples); d > 0.5/32 {
					t.Errorf("G.711 error %g", d)
				}
			default:
				sameSamples(t, "heard", heard, samples)
			}
		})
	}
}

func TestInterrupt(t *testing.T) {
	checkLeaks(t)
	const speed, rate = 10.0, 8000
	first := makeTone(2*rate, rate, 400, 0.4)
	second := makeTone(rate/2, rate, 700, 0.4)
	var gotFirstSync bool
	srv := serveApp(t, func(a *testApp) {
		a.send(elks.Sending{Format: elks.PCM8000})
		a.sendAudio(encode(t, elks.PCM8000, first), 4000)
		a.send(elks.Sync{})
		time.Sleep(time.Duration(0.5 * float64(time.Second) / speed))
		a.send(elks.Interrupt{})
		a.send(elks.Audio{Data: encode(t, elks.PCM8000, second)}) // ignored
		gotFirstSync = a.expect(elks.TypeSync) != nil             // answered: its audio is gone
		a.send(elks.Sending{Format: elks.PCM8000})
		a.send(elks.Audio{Data: encode(t, elks.PCM8000, second)})
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: speed, RTT: 100 * time.Millisecond, Record: rec})
	srv.wait()
	if !gotFirstSync || r.Syncs.Answered != 2 || r.Interrupts != 1 {
		t.Fatalf("syncs %+v, interrupts %d", r.Syncs, r.Interrupts)
	}
	if r.Violations[AudioAfterInterrupt] != 1 || len(r.Violations) != 1 {
		t.Errorf("violations %v", r.Violations)
	}
	if r.Gaps.Count != 0 {
		t.Errorf("the silence after an interrupt is not a gap: %+v", r.Gaps)
	}
	// The first sync is answered at the interrupt, plus the RTT.
	// The app interrupts after 0.5 s (its sleep, plus its delays).
	near(t, "first sync latency", r.Syncs.MinLatency, 0.75, 0.25)
	near(t, "played + dropped", r.Played+r.Dropped, 2.5, 1e-6)
	near(t, "dropped", r.Dropped, 1.3, 0.3)
	heard, _ := readWAV(t, rec)
	if len(heard) < len(second) {
		t.Fatalf("recording of %d samples", len(heard))
	}
	sameSamples(t, "after the interrupt", heard[len(heard)-len(second):], second)
	head := heard[:len(heard)-len(second)]
	k := len(head)
	for k > 0 && head[k-1] == 0 {
		k--
	}
	sameSamples(t, "before the interrupt", head[:k], first[:k])
	near(t, "played before the interrupt", float64(k)/rate, r.Played-0.5, 2.0/rate)
	if len(head)-k < rate/100 {
		t.Errorf("no silence between the interrupt and the new audio")
	}
}

func TestHangup(t *testing.T) {
	checkLeaks(t)
	const speed, rate = 20.0, 8000
	audio := makeTone(5*rate, rate, 400, 0.4)
	var bye *appMsg
	var helloAt, byeAt time.Time
	srv := serveApp(t, func(a *testApp) {
		helloAt = time.Now()
		a.send(elks.Sending{Format: elks.PCM8000})
		a.sendAudio(encode(t, elks.PCM8000, audio), 8000)
		bye = a.waitEnd()
		byeAt = time.Now()
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: speed, Duration: time.Second, Record: rec})
	srv.wait()
	if bye == nil || string(bye.raw) != `{"t":"bye","reason":"hangup","message":"the caller hung up"}` {
		t.Fatalf("bye: %v", bye)
	}
	if r.End != (End{By: elks.ByAPI, Reason: elks.ReasonHangup, Message: "the caller hung up"}) {
		t.Errorf("end %+v", r.End)
	}
	if r.Duration != 1 {
		t.Errorf("duration %v, want exactly 1 s", r.Duration)
	}
	// helloAt is taken when the app's goroutine runs, which a loaded
	// machine may delay by some milliseconds (×20 in call time).
	if d := byeAt.Sub(helloAt).Seconds() * speed; d < 0.8 || d > 1.5 {
		t.Errorf("bye after %.2f s of call time", d)
	}
	near(t, "played + dropped", r.Played+r.Dropped, 5, 1e-6)
	near(t, "played", r.Played, 1-r.FirstAudio, 1.0/rate)
	heard, _ := readWAV(t, rec)
	near(t, "recording length", float64(len(heard))/rate, r.Played, 1.0/rate)
	sameSamples(t, "heard", heard, audio[:len(heard)])
}

// The sync window hides the round trip while it is longer than it; with a
// round trip beyond the window, playback runs dry at every checkpoint.
func TestRTTAgainstWindow(t *testing.T) {
	checkLeaks(t)
	samples := makeTone(6*8000, 8000, 440, 0.5)
	for _, c := range []struct {
		rtt  time.Duration
		gaps bool
	}{
		{0, false},
		{time.Second, false},
		{3 * time.Second, true},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			srv := serveApp(t, func(a *testApp) { windowApp(a, elks.ULaw, samples, 2*time.Second) })
			// At speed 4 the 1 s margin of the 1 s RTT case is 250 ms of
			// wall time: more than a loaded machine stalls the test.
			r := callOK(t, Options{URL: srv.url, Speed: 4, RTT: c.rtt})
			srv.wait()
			if got := r.Gaps.Count > 0; got != c.gaps {
				t.Errorf("RTT %v, window 2 s: gaps %+v", c.rtt, r.Gaps)
			}
			if r.End.By != elks.ByApp || math.Abs(r.Played-6) > 1e-9 {
				t.Errorf("end %+v, played %.3f", r.End, r.Played)
			}
			// Every sync waits for its audio and the round trip.
			if r.Syncs.MinLatency < c.rtt.Seconds() {
				t.Errorf("sync latency %.3f below the RTT", r.Syncs.MinLatency)
			}
		})
	}
}
