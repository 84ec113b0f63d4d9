package elkstest

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// The plain client of 46elks' documentation: on hello, send "sending wav",
// the file's bytes in 32 KiB pieces, then sync, and wait for the sync before
// the next round. The simulator decodes the passthrough WAV, and what the
// caller heard is the file again and again, with the silence of one round
// trip between the rounds: the seed's problem, measured. On the bubble's
// clock the app reacts in no time, so each silence is the RTT exactly.
func TestDocumentedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, rounds = 16000, 3
		tone := makeTone(rate, rate, 440, 0.5) // 1 s
		file := wavFile(t, tone, rate)
		var appErr error
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: 10, RTT: 100 * time.Millisecond, Record: rec}, func(a *testApp) {
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
		if appErr != nil {
			t.Fatal(appErr)
		}
		if r.End.By != elks.ByApp || r.Sendings["wav"] != rounds || r.Syncs.Answered != rounds {
			t.Fatalf("report: %+v", r)
		}
		if len(r.Violations) != 0 {
			t.Errorf("violations: %v", r.Problems)
		}
		exact(t, "audio seconds", r.Audio.Seconds, rounds)
		exact(t, "played", r.Played, rounds)
		if r.Audio.Bytes != int64(rounds*len(file)) {
			t.Errorf("audio bytes %d, want %d", r.Audio.Bytes, rounds*len(file))
		}
		// A round trip of silence between rounds: the RTT, after each
		// second of audio.
		if r.Gaps.Count != rounds-1 {
			t.Fatalf("gaps: %+v", r.Gaps)
		}
		for i, g := range r.Gaps.List {
			exact(t, "gap length", g.Seconds, 0.1)
			exact(t, "gap at", g.At, 1.1*float64(i)+1)
			exact(t, "gap heard at", g.Heard, g.At) // the recording starts at 0
		}
		// Each sync waits for the whole file to play, plus the RTT.
		exact(t, "min sync latency", r.Syncs.MinLatency, 1.1)
		exact(t, "max sync latency", r.Syncs.MaxLatency, 1.1)
		// The audio, the two silences and the last answer's round trip.
		exact(t, "call duration", r.Duration, 3.3)
		// What the caller heard: the file, silence, the file, silence, the file.
		heard, hr := readWAV(t, rec)
		if hr != rate {
			t.Fatalf("recording at %d Hz", hr)
		}
		gap := make([]float32, rate/10)
		var want []float32
		for i := range rounds {
			if i > 0 {
				want = append(want, gap...)
			}
			want = append(want, tone...)
		}
		sameSamples(t, "heard", heard, want)
		if r.Record == nil || r.Record.Error != "" || r.Record.Rate != rate {
			t.Errorf("record: %+v", r.Record)
		}
	})
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
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 10.0, 8000
		rtt := 200 * time.Millisecond
		audio2 := encode(t, elks.PCM8000, makeTone(2*rate, rate, 500, 0.3))
		audio1 := encode(t, elks.PCM8000, makeTone(rate, rate, 500, 0.3))
		var lat []time.Duration
		r := pipeCall(t, Options{Speed: speed, RTT: rtt}, func(a *testApp) {
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
		if r.Syncs.Requests != 3 || r.Syncs.Answered != 3 || len(lat) != 3 {
			t.Fatalf("syncs %+v, app saw %d", r.Syncs, len(lat))
		}
		// Call time, measured by the simulator: from the request to the answer.
		exact(t, "empty sync latency", r.Syncs.MinLatency, 0.2)
		exact(t, "second sync latency", r.Syncs.MaxLatency, 3.2)
		exact(t, "average sync latency", r.Syncs.AvgLatency, (0.2+2.2+3.2)/3)
		// Wall time, measured by the app: buffered/speed + RTT/speed.
		exact(t, "app: empty sync", lat[0].Seconds()*speed, 0.2)
		exact(t, "app: 2 s sync", lat[1].Seconds()*speed, 2.2)
		exact(t, "app: 3 s sync", lat[2].Seconds()*speed, 3.2)
		// All 3 s arrived before any played: 48000 bytes.
		if r.MaxBuffered != (Amount{Seconds: 3, Bytes: 48000}) {
			t.Errorf("max buffered %+v", r.MaxBuffered)
		}
		if r.Gaps.Count != 0 || r.FirstAudio != 0.2 {
			t.Errorf("gaps %+v, first audio at %v", r.Gaps, r.FirstAudio)
		}
	})
}

// An app that pauses leaves a gap; its position and length are reported,
// and the recording holds the silence.
func TestGapDetected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 10.0, 8000
		a1 := makeTone(rate, rate, 400, 0.4)
		a2 := makeTone(rate/2, rate, 600, 0.4)
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: speed, Record: rec}, func(a *testApp) {
			a.send(elks.Sending{Format: elks.PCM8000})
			a.sendAudio(encode(t, elks.PCM8000, a1), 1600)
			time.Sleep(time.Duration(1.5 * float64(time.Second) / speed))
			a.sendAudio(encode(t, elks.PCM8000, a2), 1600)
			a.send(elks.Sync{})
			a.expect(elks.TypeSync)
			a.send(elks.Bye{})
			a.waitEnd()
		})
		// The app's sleep (1.5 s of call time) less the second before it.
		checkOneGap(t, r, rec, rate, a1, a2, 0.5)
	})
}

// checkOneGap checks that the caller heard before, then one gap of
// exactly length seconds, then after, sample for sample.
func checkOneGap(t *testing.T, r *Report, rec string, rate int, before, after []float32, length float64) {
	t.Helper()
	if r.Gaps.Count != 1 {
		t.Fatalf("gaps: %+v", r.Gaps)
	}
	g := r.Gaps.List[0]
	at := float64(len(before)) / float64(rate)
	exact(t, "gap heard at", g.Heard, at)
	exact(t, "gap at", g.At, at)
	exact(t, "gap length", g.Seconds, length)
	exact(t, "gaps' total", r.Gaps.Seconds, length)
	heard, _ := readWAV(t, rec)
	n := int(math.Round(length * float64(rate)))
	want := append(append(append([]float32(nil), before...), make([]float32, n)...), after...)
	sameSamples(t, "heard: before, the gap's silence, after", heard, want)
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

// An app that keeps the buffer fed has no gap, the buffer holds at most
// its window, and the caller hears exactly what was sent (sample-exact for
// PCM, within the codec's step for G.711).
func TestWindowNoGaps(t *testing.T) {
	for _, c := range []struct {
		f     elks.Format
		speed float64
		secs  int
	}{
		{elks.PCM16000, 10, 8},
		{elks.PCM24000, 10, 5},
		{elks.PCM8000, 1, 5},
		{elks.ULaw, 100, 8},
		{elks.ALaw, 10, 5},
	} {
		t.Run(string(c.f), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				info, _ := c.f.Info()
				samples := makeTone(c.secs*info.Rate, info.Rate, 440, 0.5)
				rec := filepath.Join(t.TempDir(), "heard.wav")
				// A 1 s window, checkpoints every 500 ms and a 50 ms
				// RTT: each answer comes 450 ms before the buffer runs dry.
				r := pipeCall(t, Options{Speed: c.speed, RTT: 50 * time.Millisecond, Record: rec}, func(a *testApp) {
					windowApp(a, c.f, samples, time.Second)
				})
				if r.End.By != elks.ByApp || len(r.Violations) != 0 {
					t.Fatalf("end %+v, problems %v", r.End, r.Problems)
				}
				if r.Gaps.Count != 0 {
					t.Errorf("gaps at speed %g: %+v", c.speed, r.Gaps)
				}
				// The app fills the window at once: 1 s, the most ever buffered.
				bytesPerSec := int64(info.Rate)
				if c.f == elks.PCM16000 || c.f == elks.PCM24000 || c.f == elks.PCM8000 {
					bytesPerSec *= 2
				}
				if r.MaxBuffered != (Amount{Seconds: 1, Bytes: bytesPerSec}) {
					t.Errorf("max buffered %+v, want the window (1 s, %d bytes)", r.MaxBuffered, bytesPerSec)
				}
				exact(t, "played", r.Played, float64(c.secs))
				// The last answer comes after the audio and the RTT.
				exact(t, "call duration", r.Duration, float64(c.secs)+0.05)
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
		})
	}
}

// An interrupt empties the buffer at once and answers the pending sync
// (plus the RTT); audio before the next sending is ignored; the silence
// until the new audio is not a gap.
func TestInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 10.0, 8000
		first := makeTone(2*rate, rate, 400, 0.4)
		second := makeTone(rate/2, rate, 700, 0.4)
		var gotFirstSync bool
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: speed, RTT: 100 * time.Millisecond, Record: rec}, func(a *testApp) {
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
		if !gotFirstSync || r.Syncs.Answered != 2 || r.Interrupts != 1 {
			t.Fatalf("syncs %+v, interrupts %d", r.Syncs, r.Interrupts)
		}
		if r.Violations[AudioAfterInterrupt] != 1 || len(r.Violations) != 1 {
			t.Errorf("violations %v", r.Violations)
		}
		if r.Gaps.Count != 0 {
			t.Errorf("the silence after an interrupt is not a gap: %+v", r.Gaps)
		}
		// The app interrupts at 0.5 s: the first sync is answered then,
		// plus the RTT; the new audio comes with its answer, at 0.6 s, and
		// its sync is answered after its 0.5 s and the RTT, at 1.2 s.
		exact(t, "first sync latency", r.Syncs.MinLatency, 0.6)
		exact(t, "second sync latency", r.Syncs.MaxLatency, 0.6)
		exact(t, "played", r.Played, 1)
		exact(t, "dropped", r.Dropped, 1.5)
		exact(t, "call duration", r.Duration, 1.2)
		// The first half second, 0.1 s of silence, the second tone.
		heard, _ := readWAV(t, rec)
		want := append(append(append([]float32(nil), first[:rate/2]...), make([]float32, rate/10)...), second...)
		sameSamples(t, "heard", heard, want)
	})
}

// The caller hangs up after Duration of call time, wherever the audio is.
func TestHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 20.0, 8000
		audio := makeTone(5*rate, rate, 400, 0.4)
		var bye *appMsg
		var helloAt, byeAt time.Time
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: speed, Duration: time.Second, Record: rec}, func(a *testApp) {
			helloAt = time.Now()
			a.send(elks.Sending{Format: elks.PCM8000})
			a.sendAudio(encode(t, elks.PCM8000, audio), 8000)
			bye = a.waitEnd()
			byeAt = time.Now()
		})
		if bye == nil || string(bye.raw) != `{"t":"bye","reason":"hangup","message":"the caller hung up"}` {
			t.Fatalf("bye: %v", bye)
		}
		if r.End != (End{By: elks.ByAPI, Reason: elks.ReasonHangup, Message: "the caller hung up"}) {
			t.Errorf("end %+v", r.End)
		}
		if r.Duration != 1 {
			t.Errorf("duration %v, want exactly 1 s", r.Duration)
		}
		// bye at 1 s of call time, 50 ms of the (bubble's) wall clock; the
		// app's connection ends when it closes its end, at once.
		exact(t, "bye after (call time)", bye.at.Sub(helloAt).Seconds()*speed, 1)
		exact(t, "connection ended after (call time)", byeAt.Sub(helloAt).Seconds()*speed, 1)
		exact(t, "played", r.Played, 1)
		exact(t, "dropped", r.Dropped, 4)
		heard, _ := readWAV(t, rec)
		sameSamples(t, "heard", heard, audio[:rate])
	})
}

// The sync window hides the round trip while it is longer than it; with a
// round trip beyond the window, playback runs dry. windowApp sends up to
// 2 s beyond the last answered checkpoint, one every 500 ms: when the
// answer for the audio up to x comes (when x has played, plus the RTT),
// the buffer holds the audio up to x + 1.5 s, so it runs dry when the RTT
// exceeds 1.5 s, by the excess. The app sends at once and the simulator's
// clock is the bubble's: the gaps are exact, and a margin of exactly zero
// (RTT 1.5 s) leaves none.
func TestRTTAgainstWindow(t *testing.T) {
	samples := makeTone(6*8000, 8000, 440, 0.5)
	for _, c := range []struct {
		rtt  time.Duration
		gaps []Gap
	}{
		{0, nil},
		{time.Second, nil},
		{1500 * time.Millisecond, nil},
		// One millisecond beyond: dry at 2 s for 1 ms, which delays the
		// answers after it by 1 ms, so the audio to 4 s ends at 4.001 s
		// and the answer for 2.5 s (played to 2.501 s) comes at 4.002 s.
		{1501 * time.Millisecond, []Gap{{At: 2, Heard: 2, Seconds: 0.001}, {At: 4.001, Heard: 4.001, Seconds: 0.001}}},
		// The first 2 s play, then nothing until the answer for 0.5 s at
		// 2.5 s. The answers for 1, 1.5 and 2 s then come as the
		// half-second each let flow ends, at 3, 3.5 and 4 s; after the
		// audio to 4 s (playing 4 to 4.5 s), the next answer is for the
		// audio to 2.5 s, which played to 3 s: at 5 s.
		{2 * time.Second, []Gap{{At: 2, Heard: 2, Seconds: 0.5}, {At: 4.5, Heard: 4.5, Seconds: 0.5}}},
		// The same with 1.5 s of silence: dry from 2 to 3.5 s, the
		// audio to 4 s plays to 5.5 s, the answer for 2.5 s (which
		// played to 4 s) comes at 7 s, and the rest plays to 9 s.
		{3 * time.Second, []Gap{{At: 2, Heard: 2, Seconds: 1.5}, {At: 5.5, Heard: 5.5, Seconds: 1.5}}},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := pipeCall(t, Options{Speed: 4, RTT: c.rtt}, func(a *testApp) {
					windowApp(a, elks.ULaw, samples, 2*time.Second)
				})
				if r.End.By != elks.ByApp {
					t.Errorf("end %+v", r.End)
				}
				exact(t, "played", r.Played, 6)
				got := r.Gaps.List
				if len(got) == 0 {
					got = nil
				}
				if r.Gaps.Count != len(c.gaps) || !gapsEqual(got, c.gaps) {
					t.Errorf("RTT %v, window 2 s: gaps %+v, want %+v", c.rtt, r.Gaps, c.gaps)
				}
				// Every sync waits for its audio and the round trip.
				if r.Syncs.MinLatency < c.rtt.Seconds() {
					t.Errorf("sync latency %.3f below the RTT", r.Syncs.MinLatency)
				}
			})
		})
	}
}

// gapsEqual compares gap lists to a nanosecond.
func gapsEqual(a, b []Gap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i].At-b[i].At) > 1e-9 || math.Abs(a[i].Heard-b[i].Heard) > 1e-9 || math.Abs(a[i].Seconds-b[i].Seconds) > 1e-9 {
			return false
		}
	}
	return true
}

// exact checks a time or length on the bubble's clock: equal to the
// nanosecond (the clock's resolution; call times are computed in
// nanoseconds and scaled by the speed).
func exact(t testing.TB, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
		t.Errorf("%s = %.10g, want exactly %.10g", what, got, want)
	}
}
