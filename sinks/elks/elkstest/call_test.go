package elkstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/g711"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

// ---- test applications: the other side of the protocol, written here ----

// testApp is the application side of one call, for tests: it reads the
// API's messages in a goroutine and sends whatever the test says.
type testApp struct {
	t    testing.TB
	conn *websocket.Conn
	in   chan appMsg
	gone chan struct{} // closed when the reader ends
}

type appMsg struct {
	raw []byte
	msg elks.Message
	at  time.Time
}

func (a *testApp) reader() {
	defer close(a.gone)
	defer close(a.in)
	for {
		_, b, err := a.conn.Read(context.Background())
		if err != nil {
			return
		}
		m, err := elks.Unmarshal(b)
		if err != nil {
			a.t.Errorf("app: the simulator sent a malformed message %q: %v", b, err)
			continue
		}
		a.in <- appMsg{raw: b, msg: m, at: time.Now()}
	}
}

// next returns the next message from the simulator, or nil when the
// connection ended or nothing came within the timeout.
func (a *testApp) next(timeout time.Duration) *appMsg {
	select {
	case m, ok := <-a.in:
		if !ok {
			return nil
		}
		return &m
	case <-time.After(timeout):
		a.t.Errorf("app: nothing from the simulator in %v", timeout)
		return nil
	}
}

// expect returns the next message, which must be of type typ (other than
// audio, which is skipped).
func (a *testApp) expect(typ string) *appMsg {
	a.t.Helper()
	for {
		m := a.next(10 * time.Second)
		if m == nil {
			a.t.Errorf("app: connection ended while waiting for %s", typ)
			return nil
		}
		if m.msg.Type() == elks.TypeAudio && typ != elks.TypeAudio {
			continue
		}
		if m.msg.Type() != typ {
			a.t.Errorf("app: got %s, want %s", m.raw, typ)
			return nil
		}
		return m
	}
}

func (a *testApp) send(m elks.Message) error {
	b, err := elks.Marshal(m)
	if err != nil {
		return err
	}
	return a.sendRaw(b)
}

func (a *testApp) sendRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.conn.Write(ctx, websocket.MessageText, b)
}

// sendAudio sends data in pieces of at most piece bytes.
func (a *testApp) sendAudio(data []byte, piece int) error {
	for len(data) > 0 {
		n := min(piece, len(data))
		if err := a.send(elks.Audio{Data: data[:n]}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// waitEnd reads until the connection ends, returning the simulator's bye.
func (a *testApp) waitEnd() *appMsg {
	var bye *appMsg
	for m := range a.in {
		if m.msg.Type() == elks.TypeBye {
			bye = &m
		}
	}
	return bye
}

// appServer is a server of test applications.
type appServer struct {
	url string
	wg  sync.WaitGroup
}

// wait waits until every application has returned, so that what they
// saw can be read.
func (s *appServer) wait() { s.wg.Wait() }

// serveApp runs app for every WebSocket connection to a server on
// 127.0.0.1. The server and every app end with the test.
func serveApp(t testing.TB, app func(a *testApp)) *appServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &appServer{url: "ws://" + ln.Addr().String() + "/"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conn.SetReadLimit(1 << 20)
		a := &testApp{t: t, conn: conn, in: make(chan appMsg, 1024), gone: make(chan struct{})}
		go a.reader()
		a.expectHello()
		app(a)
		conn.Close(websocket.StatusNormalClosure, "")
		for range a.in {
		}
		<-a.gone
	})}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		s.wg.Wait()
	})
	return s
}

func (a *testApp) expectHello() {
	m := a.next(10 * time.Second)
	if m == nil || m.msg.Type() != elks.TypeHello {
		a.t.Errorf("app: the first message is not hello: %v", m)
	}
}

// checkLeaks fails the test if goroutines started during it are still
// running when it ends. Call it first, so that it runs after the other
// cleanups.
func checkLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
		}
	})
}

// ---- audio helpers ----

// makeTone returns n samples of a sine at freq Hz, amplitude amp, quantized
// to 16 bits so that PCM round trips are exact.
func makeTone(n, rate int, freq, amp float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		v := amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		out[i] = float32(math.Round(v*32767)) / 32768
	}
	return out
}

func encode(t testing.TB, f elks.Format, samples []float32) []byte {
	t.Helper()
	enc, err := elks.NewEncoder(f)
	if err != nil {
		t.Fatal(err)
	}
	return enc.Flush(enc.Encode(nil, samples))
}

// wavFile returns the bytes of a 16-bit mono WAV file of samples.
func wavFile(t testing.TB, samples []float32, rate int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sinks.NewWAVWriter(f, pipeline.Format{Rate: rate, Channels: 1}, sinks.WAVS16)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(samples); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readWAV decodes a recording.
func readWAV(t testing.TB, path string) ([]float32, int) {
	t.Helper()
	src, err := sources.WAV(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if src.Format().Channels != 1 {
		t.Fatalf("recording has %d channels", src.Format().Channels)
	}
	return audiotest.MustReadAll(t, src), src.Format().Rate
}

func sameSamples(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: sample %d is %g, want %g", what, i, got[i], want[i])
		}
	}
}

func near(t testing.TB, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", what, got, want, tol)
	}
}

func callOK(t testing.TB, opt Options) *Report {
	t.Helper()
	r, err := Call(context.Background(), opt)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	return r
}

// ---- (a) 46elks' documented looping example ----

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

// ---- (b) flooding apps overflow the buffer ----

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

// ---- (c) sync timing ----

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

// ---- (d) gaps ----

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

func pcmS16(x float32) int16 {
	return int16(max(-32768, min(32767, math.Round(float64(x)*32768))))
}

// ---- (e) interrupt ----

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

// ---- (f) the caller's voice ----

func TestSay(t *testing.T) {
	checkLeaks(t)
	say, err := pipeline.OpenerText("tone 440 dur=1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []elks.Format{elks.ULaw, elks.PCM16000, elks.ALaw} {
		t.Run(string(f), func(t *testing.T) {
			info, _ := f.Info()
			var got []float32
			var msgs int
			var first, last time.Time
			srv := serveApp(t, func(a *testApp) {
				a.send(elks.Listening{Format: f})
				dec, _ := elks.NewDecoder(f)
				for len(got) < info.Rate {
					m := a.expect(elks.TypeAudio)
					if m == nil {
						return
					}
					if msgs == 0 {
						first = m.at
					}
					last = m.at
					msgs++
					data := m.msg.(elks.Audio).Data
					if len(data) != info.Rate/50*map[bool]int{true: 2, false: 1}[f == elks.PCM16000] {
						t.Errorf("message of %d bytes, want 20 ms", len(data))
					}
					got, _ = dec.Decode(got, data)
				}
				a.send(elks.Bye{})
				a.waitEnd()
			})
			const speed = 10
			r := callOK(t, Options{URL: srv.url, Speed: speed, Say: say})
			srv.wait()
			if msgs != 50 || len(got) != info.Rate {
				t.Fatalf("%d messages, %d samples", msgs, len(got))
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
			// Paced: 1 s of audio takes about 1 s of call time.
			if d := last.Sub(first).Seconds() * speed; d < 0.6 || d > 1.6 {
				t.Errorf("1 s of caller audio arrived over %.2f s of call time", d)
			}
			ca := r.CallerAudio
			if ca.Format != string(f) || ca.Messages != 50 || math.Abs(ca.Seconds-1) > 1e-9 || ca.Error != "" {
				t.Errorf("caller audio report %+v", ca)
			}
		})
	}
}

// ---- (g) hangup ----

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

// ---- (h) malformed and unknown messages ----

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
		a.conn.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
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

// ---- (i) the app vanishes ----

func TestAppVanishes(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		name string
		end  func(*testApp)
		msg  string
	}{
		{"drop", func(a *testApp) { a.conn.CloseNow() }, "the connection broke without bye"},
		{"close", func(a *testApp) { a.conn.Close(websocket.StatusNormalClosure, "") }, "status 1000"},
		{"going-away", func(a *testApp) { a.conn.Close(websocket.StatusGoingAway, "") }, "status 1001"},
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
			if d := time.Since(start); d > time.Second {
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

// ---- passthrough mp3, and recordings across rates ----

// An MP3 file sent as it is: the simulator decodes it as the bytes arrive
// and the caller hears what the mp3 decoder makes of it.
func TestPassthroughMP3(t *testing.T) {
	checkLeaks(t)
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
	srv := serveApp(t, func(a *testApp) {
		for range 2 {
			a.send(elks.Sending{Format: elks.MP3})
			a.sendAudio(file, 4000)
		}
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	// MP3 decoding (under the race detector too) must outrun the speed.
	r := callOK(t, Options{URL: srv.url, Speed: 5, Record: rec})
	srv.wait()
	if r.Syncs.Answered != 1 || len(r.Violations) != 0 || r.End.By != elks.ByApp || r.Gaps.Count != 0 {
		t.Fatalf("syncs %+v, violations %v, end %+v, gaps %+v", r.Syncs, r.Problems, r.End, r.Gaps)
	}
	heard, rate := readWAV(t, rec)
	if rate != f.Rate {
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
	checkLeaks(t)
	a16 := makeTone(16000, 16000, 440, 0.4)
	a8 := makeTone(8000, 8000, 1000, 0.4)
	srv := serveApp(t, func(a *testApp) {
		a.send(elks.Sending{Format: elks.PCM16000})
		a.send(elks.Audio{Data: encode(t, elks.PCM16000, a16)})
		a.send(elks.Sending{Format: elks.ULaw})
		a.sendAudio(encode(t, elks.ULaw, a8), 800)
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: 50, Record: rec})
	srv.wait()
	heard, rate := readWAV(t, rec)
	if rate != 16000 || r.Record.Rate != 16000 {
		t.Fatalf("recording at %d Hz", rate)
	}
	if len(heard) < 31990 || len(heard) > 32010 {
		t.Fatalf("%d samples, want 32000", len(heard))
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

// ---- (k) concurrent calls ----

func TestConcurrentCalls(t *testing.T) {
	checkLeaks(t)
	samples := makeTone(3*8000, 8000, 440, 0.5)
	ids := map[string]bool{}
	srv := serveApp(t, func(a *testApp) {
		windowApp(a, elks.ULaw, samples, 4*time.Second)
	})
	dir := t.TempDir()
	reports, err := Calls(context.Background(), Options{URL: srv.url, Speed: 10, Record: filepath.Join(dir, "heard.wav"), CallID: "c"}, 4)
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

// Audio before any sending, files that are not what the sending says, a
// second file without a sending, and messages after the application's
// bye are reported; the call goes on.
func TestSequenceViolations(t *testing.T) {
	checkLeaks(t)
	mp3, err := os.ReadFile(filepath.Join("..", "..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Skip(err)
	}
	tone := makeTone(4000, 8000, 500, 0.3)
	wav := wavFile(t, tone, 8000)
	srv := serveApp(t, func(a *testApp) {
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
	rec := filepath.Join(t.TempDir(), "heard.wav")
	r := callOK(t, Options{URL: srv.url, Speed: 5, Record: rec})
	srv.wait()
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
	near(t, "recording", float64(len(heard))/float64(rate), r.Played, 0.01)
}

// A pause in the middle of a passthrough file is a gap; the decoding of
// the bytes that did arrive is not.
func TestPassthroughGap(t *testing.T) {
	checkLeaks(t)
	const speed, rate = 10.0, 8000
	tone := makeTone(rate, rate, 440, 0.5)
	wav := wavFile(t, tone, rate)
	half := len(wav) - rate // the header and the first half second
	srv := serveApp(t, func(a *testApp) {
		a.send(elks.Sending{Format: elks.WAV})
		a.sendAudio(wav[:half], 1000)
		time.Sleep(time.Duration(float64(time.Second) / speed))
		a.sendAudio(wav[half:], 1000)
		a.send(elks.Sync{})
		a.expect(elks.TypeSync)
		a.send(elks.Bye{})
		a.waitEnd()
	})
	checkOneGap(t, srv, speed, rate, tone[:rate/2], tone[rate/2:])
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
