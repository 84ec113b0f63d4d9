package elks

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// srvTest runs srv on 127.0.0.1 until the test ends; it returns the
// ws:// URL of calls and a function that stops the server and returns
// Serve's error.
func srvTest(t *testing.T, srv *Server) (url string, stop func() error) {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger, _ = sessTestLogger()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serr = <-errc
		})
		return serr
	}
	t.Cleanup(func() { stop() })
	return "ws://" + ln.Addr().String() + srv.path(), stop
}

// srvDial connects a scripted peer to url, answering syncs as replies
// says, and sends hello.
func srvDial(t *testing.T, url string, replies replyMode) *wirePeer {
	t.Helper()
	return srvDialPeer(t, url, func(p *wirePeer) { p.replies = replies })
}

// srvDialPeer connects a scripted peer to url, set up by setup, and
// sends hello.
func srvDialPeer(t *testing.T, url string, setup func(p *wirePeer)) *wirePeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newWirePeer(WebSocket(c))
	setup(p)
	p.start(Hello{CallID: "c13d1e772", From: "+46701234567", To: "+46766861234"})
	return p
}

func srvWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The start of a call, byte for byte: listening (recording), sending,
// audio chunks of 100 ms (16-bit little-endian, base64), a sync every
// 500 ms, the final sync, bye.
func TestServerWireExact(t *testing.T) {
	sessLeakCheck(t)
	dir := t.TempDir()
	h, err := TextHandler("tone 440 dur=1.2s rate=8k")
	if err != nil {
		t.Fatal(err)
	}
	url, stop := srvTest(t, &Server{Config: Config{Format: PCM8000, Record: dir + "/{callid}.wav"}, Handler: h})
	p := srvDial(t, url, replyAtOnce)
	<-p.done
	r := p.snapshot()

	// The expected audio, quantized here independently of the codec.
	g := sessGraph(t, "tone 440 dur=1.2s rate=8k")
	src, _, err := g.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	x := audiotest.MustReadAll(t, src)
	pipeline.Close(src)
	audio := func(from, to int) string {
		b := make([]byte, 0, 2*(to-from))
		for _, v := range x[from:to] {
			s := math.Round(float64(v) * 32768)
			s = math.Max(-32768, math.Min(32767, s))
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(s)))
		}
		return `{"t":"audio","data":"` + base64.StdEncoding.EncodeToString(b) + `"}`
	}
	want := []string{`{"t":"listening","format":"pcm_8000"}`, `{"t":"sending","format":"pcm_8000"}`}
	for i := 0; i < 12; i++ {
		want = append(want, audio(i*800, (i+1)*800))
		if i == 4 || i == 9 || i == 11 {
			want = append(want, `{"t":"sync"}`)
		}
	}
	want = append(want, `{"t":"bye"}`)
	if len(r.msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %v", len(r.msgs), len(want), r.types())
	}
	for i := range want {
		if r.msgs[i] != want[i] {
			t.Errorf("message %d:\n got %.120s\nwant %.120s", i, r.msgs[i], want[i])
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// srvSourceCloser is an endless source that notes when it is closed.
type srvSourceCloser struct {
	audiotest.Endless
	closedAt atomic.Int64
}

func (s *srvSourceCloser) Close() error {
	s.closedAt.Store(time.Now().UnixNano())
	return s.Endless.Close()
}

func srvEndlessGraph(src *srvSourceCloser) *pipeline.Graph {
	return &pipeline.Graph{Sources: []pipeline.Stage{{Name: "endless", Open: func(context.Context) (pipeline.Source, error) { return src, nil }}}}
}

// The caller hangs up mid-call: the pipeline stops and is closed within
// 100 ms, and nothing is left running.
func TestServerHangupStopsPipeline(t *testing.T) {
	sessLeakCheck(t)
	src := &srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}, Value: 0.1}}
	sessions := make(chan *Session, 1)
	play := GraphHandler(srvEndlessGraph(src))
	log, logs := sessTestLogger()
	url, stop := srvTest(t, &Server{Logger: log, Handler: func(ctx context.Context, s *Session) error {
		sessions <- s
		return play(ctx, s)
	}})
	p := srvDial(t, url, replyNever)
	s := <-sessions
	srvWait(t, "2 s of audio", func() bool { return s.Stats().AudioSent >= 2*time.Second })
	time.Sleep(150 * time.Millisecond) // mid-call: the session waits on the window
	byeAt := time.Now()
	p.hangup()
	<-s.Done()
	srvWait(t, "the source to close", func() bool { return src.closedAt.Load() != 0 })
	d := time.Duration(src.closedAt.Load() - byeAt.UnixNano())
	if d > 100*time.Millisecond {
		t.Errorf("the pipeline closed %v after the caller hung up", d)
	}
	t.Logf("the pipeline closed %v after the caller's bye", d)
	if e := s.End(); e.By != ByAPI || e.Reason != ReasonHangup {
		t.Errorf("end %+v", e)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
	l := logs.String()
	for _, want := range []string{`msg="call started" callid=c13d1e772 from=+46701234567 to=+46766861234`,
		`msg="call ended" callid=c13d1e772 from=+46701234567 to=+46766861234 by=api reason=hangup`,
		`msg="call closed" callid=c13d1e772`} {
		if !strings.Contains(l, want) {
			t.Errorf("no %q in the logs:\n%s", want, l)
		}
	}
}

// A connection that drops without bye is a hangup; binary frames and
// malformed messages before it are survived and counted.
func TestServerDropAndBinary(t *testing.T) {
	sessLeakCheck(t)
	src := &srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}}
	sessions := make(chan *Session, 1)
	play := GraphHandler(srvEndlessGraph(src))
	url, _ := srvTest(t, &Server{Handler: func(ctx context.Context, s *Session) error {
		sessions <- s
		return play(ctx, s)
	}})
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"t":"hello","callid":"x","from":"+1","to":"+2"}`))
	s := <-sessions
	c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
	c.Write(ctx, websocket.MessageText, []byte(`{"t":"bogus"}`))
	c.Write(ctx, websocket.MessageText, []byte(`{`))
	for i := 0; i < 3; i++ { // read a few messages so the session is streaming
		c.Read(ctx)
	}
	srvWait(t, "the bad messages", func() bool { st := s.Stats(); return st.Malformed == 2 && st.Unknown == 1 })
	c.CloseNow()
	<-s.Done()
	if e := s.End(); e.By != ByDrop || e.Reason != ReasonHangup {
		t.Errorf("end %+v", e)
	}
	srvWait(t, "the source to close", func() bool { return src.closedAt.Load() != 0 })
}

func TestServerToken(t *testing.T) {
	sessLeakCheck(t)
	h, _ := TextHandler("tone 440 dur=100ms")
	url, _ := srvTest(t, &Server{Token: "s3cret", Handler: h})
	for _, c := range []struct {
		query string
		code  int
	}{{"", http.StatusUnauthorized}, {"?token=wrong", http.StatusForbidden}, {"?token=s3cre", http.StatusForbidden}, {"?token=s3cret", http.StatusSwitchingProtocols}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, resp, err := websocket.Dial(ctx, url+c.query, nil)
		cancel()
		if resp == nil || resp.StatusCode != c.code {
			t.Errorf("token %q: %v, %v; want %d", c.query, resp, err, c.code)
		}
		if conn != nil {
			conn.CloseNow()
		}
	}
}

func TestServerMaxCallsAndHealthz(t *testing.T) {
	sessLeakCheck(t)
	src := &srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}}
	url, stop := srvTest(t, &Server{MaxCalls: 1, Handler: GraphHandler(srvEndlessGraph(src))})
	base := "http://" + strings.TrimPrefix(url, "ws://")
	health := func() (int, map[string]any) {
		resp, err := http.Get(strings.TrimSuffix(base, "/") + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	// A plain GET of the call path is answered 426 and is not a call.
	if r, err := http.Get(base); err != nil || r.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("a plain GET: %v %v", r, err)
	} else {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if code, body := health(); code != 200 || body["status"] != "ok" || body["calls"] != 0.0 || body["max_calls"] != 1.0 || body["total_calls"] != 0.0 {
		t.Errorf("healthz: %d %v", code, body)
	}
	p := srvDial(t, url, replyNever)
	srvWait(t, "audio", func() bool { return len(p.snapshot().msgs) > 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, resp, err := websocket.Dial(ctx, url, nil)
	cancel()
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second call: %v, %v", resp, err)
	}
	if code, body := health(); code != 200 || body["calls"] != 1.0 || body["total_calls"] != 1.0 {
		t.Errorf("healthz during a call: %d %v", code, body)
	}
	if r, err := http.Get(base + "elsewhere"); err != nil || r.StatusCode != 404 {
		t.Errorf("wrong path: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	p.hangup()
	srvWait(t, "the call to end", func() bool { _, b := health(); return b["calls"] == 0.0 })
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// Shutdown: no new calls; the calls going on get ShutdownTimeout, then a
// bye; Serve returns once they are closed.
func TestServerGracefulShutdown(t *testing.T) {
	sessLeakCheck(t)
	src := &srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}}
	url, stop := srvTest(t, &Server{ShutdownTimeout: 300 * time.Millisecond, Handler: GraphHandler(srvEndlessGraph(src))})
	p := srvDial(t, url, replyNever)
	srvWait(t, "audio", func() bool { return len(p.snapshot().msgs) > 3 })
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	took := time.Since(start)
	<-p.done
	if r := p.snapshot(); !r.appBye {
		t.Error("the call got no bye at shutdown")
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if src.closedAt.Load() == 0 {
		t.Error("the pipeline was not closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, _, err := websocket.Dial(ctx, url, nil); err == nil {
		t.Error("a call was accepted after shutdown")
	}
}

// A call that finishes by itself during the shutdown is not cut short.
func TestServerShutdownLetsCallsFinish(t *testing.T) {
	sessLeakCheck(t)
	h, _ := TextHandler("tone 440 dur=1s")
	url, stop := srvTest(t, &Server{ShutdownTimeout: 10 * time.Second, Handler: h})
	p := srvDial(t, url, replyAtOnce)
	srvWait(t, "audio", func() bool { return len(p.snapshot().msgs) > 3 })
	if err := stop(); err != nil {
		t.Error(err)
	}
	<-p.done
	r := p.snapshot()
	// All the audio, its last sync answered, then bye.
	types := r.types()
	if heard := r.heard(t, PCM16000); len(heard) != 16000 || len(types) < 2 || types[len(types)-2] != "sync" || types[len(types)-1] != "bye" {
		t.Errorf("heard %d samples; messages %v", len(heard), types)
	}
}

func TestServerNoHandler(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := (&Server{}).Serve(context.Background(), ln); err == nil {
		t.Error("a server without handler ran")
	}
	if _, err := TextHandler("tone 440 | wav x.wav"); err == nil || !strings.Contains(err.Error(), "wav") {
		t.Errorf("TextHandler with a sink: %v", err)
	}
	if _, err := TextHandler("tone 440 | gian 3"); err == nil {
		t.Error("TextHandler accepted an unknown element")
	}
}

// A handler that panics ends its call, not the server: the call hangs
// up with a bye, the panic and its stack are logged with the call id,
// and the next call is served.
func TestServerHandlerPanic(t *testing.T) {
	sessLeakCheck(t)
	log, logs := sessTestLogger()
	var calls atomic.Int32
	url, stop := srvTest(t, &Server{Logger: log, Handler: func(ctx context.Context, s *Session) error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return nil
	}})
	for i := range 2 {
		p := srvDial(t, url, replyAtOnce)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d: the connection did not end", i+1)
		}
		if !p.snapshot().appBye {
			t.Errorf("call %d: no bye from the server: %q", i+1, p.snapshot().msgs)
		}
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
	l := logs.String()
	for _, want := range []string{`msg="the call's handler panicked" callid=c13d1e772`, `panic=boom`, `server_test.go`,
		`msg="playing failed; hanging up" callid=c13d1e772`, `err="the handler panicked: boom"`} {
		if !strings.Contains(l, want) {
			t.Errorf("no %q in the logs:\n%s", want, l)
		}
	}
}
