package elks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
)

// wirePeer is the API's end of a Transport, scripted for the tests that
// need the session's internals or wire-level sequences the simulator
// never plays (malformed JSON, a late bye, a drop without bye). It sends
// hello, logs every message the session sends, answers the syncs as its
// replies mode says and a bye when told to, and sends what the test gives
// it. It has no clock and plays no audio: the tests of pacing run the
// session against elkstest, the simulator of the API
// (session_sim_test.go).
type wirePeer struct {
	t         Transport
	replies   replyMode     // when syncs are answered
	byeAnswer bool          // answer the application's bye with a bye of its own
	byeIgnore bool          // neither answer the application's bye nor close: an API gone silent
	byeDelay  time.Duration // how long the answer to the bye takes

	mu          sync.Mutex
	msgs        []string // every message received, in order
	appBye      bool
	interrupted bool
	done        chan struct{} // closed when the connection has ended
}

// replyMode says when a wirePeer answers syncs.
type replyMode int

const (
	// replyAtOnce answers each sync as soon as it is read.
	replyAtOnce replyMode = iota
	// replyNever answers none: the session fills its window and waits,
	// as it does while the API plays what it sent. Use it with endless
	// sources, which would otherwise play without end in no time.
	replyNever
	// replyAfterInterrupt answers none of the syncs before the first
	// interrupt, ever, and those after it at once: an API that drops the
	// syncs voided by an interrupt.
	replyAfterInterrupt
)

// newWirePeer returns a peer on t that answers syncs at once.
func newWirePeer(t Transport) *wirePeer {
	return &wirePeer{t: t, done: make(chan struct{})}
}

// start sends hello and runs the peer until the connection ends.
func (p *wirePeer) start(h Hello) {
	b, _ := Marshal(h)
	p.t.WriteMessage(context.Background(), b)
	go p.run()
}

// run logs the session's messages and answers its syncs and bye.
func (p *wirePeer) run() {
	defer close(p.done)
	for {
		b, err := p.t.ReadMessage(context.Background())
		if errors.Is(err, ErrMalformed) {
			continue
		}
		if err != nil {
			return
		}
		m, _ := Unmarshal(b)
		p.mu.Lock()
		p.msgs = append(p.msgs, string(b))
		answer := false
		switch m.(type) {
		case Sync:
			answer = p.replies == replyAtOnce || p.replies == replyAfterInterrupt && p.interrupted
		case Interrupt:
			p.interrupted = true
		case Bye:
			p.appBye = true
		}
		p.mu.Unlock()
		switch m.(type) {
		case Sync:
			if answer {
				p.t.WriteMessage(context.Background(), msgSync)
			}
		case Bye:
			if p.byeIgnore {
				continue
			}
			if p.byeAnswer {
				time.Sleep(p.byeDelay)
				b, _ := Marshal(Bye{Reason: ReasonDone, Message: "the application hung up"})
				p.t.WriteMessage(context.Background(), b)
			}
			p.t.Close()
		}
	}
}

// hangup ends the call as the API does when the caller hangs up.
func (p *wirePeer) hangup() {
	b, _ := Marshal(Bye{Reason: ReasonHangup, Message: "the caller hung up"})
	p.t.WriteMessage(context.Background(), b)
	p.t.Close()
}

// send sends s as it is, JSON or not.
func (p *wirePeer) send(s string) { p.t.WriteMessage(context.Background(), []byte(s)) }

// snapshot returns what the peer has received so far.
func (p *wirePeer) snapshot() wireLog {
	p.mu.Lock()
	defer p.mu.Unlock()
	return wireLog{msgs: append([]string(nil), p.msgs...), appBye: p.appBye}
}

// wireLog is what a wirePeer received.
type wireLog struct {
	msgs   []string
	appBye bool // the application said bye
}

// types lists the message types, audio runs shortened to "audio*N".
func (l wireLog) types() []string {
	var out []string
	for _, m := range l.msgs {
		msg, _ := Unmarshal([]byte(m))
		typ := "?"
		if msg != nil {
			typ = msg.Type()
		}
		if typ == TypeAudio && len(out) > 0 && strings.HasPrefix(out[len(out)-1], "audio") {
			var n int
			fmt.Sscanf(out[len(out)-1], "audio*%d", &n)
			out[len(out)-1] = fmt.Sprintf("audio*%d", max(n, 1)+1)
			continue
		}
		out = append(out, typ)
	}
	return out
}

// files returns the bytes of audio after each sending (the files of a
// passthrough format, one per sending).
func (l wireLog) files() [][]byte {
	var files [][]byte
	for _, m := range l.msgs {
		switch msg, _ := Unmarshal([]byte(m)); msg := msg.(type) {
		case Sending:
			files = append(files, []byte{})
		case Audio:
			if len(files) > 0 {
				files[len(files)-1] = append(files[len(files)-1], msg.Data...)
			}
		}
	}
	return files
}

// heard decodes the audio messages, sent in format f (PCM or G.711).
func (l wireLog) heard(t testing.TB, f Format) []float32 {
	t.Helper()
	dec, err := NewDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, m := range l.msgs {
		if a, ok := mustMessage(m).(Audio); ok {
			if out, err = dec.Decode(out, a.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// mustMessage decodes a message the session sent; nil if it is not one.
func mustMessage(m string) Message {
	msg, _ := Unmarshal([]byte(m))
	return msg
}

// sessLogBuf is a buffer of log lines that the test can read.
type sessLogBuf = testlog.Buffer

// sessTestLogger returns a logger that writes to a buffer the test can read.
func sessTestLogger() (*slog.Logger, *sessLogBuf) {
	buf := &sessLogBuf{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// sessCall starts a session over an in-memory pipe with a scripted peer.
func sessCall(t *testing.T, cfg Config, setup func(p *wirePeer)) (*Session, *wirePeer, *sessLogBuf) {
	t.Helper()
	return sessCallHooks(t, cfg, testHooks{}, setup)
}

// sessCallHooks is sessCall with test hooks in the session.
func sessCallHooks(t *testing.T, cfg Config, hooks testHooks, setup func(p *wirePeer)) (*Session, *wirePeer, *sessLogBuf) {
	t.Helper()
	app, api := Pipe()
	p := newWirePeer(api)
	if setup != nil {
		setup(p)
	}
	log, buf := sessTestLogger()
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	p.start(Hello{CallID: "c1", From: "+46700000001", To: "+46700000002"})
	s, err := startSession(context.Background(), app, cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	// A test that stops early leaves no goroutine behind in its bubble.
	t.Cleanup(func() { s.Close() })
	return s, p, buf
}

// sessGraph builds the pipeline of a chain in pipe syntax.
func sessGraph(t testing.TB, text string) *pipeline.Graph {
	t.Helper()
	spec, err := pipeline.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sessExpect reads the pipeline's audio as the peer should hear it: the
// graph converted to rate, mono, then through the format's codec.
func sessExpect(t testing.TB, g *pipeline.Graph, f Format) []float32 {
	t.Helper()
	info, _ := f.Info()
	src, _, err := g.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	conv, _, err := pipeline.Convert(src, pipeline.Format{Rate: info.Rate, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := audiotest.MustReadAll(t, conv)
	enc, _ := NewEncoder(f)
	dec, _ := NewDecoder(f)
	out, err := dec.Decode(nil, enc.Encode(nil, x))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sessSameAudio fails the test unless got and want are the same samples.
func sessSameAudio(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("heard %d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: heard %v, want %v", i, got[i], want[i])
		}
	}
}

// sessLeakCheck fails the test if goroutines started during it outlive it.
func sessLeakCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left over:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}
