package elks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/promtest"
)

// panicLogger is a slog.Handler that panics when it logs msg: a user's
// Logger that fails in a place of the server's own code, not in a
// handler.
type panicLogger struct {
	slog.Handler
	msg string
}

func (h panicLogger) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		panic("the logger failed at " + h.msg)
	}
	return h.Handler.Handle(ctx, r)
}

func (h panicLogger) WithAttrs(a []slog.Attr) slog.Handler {
	return panicLogger{h.Handler.WithAttrs(a), h.msg}
}

func (h panicLogger) WithGroup(name string) slog.Handler {
	return panicLogger{h.Handler.WithGroup(name), h.msg}
}

// A panic outside the handler — as the call starts, or as it ends — ends
// that call and gives back its place: the server holds no call and no
// session after it, admits the next call, and stops at once.
func TestServerPanicOutsideHandler(t *testing.T) {
	for _, at := range []string{"call started", "call closed"} {
		t.Run(at, func(t *testing.T) {
			log, _ := sessTestLogger()
			srv := &Server{
				Logger:   slog.New(panicLogger{log.Handler(), at}),
				MaxCalls: 1,
				Handler:  GraphHandler(sessGraph(t, "tone 440 dur=200ms")),
				Metrics:  NewMetrics(),
			}
			url, stop := srvTest(t, srv)
			for i := range 2 { // MaxCalls 1: the second is refused if the first kept its place
				p := srvDial(t, url, replyAtOnce)
				srvCallGone(t, srv, p, i)
				if at == "call closed" && !p.snapshot().appBye {
					t.Errorf("call %d: it did not play to its end: %q", i+1, p.snapshot().msgs)
				}
			}
			checkPanicsCounted(t, srv.Metrics, panicServer, 2)
			srvStopsPromptly(t, stop)
		})
	}
}

// A panic while a shared rendering's play begins ends the play: the
// rendering is not held (a zero limit frees it) and the session is free
// for the next Play, which plays.
func TestSharedRenderingPanicReleases(t *testing.T) {
	cache := NewRenderCache(64 << 20)
	log, _ := sessTestLogger()
	s, _, _ := sessCall(t, Config{
		Format: ULaw, RenderCache: cache,
		Logger: slog.New(panicLogger{log.Handler(), "playing a shared rendering"}),
	}, nil)
	g := sessGraph(t, "tone 440 dur=300ms")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the logger did not panic")
			}
		}()
		s.PlayGraph(context.Background(), g)
	}()
	if n := cache.Stats().Renderings; n != 1 {
		t.Fatalf("%d renderings after the first play, want 1", n)
	}
	cache.SetLimit(0)
	if n := cache.Stats().Renderings; n != 0 {
		t.Errorf("the rendering is still held after the panic: %d renderings at a zero limit", n)
	}
	// Sharing off now: the next Play renders privately, and may begin.
	if err := s.PlayGraph(context.Background(), g); errors.Is(err, ErrBusy) || err != nil {
		t.Errorf("a Play after the panic: %v", err)
	}
}

// A shared rendering whose play cannot begin (the call is over) is let
// go at once: a zero limit frees it.
func TestSharedRenderingReleasedWhenNotPlayed(t *testing.T) {
	cache := NewRenderCache(64 << 20)
	s, _, _ := sessCall(t, Config{Format: ULaw, RenderCache: cache}, nil)
	s.Hangup()
	if err := s.PlayGraph(context.Background(), sessGraph(t, "tone 440 dur=300ms")); !errors.Is(err, ErrCallOver) {
		t.Fatalf("a Play after the hangup: %v, want ErrCallOver", err)
	}
	if n := cache.Stats().Renderings; n != 1 {
		t.Fatalf("%d renderings, want the one acquired", n)
	}
	cache.SetLimit(0)
	if n := cache.Stats().Renderings; n != 0 {
		t.Errorf("a rendering never played is still held: %d at a zero limit", n)
	}
}

// A panic in a goroutine of a call's session — not the handler's, which
// the server contains itself — ends that call alone: the connection is
// dropped, the panic logged with the goroutine it was in, the call's
// place given back, and the next call is served. Unrecovered, each of
// these panics would end the test's process. The panics come from a
// Logger that fails at a line each goroutine logs.
func TestServerSessionGoroutinePanic(t *testing.T) {
	menu := &ivr{bargeIn: true, options: map[byte]*menuOption{'1': {param: "on-1", hangup: true}}}
	cases := []struct {
		goroutine string
		logAt     string
		cfg       Config
		handler   Handler
		send      string // what the API sends after its hello
	}{{
		goroutine: "reader",
		logAt:     "malformed message from the API, ignored",
		cfg:       Config{Format: ULaw},
		handler:   GraphHandler(sessGraph(t, "tone 440")),
		send:      `{"t":"audio","data":`,
	}, {
		goroutine: "listener",
		logAt:     "malformed message from the API, ignored",
		cfg:       Config{Format: ULaw, ListenFormat: PCM16000, DTMF: true},
		handler:   GraphHandler(sessGraph(t, "tone 440")),
		send:      `{"t":"audio","data":"AAAA"}`, // 3 bytes: not whole 16-bit samples
	}, {
		goroutine: "menu's player",
		logAt:     "playing a shared rendering",
		cfg:       Config{Format: ULaw, DTMF: true, RenderCache: NewRenderCache(16 << 20)},
		handler:   menu.handler(sessGraph(t, "tone 440 dur=300ms"), false),
	}}
	for _, c := range cases {
		t.Run(c.goroutine, func(t *testing.T) {
			log, logs := sessTestLogger()
			c.cfg.Logger = slog.New(panicLogger{log.Handler(), c.logAt})
			srv := &Server{Logger: log, Config: c.cfg, MaxCalls: 1, Handler: c.handler, Metrics: NewMetrics()}
			url, stop := srvTest(t, srv)
			for i := range 2 { // MaxCalls 1: the second is refused if the first kept its place
				p := srvDial(t, url, replyNever)
				if c.send != "" {
					p.send(c.send)
				}
				srvCallGone(t, srv, p, i)
				if r := p.snapshot(); r.appBye {
					t.Errorf("call %d: the application said bye: the call should have been dropped", i+1)
				}
			}
			name := c.goroutine
			if strings.ContainsAny(name, " '") {
				name = strconv.Quote(name)
			}
			want := `msg="a call's goroutine panicked: the call is dropped, the server goes on" ` +
				`callid=c13d1e772 from=+46701234567 to=+46766861234 goroutine=` + name + ` panic="the logger failed at `
			if n := strings.Count(logs.String(), want); n != 2 {
				t.Errorf("%d log lines with %s, want 2; log:\n%s", n, want, logs.String())
			}
			ended := `msg="call ended" callid=c13d1e772 from=+46701234567 to=+46766861234 by=closed reason="" ` +
				`message="the session's ` + c.goroutine + ` panicked: the logger failed at ` + c.logAt + `"`
			if n := strings.Count(logs.String(), ended); n != 2 {
				t.Errorf("%d calls ended by the panic, want 2: no line %s; log:\n%s", n, ended, logs.String())
			}
			checkPanicsCounted(t, srv.Metrics, panicSession, 2)
			srvStopsPromptly(t, stop)
		})
	}
}

// A panic as a connection's wait for its hello ends (the Logger fails at
// the end of a connection that never said hello) gives back its place
// among the connections waiting: none is left waiting, and the server
// stops at once.
func TestServerPanicBeforeHello(t *testing.T) {
	log, _ := sessTestLogger()
	srv := &Server{
		Logger:  slog.New(panicLogger{log.Handler(), "call ended"}),
		Config:  Config{HelloTimeout: 50 * time.Millisecond},
		Handler: GraphHandler(sessGraph(t, "tone 440 dur=200ms")),
	}
	url, stop := srvTest(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil) // and no hello
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("the silent connection was not closed")
	}
	srvWait(t, "no connection waiting for its hello", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.waiting == 0
	})
	srvStopsPromptly(t, stop)
}

// srvStopsPromptly stops a server with no call going on, and fails the
// test if it waits (for a call or a connection that is gone).
func srvStopsPromptly(t *testing.T, stop func() error) {
	t.Helper()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop: it waits for a call or a connection that is gone")
	}
}

// A panic as a call ends — the recording's close logging, in the
// listener's defers; a Hangup's end logging while the API does not
// answer its bye — ends that call alone too: the call's place is given
// back and the next call is served, and a Hangup that panicked does not
// leave the server's own Hangup of the call waiting for good.
func TestServerPanicAtCallEnd(t *testing.T) {
	cases := []struct {
		name, logAt, want string
		where             string // of elkspipe_panics_total
		cfg               Config
		handler           Handler
	}{{
		name:    "recording",
		logAt:   "recording saved",
		want:    `goroutine=listener panic="the logger failed at recording saved"`,
		where:   panicSession,
		cfg:     Config{Format: ULaw, Record: t.TempDir() + "/{callid}-{time}.wav", ByeTimeout: 50 * time.Millisecond},
		handler: GraphHandler(sessGraph(t, "tone 440 dur=300ms")),
	}, {
		name:    "hangup",
		logAt:   "call ended",
		want:    `msg="the call's handler panicked"`,
		where:   panicHandler,
		cfg:     Config{Format: ULaw, ByeTimeout: 50 * time.Millisecond},
		handler: func(ctx context.Context, s *Session) error { return s.Hangup() },
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log, logs := sessTestLogger()
			c.cfg.Logger = slog.New(panicLogger{log.Handler(), c.logAt})
			srv := &Server{Logger: log, Config: c.cfg, MaxCalls: 1, Handler: c.handler, Metrics: NewMetrics()}
			url, stop := srvTest(t, srv)
			for i := range 2 { // MaxCalls 1: the second is refused if the first kept its place
				p := srvDialPeer(t, url, func(p *wirePeer) { p.byeIgnore = true })
				srvCallGone(t, srv, p, i)
			}
			if n := strings.Count(logs.String(), c.want); n != 2 {
				t.Errorf("%d log lines with %s, want 2; log:\n%s", n, c.want, logs.String())
			}
			checkPanicsCounted(t, srv.Metrics, c.where, 2)
			srvStopsPromptly(t, stop)
		})
	}
}

// srvCallGone waits for the connection of call i (from 0) to end, and
// for srv to hold neither its place nor its session.
func srvCallGone(t *testing.T, srv *Server, p *wirePeer, i int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("call %d: the connection did not end", i+1)
	}
	srvWait(t, fmt.Sprintf("call %d's place and session to be given back", i+1), func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.active == 0 && len(srv.sessions) == 0
	})
}

// checkPanicsCounted checks elkspipe_panics_total on m's /metrics: n
// panics where, none elsewhere.
func checkPanicsCounted(t *testing.T, m *Metrics, where string, n float64) {
	t.Helper()
	hs := httptest.NewServer(m.Handler())
	defer hs.Close()
	sc, err := promtest.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{panicHandler, panicSession, panicServer} {
		want := 0.0
		if w == where {
			want = n
		}
		if got, ok := sc.Value("elkspipe_panics_total", "where", w); !ok || got != want {
			t.Errorf("elkspipe_panics_total{where=%q} = %v (present %v), want %v", w, got, ok, want)
		}
	}
}

// panicWrites is a Transport whose WriteMessage panics at the first
// audio message: a defect in the writing of a call's messages.
type panicWrites struct{ Transport }

func (t panicWrites) WriteMessage(ctx context.Context, msg []byte) error {
	if strings.HasPrefix(string(msg), `{"t":"audio"`) {
		panic("the transport failed")
	}
	return t.Transport.WriteMessage(ctx, msg)
}

// A panic in the session's writer, the goroutine that sends every
// message of a call, ends the call as closed, naming it; the Play going
// on returns, Close does not wait for the writer, and no goroutine is
// left behind.
func TestSessionWriterPanic(t *testing.T) {
	sessLeakCheck(t)
	app, api := Pipe()
	p := newWirePeer(api)
	p.start(Hello{CallID: "c1", From: "+46700000001", To: "+46700000002"})
	log, logs := sessTestLogger()
	m := NewMetrics()
	s, err := StartSession(context.Background(), panicWrites{app}, Config{Format: ULaw, Logger: log, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	played := make(chan error, 1)
	go func() { played <- s.PlayGraph(context.Background(), sessGraph(t, "tone 440 dur=1s")) }()
	select {
	case err := <-played:
		if !errors.Is(err, ErrCallOver) {
			t.Errorf("Play: %v, want the call over", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Play did not return after the writer panicked")
	}
	want := End{By: ByClose, Message: "the session's writer panicked: the transport failed"}
	if e := s.End(); e != want {
		t.Errorf("End %+v, want %+v", e, want)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits after the writer panicked")
	}
	if !strings.Contains(logs.String(), `goroutine=writer panic="the transport failed" stack="goroutine`) {
		t.Errorf("the panic is not logged with its stack:\n%s", logs.String())
	}
	checkPanicsCounted(t, m, panicSession, 1)
}
