package elkstest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

// ---- test applications: the other side of the protocol, written here ----

// testApp is the application side of one call, for tests: it reads the
// API's messages in a goroutine and sends whatever the test says. It runs
// over a real WebSocket (serveApp: ws is that connection) or over
// elks.Pipe inside a synctest bubble (pipeCall: ws is nil).
type testApp struct {
	t    testing.TB
	tr   elks.Transport
	ws   *websocket.Conn
	in   chan appMsg
	gone chan struct{} // closed when the reader ends
}

func newTestApp(t testing.TB, tr elks.Transport, ws *websocket.Conn) *testApp {
	return &testApp{t: t, tr: tr, ws: ws, in: make(chan appMsg, 1024), gone: make(chan struct{})}
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
		b, err := a.tr.ReadMessage(context.Background())
		if err != nil {
			if errors.Is(err, elks.ErrMalformed) {
				a.t.Errorf("app: the simulator sent %v", err)
				continue
			}
			return
		}
		m, err := elks.Unmarshal(b)
		if err != nil {
			a.t.Errorf("app: the simulator sent a malformed message %q: %v", b, err)
			continue
		}
		a.in <- appMsg{raw: bytes.Clone(b), msg: m, at: time.Now()}
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
	return a.tr.WriteMessage(ctx, b)
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
		a := newTestApp(t, elks.WebSocket(conn), conn)
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

// pipeCall runs one call of app against the simulator over elks.Pipe,
// with Run, and returns the report once app has returned. Call it inside
// a synctest bubble: the simulator, the app and the clock they share are
// the bubble's, so the report's times are exact (the app takes no time
// unless it sleeps). The bubble itself checks that nothing is left
// running.
func pipeCall(t *testing.T, opt Options, app func(a *testApp)) *Report {
	t.Helper()
	appEnd, api := elks.Pipe()
	a := newTestApp(t, appEnd, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		go a.reader()
		a.expectHello()
		app(a)
		appEnd.Close()
		for range a.in {
		}
		<-a.gone
	}()
	r, err := Run(t.Context(), api, opt)
	<-done
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
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

// afterFirstAudio checks that a recording of the call r at rate starts
// with the silence before the first audio, and returns what follows it.
func afterFirstAudio(t testing.TB, heard []float32, rate int, r *Report) []float32 {
	t.Helper()
	n := int(math.Round(r.FirstAudio * float64(rate)))
	if n > len(heard) {
		t.Fatalf("the recording (%d samples) is shorter than the silence before the first audio at %v s", len(heard), r.FirstAudio)
	}
	for i, v := range heard[:n] {
		if v != 0 {
			t.Fatalf("sample %d, before the first audio at %v s, is %g: want silence", i, r.FirstAudio, v)
		}
	}
	return heard[n:]
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

func pcmS16(x float32) int16 {
	return int16(max(-32768, min(32767, math.Round(float64(x)*32768))))
}
