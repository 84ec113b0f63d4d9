package elkstest

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

// The caller's voice: once the app sends listening, the simulator sends
// Say in that format, 20 ms a message, each when its 20 ms have passed on
// the call's clock.
func TestSay(t *testing.T) {
	say, err := pipeline.OpenerText("tone 440 dur=1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []elks.Format{elks.ULaw, elks.PCM16000, elks.ALaw} {
		t.Run(string(f), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				info, _ := f.Info()
				var got []float32
				var at []time.Duration // arrival of each message, after listening
				const speed = 10
				r := pipeCall(t, Options{Speed: speed, Say: say}, func(a *testApp) {
					start := time.Now()
					a.send(elks.Listening{Format: f})
					dec, _ := elks.NewDecoder(f)
					for len(got) < info.Rate {
						m := a.expect(elks.TypeAudio)
						if m == nil {
							return
						}
						at = append(at, m.at.Sub(start))
						data := m.msg.(elks.Audio).Data
						if len(data) != info.Rate/50*map[bool]int{true: 2, false: 1}[f == elks.PCM16000] {
							t.Errorf("message of %d bytes, want 20 ms", len(data))
						}
						got, _ = dec.Decode(got, data)
					}
					a.send(elks.Bye{})
					a.waitEnd()
				})
				if len(at) != 50 || len(got) != info.Rate {
					t.Fatalf("%d messages, %d samples", len(at), len(got))
				}
				// Paced: message k comes when its 20 ms have passed, at
				// (k+1)×20 ms of call time, 2 ms of wall time at speed 10.
				for k, d := range at {
					if want := time.Duration(k+1) * 20 * time.Millisecond / speed; d != want {
						t.Fatalf("message %d came after %v, want %v", k, d, want)
					}
				}
				x := make([]float64, len(got))
				for i, v := range got {
					x[i] = float64(v)
				}
				if fr := audiotest.Frequency(x, info.Rate, 300, 600); math.Abs(fr-440) > 0.5 {
					t.Errorf("caller audio at %.2f Hz, want 440", fr)
				}
				if amp, _, snr := audiotest.SineFit(x, 440, info.Rate); math.Abs(amp-0.5) > 0.01 || snr < 30 {
					t.Errorf("caller audio amplitude %.3f, SNR %.1f dB", amp, snr)
				}
				ca := r.CallerAudio
				if ca.Format != string(f) || ca.Messages != 50 || math.Abs(ca.Seconds-1) > 1e-9 || ca.Error != "" {
					t.Errorf("caller audio report %+v", ca)
				}
				exact(t, "call duration", r.Duration, 1)
			})
		})
	}
}

// An MP3 file sent as it is: the simulator decodes it as the bytes arrive
// and the caller hears what the mp3 decoder makes of it.
func TestPassthroughMP3(t *testing.T) {
	path := filepath.Join("..", "..", "..", "sources", "testdata", "mp3", "sine44s.mp3")
	file, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	src, err := sources.File(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stereo := audiotest.MustReadAll(t, src)
	f := src.Format()
	pipeline.Close(src)
	want := make([]float32, len(stereo)/f.Channels)
	mixDown(want, stereo, f.Channels)
	// Two files back to back, then a sync: the first file's last frames
	// come out when the second sending ends it; the second's last frames
	// (at most two, which the decoder holds until it sees what follows)
	// are still in the decoder when the sync is answered and the app
	// hangs up.
	// On the bubble's clock the simulator's decoding takes no time:
	// whatever the machine's load, the file plays without a gap.
	synctest.Test(t, func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: 5, Record: rec}, func(a *testApp) {
			for range 2 {
				a.send(elks.Sending{Format: elks.MP3})
				a.sendAudio(file, 4000)
			}
			a.send(elks.Sync{})
			a.expect(elks.TypeSync)
			a.send(elks.Bye{})
			a.waitEnd()
		})
		checkTwoMP3s(t, r, rec, want, f.Rate)
	})
}

// checkTwoMP3s checks the report and recording of TestPassthroughMP3.
func checkTwoMP3s(t *testing.T, r *Report, rec string, want []float32, rateIn int) {
	if r.Syncs.Answered != 1 || len(r.Violations) != 0 || r.End.By != elks.ByApp || r.Gaps.Count != 0 {
		t.Fatalf("syncs %+v, violations %v, end %+v, gaps %+v", r.Syncs, r.Problems, r.End, r.Gaps)
	}
	heard, rate := readWAV(t, rec)
	if rate != rateIn {
		t.Fatalf("recording at %d Hz", rate)
	}
	quant := func(x []float32) []float32 { // the recording is 16-bit
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(pcmS16(v)) / 32768
		}
		return out
	}
	want = quant(want)
	if len(heard) < 2*len(want)-2*1152 || len(heard) > 2*len(want) {
		t.Fatalf("%d samples heard, want two files of %d less at most two frames", len(heard), len(want))
	}
	sameSamples(t, "first file", heard[:len(want)], want)
	sameSamples(t, "second file", heard[len(want):], want[:len(heard)-len(want)])
	near(t, "played", r.Played, float64(len(heard))/float64(rate), 1e-9)
}

// A sending in a format of another rate is resampled into the recording.
func TestRecordingAcrossRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { recordingAcrossRates(t) })
}

func recordingAcrossRates(t *testing.T) {
	a16 := makeTone(16000, 16000, 440, 0.4)
	a8 := makeTone(8000, 8000, 1000, 0.4)
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := pipeCall(t, Options{Speed: 50, Record: rec}, func(a *testApp) {
		a.send(elks.Sending{Format: elks.PCM16000})
		a.send(elks.Audio{Data: encode(t, elks.PCM16000, a16)})
		a.send(elks.Sending{Format: elks.ULaw})
		a.sendAudio(encode(t, elks.ULaw, a8), 800)
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	heard, rate := readWAV(t, rec)
	if rate != 16000 || r.Record.Rate != 16000 {
		t.Fatalf("recording at %d Hz", rate)
	}
	// 2 s without a gap (all the audio came at once), resampled sample
	// for sample.
	if r.Gaps.Count != 0 || math.Abs(r.Played-2) > 1e-9 || len(heard) != 32000 {
		t.Fatalf("%d samples, want 32000; gaps %+v, played %v", len(heard), r.Gaps, r.Played)
	}
	sameSamples(t, "first second", heard[:16000], a16)
	x := make([]float64, 12000)
	for i := range x {
		x[i] = float64(heard[18000+i])
	}
	if fr := audiotest.Frequency(x, 16000, 800, 1200); math.Abs(fr-1000) > 0.5 {
		t.Errorf("resampled part at %.2f Hz", fr)
	}
}

func TestConcurrentCalls(t *testing.T) {
	checkLeaks(t)
	samples := makeTone(3*8000, 8000, 440, 0.5)
	ids := map[string]bool{}
	srv := serveApp(t, func(a *testApp) {
		windowApp(a, elks.ULaw, samples, 4*time.Second)
	})
	dir := t.TempDir()
	// Real time: the app sends all 3 s at once, but after a first message
	// of 500 ms, which leaves the machine half a second to send the rest
	// (four calls at once, under the race detector, on a loaded machine).
	reports, err := Calls(context.Background(), Options{URL: srv.url, Speed: 1, Record: filepath.Join(dir, "heard.wav"), CallID: "c"}, 4)
	srv.wait()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		ids[r.CallID] = true
		if r.End.By != elks.ByApp || r.Gaps.Count != 0 || math.Abs(r.Played-3) > 1e-9 {
			t.Errorf("call %d: end %+v, gaps %d, played %.3f", i, r.End, r.Gaps.Count, r.Played)
		}
		if want := filepath.Join(dir, "heard-"+string(rune('1'+i))+".wav"); r.Record.Path != want {
			t.Errorf("call %d recorded to %s, want %s", i, r.Record.Path, want)
		}
		heard, _ := readWAV(t, r.Record.Path)
		heard = afterFirstAudio(t, heard, 8000, r)
		if len(heard) != len(samples) {
			t.Errorf("call %d: %d samples heard", i, len(heard))
		}
	}
	if len(ids) != 4 || !ids["c-1"] || !ids["c-4"] {
		t.Errorf("call ids %v", ids)
	}
	s := Summarize(reports)
	if s.Calls != 4 || s.Failed != 0 || s.EndedBy[elks.ByApp] != 4 || s.Gaps != 0 || math.Abs(s.Played-12) > 1e-6 {
		t.Errorf("summary %+v", s)
	}
	var b bytes.Buffer
	s.WriteText(&b)
	if !strings.Contains(b.String(), "4 calls") {
		t.Errorf("summary text:\n%s", b.String())
	}
	js, err := json.Marshal(reports)
	if err != nil || !bytes.Contains(js, []byte(`"callid":"c-2"`)) {
		t.Errorf("JSON: %v %s", err, js)
	}
}

// A pause in the middle of a passthrough file is a gap; the decoding of
// the bytes that did arrive is not.
func TestPassthroughGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 10.0, 8000
		tone := makeTone(rate, rate, 440, 0.5)
		wav := wavFile(t, tone, rate)
		half := len(wav) - rate // the header and the first half second
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: speed, Record: rec}, func(a *testApp) {
			a.send(elks.Sending{Format: elks.WAV})
			a.sendAudio(wav[:half], 1000)
			time.Sleep(time.Duration(float64(time.Second) / speed))
			a.sendAudio(wav[half:], 1000)
			a.send(elks.Sync{})
			a.expect(elks.TypeSync)
			a.send(elks.Bye{})
			a.waitEnd()
		})
		// The pause (1 s of call time) less the half second before it.
		checkOneGap(t, r, rec, rate, tone[:rate/2], tone[rate/2:], 0.5)
	})
}
