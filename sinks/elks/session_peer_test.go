package elks

import (
	"bytes"
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
	"github.com/elkspipe/elkspipe/pipeline"
)

// sessPeer is a minimal 46elks for tests: it sends hello, plays the audio
// it receives on a clock (the fake clock of a synctest bubble, or real time
// sped up by speed), answers every sync once the audio before it has
// played (plus rtt), obeys interrupt and sending, and records what it saw.
type sessPeer struct {
	t         Transport
	rtt       time.Duration
	speed     float64       // audio plays this many times faster than real time; 0 means 1
	dropStale bool          // on interrupt, never answer the pending syncs (else answer them at once)
	byeAnswer bool          // answer the application's bye with a bye of its own
	byeDelay  time.Duration // how long the answer to the bye takes
	passRate  float64       // bytes per second of passthrough audio (wav, mp3)

	mu         sync.Mutex
	msgs       []string // every message received, in order
	sendFmt    Format
	dec        Decoder
	sendingOK  bool
	heard      []float32 // decoded audio (PCM and G.711 formats)
	scratch    []float32
	files      [][]byte  // passthrough: the bytes after each sending
	bufEnd     time.Time // when the audio buffered so far will have played
	started    bool
	gaps       int
	gapTime    time.Duration
	maxBuf     time.Duration   // most audio buffered at once
	played     time.Duration   // audio received (in audio time)
	syncAt     []time.Duration // audio received when each sync came
	fileAtSync []int           // passthrough: bytes of the current file when each sync came
	replies    int
	violations []string
	appBye     bool
	byeLate    time.Duration // audio still unplayed when the application said bye
	q          []time.Time   // replies due
	wake       chan struct{}
	done       chan struct{}
}

func newSessPeer(t Transport) *sessPeer {
	return &sessPeer{t: t, wake: make(chan struct{}, 1), done: make(chan struct{}), speed: 1}
}

// start sends hello and runs the peer until the connection ends.
func (p *sessPeer) start(h Hello) {
	b, _ := Marshal(h)
	p.t.WriteMessage(context.Background(), b)
	go p.replier()
	go p.run()
}

func (p *sessPeer) audioDur(n int, rate float64) time.Duration {
	return time.Duration(float64(n) / rate * float64(time.Second))
}

func (p *sessPeer) real(d time.Duration) time.Duration { return time.Duration(float64(d) / p.speed) }

func (p *sessPeer) run() {
	defer close(p.done)
	for {
		b, err := p.t.ReadMessage(context.Background())
		if errors.Is(err, ErrMalformed) {
			continue
		}
		if err != nil {
			return
		}
		now := time.Now()
		m, err := Unmarshal(b)
		p.mu.Lock()
		p.msgs = append(p.msgs, string(b))
		if err != nil {
			p.violations = append(p.violations, "malformed: "+err.Error())
			p.mu.Unlock()
			continue
		}
		switch m := m.(type) {
		case Sending:
			info, err := m.Format.Info()
			if err != nil || !info.Send {
				p.violations = append(p.violations, "bad sending format "+string(m.Format))
				break
			}
			p.sendFmt, p.sendingOK = m.Format, true
			if info.File {
				p.files = append(p.files, nil)
			} else {
				p.dec, _ = NewDecoder(m.Format)
			}
		case Audio:
			if !p.sendingOK {
				p.violations = append(p.violations, "audio before sending")
				break
			}
			info, _ := p.sendFmt.Info()
			var d time.Duration
			if info.File {
				p.files[len(p.files)-1] = append(p.files[len(p.files)-1], m.Data...)
				d = p.audioDur(len(m.Data), p.passRate)
			} else {
				// Decode grows its dst to the exact size: decode apart,
				// then append (amortized).
				p.scratch, err = p.dec.Decode(p.scratch[:0], m.Data)
				if err != nil {
					p.violations = append(p.violations, "undecodable audio: "+err.Error())
				}
				p.heard = append(p.heard, p.scratch...)
				d = p.audioDur(len(p.scratch), float64(info.Rate))
			}
			if p.started && now.After(p.bufEnd) {
				p.gaps++
				p.gapTime += now.Sub(p.bufEnd)
			}
			if !p.started || now.After(p.bufEnd) {
				p.bufEnd = now
			}
			p.started = true
			p.bufEnd = p.bufEnd.Add(p.real(d))
			p.played += d
			p.maxBuf = max(p.maxBuf, time.Duration(float64(p.bufEnd.Sub(now))*p.speed))
		case Sync:
			p.syncAt = append(p.syncAt, p.played)
			if len(p.files) > 0 {
				p.fileAtSync = append(p.fileAtSync, len(p.files[len(p.files)-1]))
			}
			at := now
			if p.bufEnd.After(at) {
				at = p.bufEnd
			}
			p.q = append(p.q, at.Add(p.rtt))
			p.poke()
		case Interrupt:
			if p.dropStale {
				p.q = p.q[:0]
			} else {
				for i := range p.q {
					p.q[i] = now.Add(p.rtt)
				}
			}
			p.sendingOK, p.started = false, false
			p.bufEnd = now
			p.poke()
		case Listening:
		case Bye:
			p.appBye = true
			if p.bufEnd.After(now) {
				p.byeLate = p.bufEnd.Sub(now)
			}
			p.mu.Unlock()
			if p.byeAnswer {
				time.Sleep(p.byeDelay)
				b, _ := Marshal(Bye{Reason: ReasonDone, Message: "the application hung up"})
				p.t.WriteMessage(context.Background(), b)
			}
			p.t.Close()
			continue
		default:
			p.violations = append(p.violations, "unexpected "+m.Type())
		}
		p.mu.Unlock()
	}
}

func (p *sessPeer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// replier sends the sync replies, first in first out, when they are due.
func (p *sessPeer) replier() {
	for {
		p.mu.Lock()
		if len(p.q) == 0 {
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		wait := time.Until(p.q[0])
		if wait > 0 {
			p.mu.Unlock()
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-p.wake:
			case <-p.done:
				timer.Stop()
				return
			}
			timer.Stop()
			continue
		}
		p.q = p.q[1:]
		p.replies++
		p.mu.Unlock()
		p.t.WriteMessage(context.Background(), sessMsgSync)
	}
}

// hangup ends the call as the API does when the caller hangs up.
func (p *sessPeer) hangup() {
	b, _ := Marshal(Bye{Reason: ReasonHangup, Message: "the caller hung up"})
	p.t.WriteMessage(context.Background(), b)
	p.t.Close()
}

func (p *sessPeer) send(s string) { p.t.WriteMessage(context.Background(), []byte(s)) }

func (p *sessPeer) snapshot() *sessPeer {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &sessPeer{
		msgs: append([]string(nil), p.msgs...), heard: append([]float32(nil), p.heard...),
		gaps: p.gaps, gapTime: p.gapTime, maxBuf: p.maxBuf, played: p.played,
		syncAt: append([]time.Duration(nil), p.syncAt...), fileAtSync: append([]int(nil), p.fileAtSync...),
		replies: p.replies, violations: append([]string(nil), p.violations...),
		appBye: p.appBye, byeLate: p.byeLate,
	}
	for _, f := range p.files {
		c.files = append(c.files, bytes.Clone(f))
	}
	return c
}

// types lists the message types, audio runs shortened to "audio*N".
func (p *sessPeer) types() []string {
	var out []string
	for _, m := range p.msgs {
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

// sessTestLogger returns a logger that writes to a buffer the test can read.
type sessLogBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *sessLogBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *sessLogBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sessTestLogger() (*slog.Logger, *sessLogBuf) {
	buf := &sessLogBuf{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// sessCall starts a session over an in-memory pipe with a peer.
func sessCall(t *testing.T, cfg Config, setup func(p *sessPeer)) (*Session, *sessPeer, *sessLogBuf) {
	t.Helper()
	return sessCallHooks(t, cfg, sessHooks{}, setup)
}

// sessCallHooks is sessCall with test hooks in the session.
func sessCallHooks(t *testing.T, cfg Config, hooks sessHooks, setup func(p *sessPeer)) (*Session, *sessPeer, *sessLogBuf) {
	t.Helper()
	app, api := Pipe()
	p := newSessPeer(api)
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
	return s, p, buf
}

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
