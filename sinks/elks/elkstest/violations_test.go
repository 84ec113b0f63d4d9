package elkstest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

func TestMalformedSurvived(t *testing.T) {
	checkLeaks(t)
	_, g722Err := elks.NewDecoder(elks.G722)
	audio := makeTone(1600, 8000, 400, 0.4)
	srv := serveApp(t, func(a *testApp) {
		a.sendRaw([]byte(`not json`))
		a.sendRaw([]byte(`{"x":1}`))
		a.sendRaw([]byte(`{"t":"dance","steps":3}`))
		a.sendRaw([]byte(`{"t":"audio","data":"!!"}`))
		a.sendRaw([]byte(`{"t":"sending","format":7}`))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a.ws.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		cancel()
		a.send(elks.Hello{CallID: "x"})
		a.send(elks.Sending{Format: "flac"})
		a.send(elks.Listening{Format: elks.WAV})
		a.send(elks.Audio{Data: []byte{1, 2}}) // after a sending with a bad format: dropped
		if g722Err != nil {
			a.send(elks.Sending{Format: elks.G722})
			a.send(elks.Audio{Data: make([]byte, 160)})
		}
		a.send(elks.Sending{Format: elks.PCM8000})
		a.send(elks.Audio{Data: []byte{1, 2, 3}})                                          // half a sample
		a.send(elks.Audio{Data: encode(t, elks.PCM8000, makeTone(40000, 8000, 300, 0.1))}) // 80 kB: oversize
		a.send(elks.Interrupt{})
		a.send(elks.Sending{Format: elks.PCM8000})
		a.send(elks.Audio{Data: encode(t, elks.PCM8000, audio)})
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: 20, Record: rec})
	srv.wait()
	want := map[ViolationKind]int{
		Malformed:   4,
		UnknownType: 1,
		BinaryFrame: 1,
		Unexpected:  1,
		BadFormat:   2,
		Undecodable: 1,
		Oversize:    1,
	}
	if g722Err != nil {
		want[Undecodable]++
	}
	for k, n := range want {
		if r.Violations[k] != n {
			t.Errorf("%s: %d, want %d (%v)", k, r.Violations[k], n, r.Problems)
		}
	}
	if len(r.Violations) != len(want) {
		t.Errorf("violations %v", r.Violations)
	}
	if r.End.By != elks.ByApp {
		t.Errorf("end %+v", r.End)
	}
	heard, _ := readWAV(t, rec)
	// The oversize message played until the interrupt, then the audio.
	sameSamples(t, "heard at the end", heard[len(heard)-len(audio):], audio)
	var text bytes.Buffer
	r.WriteText(&text)
	for _, s := range []string{"malformed ×4", "unknown-type ×1", "not json", `"dance"`} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
}

func TestAppVanishes(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		name string
		end  func(*testApp)
		msg  string
	}{
		{"drop", func(a *testApp) { a.ws.CloseNow() }, "the connection broke without bye"},
		{"close", func(a *testApp) { a.ws.Close(websocket.StatusNormalClosure, "") }, "status 1000"},
		{"going-away", func(a *testApp) { a.ws.Close(websocket.StatusGoingAway, "") }, "status 1001"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := serveApp(t, func(a *testApp) {
				a.send(elks.Sending{Format: elks.PCM8000})
				a.send(elks.Audio{Data: encode(t, elks.PCM8000, makeTone(8000, 8000, 300, 0.3))})
				a.send(elks.Sync{})
				c.end(a)
			})
			start := time.Now()
			r := callOK(t, Options{URL: srv.url, Speed: 1, Duration: time.Minute})
			srv.wait()
			// The call notices at once, not when the caller's minute is
			// up nor after the close grace period (2 s).
			if d := time.Since(start); d > closeGrace {
				t.Errorf("the call took %v to notice", d)
			}
			if r.End.By != elks.ByDrop || !strings.Contains(r.End.Message, c.msg) || r.End.Reason != "" {
				t.Errorf("end %+v", r.End)
			}
			if r.Syncs.Requests != 1 || r.Syncs.Answered != 0 {
				t.Errorf("syncs %+v", r.Syncs)
			}
		})
	}
}

// Cancelling the context hangs up.
func TestCancel(t *testing.T) {
	checkLeaks(t)
	var bye *appMsg
	srv := serveApp(t, func(a *testApp) { bye = a.waitEnd() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, err := Call(ctx, Options{URL: srv.url})
	srv.wait()
	if !errors.Is(err, context.DeadlineExceeded) || r == nil || !r.End.Cancelled || r.End.By != elks.ByAPI {
		t.Fatalf("report %+v, err %v", r, err)
	}
	if bye == nil || bye.msg != (elks.Bye{Reason: elks.ReasonHangup, Message: "the caller hung up"}) {
		t.Errorf("bye %v", bye)
	}
}

func TestCannotConnect(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/"
	ln.Close()
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r, err := Call(context.Background(), Options{URL: url, Record: rec})
	if r != nil || err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %v, %v", r, err)
	}
	if _, serr := os.Stat(rec); serr == nil {
		t.Errorf("a recording was left behind")
	}
	// A server that refuses the upgrade.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad token", http.StatusUnauthorized)
	})}
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	_, err = Call(context.Background(), Options{URL: "ws://" + ln.Addr().String() + "/?token=s3cret"})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("401: %v", err)
	}
	if got := redact("ws://h:1/p?a=1&token=s3cret&b=2"); got != "ws://h:1/p?a=1&token=xxx&b=2" {
		t.Errorf("redact: %s", got)
	}
	for _, bad := range []Options{{}, {URL: "ftp://x/"}, {URL: "ws:///"}, {URL: "ws://x/", Speed: -1}, {URL: "ws://x/", RecordRate: -5}} {
		if _, err := Call(context.Background(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// Audio before any sending, files that are not what the sending says, a
// second file without a sending, and messages after the application's
// bye are reported; the call goes on.
func TestSequenceViolations(t *testing.T) {
	mp3, err := os.ReadFile(filepath.Join("..", "..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Skip(err)
	}
	tone := makeTone(4000, 8000, 500, 0.3)
	wav := wavFile(t, tone, 8000)
	// On the bubble's clock: the simulator's mp3 decoding takes no time,
	// so nothing here depends on the machine's speed.
	synctest.Test(t, func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "heard.wav")
		r := pipeCall(t, Options{Speed: 5, Record: rec}, func(a *testApp) {
			a.send(elks.Audio{Data: []byte{0, 0}})
			a.send(elks.Sending{Format: elks.WAV})
			a.sendAudio(mp3, 4000) // mp3 bytes after "sending wav": played all the same
			a.send(elks.Sending{Format: elks.WAV})
			a.sendAudio(wav, 4000)
			a.sendAudio(wav, 4000) // a second file without a sending
			a.send(elks.Sync{})
			a.expect(elks.TypeSync)
			a.send(elks.Bye{})
			a.send(elks.Sync{})
			a.send(elks.Audio{Data: []byte{0, 0}})
			a.waitEnd()
		})
		checkSequenceViolations(t, r, rec, mp3)
	})
}

// checkSequenceViolations checks the report and recording of
// TestSequenceViolations.
func checkSequenceViolations(t *testing.T, r *Report, rec string, mp3 []byte) {
	want := map[ViolationKind]int{AudioBeforeSending: 1, FormatMismatch: 2, AfterBye: 2}
	for k, n := range want {
		if r.Violations[k] != n {
			t.Errorf("%s: %d, want %d (%v)", k, r.Violations[k], n, r.Problems)
		}
	}
	if len(r.Violations) != len(want) || r.End.By != elks.ByApp {
		t.Errorf("violations %v, end %+v", r.Violations, r.End)
	}
	// The mp3 (at 44.1 kHz), then the wav once (resampled into the
	// recording).
	src, err := sources.Decode(bytes.NewReader(mp3))
	if err != nil {
		t.Fatal(err)
	}
	mp3Len := float64(pipeline.FramesOf(src)) / float64(src.Format().Rate)
	pipeline.Close(src)
	heard, rate := readWAV(t, rec)
	if rate != 44100 {
		t.Fatalf("recording at %d Hz", rate)
	}
	// All of the mp3 (the next sending flushed its last frames out of the
	// decoder) and one wav file.
	near(t, "played", r.Played, mp3Len+0.5, 1e-6)
	if r.Gaps.Count != 0 {
		t.Errorf("gaps %+v", r.Gaps)
	}
	near(t, "recording", float64(len(heard))/float64(rate), r.Played, 0.01)
}

// An application that stops reading altogether: the simulator still hangs
// up, closes the connection after its grace period and returns.
func TestAppStopsReading(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		conn.Write(context.Background(), websocket.MessageText, []byte(`{"t":"sending","format":"ulaw"}`))
		<-release
	})}
	go srv.Serve(ln)
	defer func() { close(release); srv.Close(); wg.Wait() }()
	start := time.Now()
	r := callOK(t, Options{URL: "ws://" + ln.Addr().String() + "/", Speed: 10, Duration: 500 * time.Millisecond})
	if d := time.Since(start); d > closeGrace+time.Second {
		t.Errorf("took %v", d)
	}
	if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonHangup || r.Sendings["ulaw"] != 1 {
		t.Errorf("report %+v", r)
	}
}
