package elkstest

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// An application that starts late: the report gives the time to first
// audio, the recording holds the silence the caller heard until then,
// and a caller's voice the application never asked for (no listening)
// is reported as never sent.
func TestLateStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const speed, rate = 10.0, 8000
		tone := makeTone(rate/2, rate, 440, 0.4)
		rec := filepath.Join(t.TempDir(), "heard.wav")
		say, err := pipeline.OpenerText("tone 300 dur=1s")
		if err != nil {
			t.Fatal(err)
		}
		r := pipeCall(t, Options{Speed: speed, Record: rec, Say: say}, func(a *testApp) {
			time.Sleep(time.Duration(1.25 * float64(time.Second) / speed))
			a.send(elks.Sending{Format: elks.PCM8000})
			a.sendAudio(encode(t, elks.PCM8000, tone), 1600)
			a.send(elks.Sync{})
			a.expect(elks.TypeSync)
			a.send(elks.Bye{})
			a.waitEnd()
		})
		exact(t, "first audio", r.FirstAudio, 1.25)
		heard, _ := readWAV(t, rec)
		want := append(make([]float32, 10000), tone...)
		sameSamples(t, "heard: 1.25 s of silence, then the tone", heard, want)
		exact(t, "recorded", r.Record.Seconds, 1.75)
		if !r.CallerAudio.NeverAsked || r.CallerAudio.Messages != 0 {
			t.Errorf("caller audio %+v: want never asked, none sent", r.CallerAudio)
		}
		var text bytes.Buffer
		r.WriteText(&text)
		for _, want := range []string{
			"first audio: 1.25 s after the call started",
			"caller audio: none sent: the application never asked for it (no listening message)",
			"recorded: " + rec + " (1.75 s at 8000 Hz)",
		} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("the text report lacks %q:\n%s", want, text.String())
			}
		}
		b, _ := json.Marshal(r)
		for _, want := range []string{`"first_audio":1.25`, `"never_asked":true`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("the JSON report lacks %s: %s", want, b)
			}
		}
	})
}

// A call without audio says so, and a caller's voice that was asked for
// is not reported as never asked.
func TestNoAudioAndAskedVoice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		say, _ := pipeline.OpenerText("tone 300 dur=100ms")
		r := pipeCall(t, Options{Speed: 10, Say: say, Duration: time.Second}, func(a *testApp) {
			a.send(elks.Listening{Format: elks.PCM16000})
			a.waitEnd()
		})
		if r.CallerAudio.NeverAsked || math.Abs(r.CallerAudio.Seconds-0.1) > 1e-9 {
			t.Errorf("caller audio %+v", r.CallerAudio)
		}
		var text bytes.Buffer
		r.WriteText(&text)
		if !strings.Contains(text.String(), "first audio: none") || strings.Contains(text.String(), "never asked") {
			t.Errorf("text report:\n%s", text.String())
		}
	})
}
