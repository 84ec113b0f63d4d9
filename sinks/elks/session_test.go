package elks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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

// A looped pipeline: what the caller hears is exactly the pipeline's
// audio; a sync goes out at every iteration end and at least every
// checkpoint; the API never buffers more than window + checkpoint; the
// call ends with a final sync, its answer, then bye.
func TestSessionWindowAndCheckpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 300 * time.Millisecond
		cfg := Config{Format: PCM16000, Window: 2 * time.Second, Checkpoint: 500 * time.Millisecond}
		s, p, logs := sessCall(t, cfg, func(p *sessPeer) { p.rtt = rtt })
		g := sessGraph(t, "tone 440 dur=1.33s rate=16k | loop 6")
		defer func() {
			// The stream's events are in the call's log, at debug level.
			if l := logs.String(); !strings.Contains(l, `msg="stream event"`) || !strings.Contains(l, `event="loop: iteration ended #6"`) {
				t.Errorf("no stream events in the log:\n%s", l)
			}
		}()
		start := time.Now()
		srvRunCall(context.Background(), s, GraphHandler(g), false)
		elapsed := time.Since(start)
		<-p.done
		r := p.snapshot()

		sessSameAudio(t, r.heard, sessExpect(t, g, PCM16000))
		total := 6 * 1330 * time.Millisecond
		if r.gaps != 0 {
			t.Errorf("%d gaps (%v) at rtt %v", r.gaps, r.gapTime, rtt)
		}
		if lim := cfg.Window + cfg.Checkpoint; r.maxBuf > lim {
			t.Errorf("API buffered %v, more than window+checkpoint %v", r.maxBuf, lim)
		}
		if r.maxBuf < cfg.Window {
			t.Errorf("API buffered at most %v: the window of %v was not used", r.maxBuf, cfg.Window)
		}
		// Checkpoints: at every iteration end, and never more than
		// checkpoint of audio apart.
		at := map[time.Duration]bool{}
		prev := time.Duration(0)
		for _, d := range r.syncAt {
			at[d.Round(time.Millisecond)] = true
			if d-prev > cfg.Checkpoint+time.Millisecond {
				t.Errorf("%v of audio between syncs at %v and %v", d-prev, prev, d)
			}
			prev = d
		}
		for i := 1; i <= 6; i++ {
			if b := time.Duration(i) * 1330 * time.Millisecond; !at[b] {
				t.Errorf("no sync at the end of iteration %d (%v); syncs at %v", i, b, r.syncAt)
			}
		}
		// The end: final sync answered after the audio played, then bye.
		if !r.appBye || r.byeLate > 0 {
			t.Errorf("bye: sent %v, %v of audio still unplayed", r.appBye, r.byeLate)
		}
		types := r.types()
		if n := len(types); n < 3 || types[n-1] != "bye" || types[n-2] != "sync" {
			t.Errorf("the call does not end with sync, bye: %v", types[max(0, n-4):])
		}
		if r.replies != len(r.syncAt) {
			t.Errorf("%d syncs, %d replies before bye", len(r.syncAt), r.replies)
		}
		// Bye came right after the last audio played plus the round trip.
		if want := total + rtt; elapsed < want || elapsed > want+10*time.Millisecond {
			t.Errorf("call took %v, want %v (audio + one round trip)", elapsed, want)
		}
		st := s.Stats()
		if st.MaxInFlight > cfg.Window+cfg.Checkpoint || st.Syncs != len(r.syncAt) || st.SyncReplies != st.Syncs {
			t.Errorf("stats %+v", st)
		}
		if end := s.End(); end.By != ByApp {
			t.Errorf("end %+v", end)
		}
		if len(r.violations) > 0 {
			t.Errorf("violations: %v", r.violations)
		}
	})
}

// No gap while the window exceeds the round trip; gaps when it does not
// (which shows the measurement works).
func TestSessionNoGapAtRoundTrips(t *testing.T) {
	for _, c := range []struct {
		rtt      time.Duration
		wantGaps bool
	}{
		{0, false}, {100 * time.Millisecond, false}, {700 * time.Millisecond, false},
		{1500 * time.Millisecond, false}, {1900 * time.Millisecond, false}, {2600 * time.Millisecond, true},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{Format: ULaw} // defaults: window 2s, checkpoint 500ms, chunk 100ms
				s, p, _ := sessCall(t, cfg, func(p *sessPeer) { p.rtt = c.rtt })
				g := sessGraph(t, "tone 440 dur=2.7s rate=8k | loop 8")
				srvRunCall(context.Background(), s, GraphHandler(g), false)
				<-p.done
				r := p.snapshot()
				if got := len(r.heard); got != 8*2.7*8000 {
					t.Errorf("heard %d samples", got)
				}
				if (r.gaps > 0) != c.wantGaps {
					t.Errorf("rtt %v: %d gaps (%v), want gaps: %v", c.rtt, r.gaps, r.gapTime, c.wantGaps)
				}
				if r.maxBuf > 2500*time.Millisecond {
					t.Errorf("buffered %v", r.maxBuf)
				}
			})
		})
	}
}

// The API's bye mid-call stops Play at once and the pipeline is closed.
func TestSessionAPIByeStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{}, nil)
		src := &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}, Value: 0.25}
		g := &pipeline.Graph{Sources: []pipeline.Stage{{Name: "endless", Open: func(context.Context) (pipeline.Source, error) { return src, nil }}}}
		done := make(chan struct{})
		go func() {
			srvRunCall(context.Background(), s, GraphHandler(g), false)
			close(done)
		}()
		time.Sleep(3 * time.Second)
		byeAt := time.Now()
		p.hangup()
		<-done
		if d := time.Since(byeAt); d != 0 || !src.Closed() {
			t.Errorf("stopped after %v (virtual), source closed: %v", d, src.Closed())
		}
		if e := s.End(); e.By != ByAPI || e.Reason != ReasonHangup || e.Message != "the caller hung up" {
			t.Errorf("end %+v", e)
		}
		if !errors.Is(context.Cause(s.Context()), ErrCallOver) {
			t.Errorf("call context: %v", context.Cause(s.Context()))
		}
		if err := s.Play(context.Background(), src); !errors.Is(err, ErrCallOver) {
			t.Errorf("Play after the end: %v", err)
		}
		l := logs.String()
		if !strings.Contains(l, `msg="call ended" callid=c1 from=+46700000001 to=+46700000002 by=api reason=hangup message="the caller hung up"`) {
			t.Errorf("logs:\n%s", l)
		}
		r := p.snapshot()
		if r.appBye {
			t.Error("the application said bye after the API's bye")
		}
	})
}

// A connection that closes without bye is a hangup.
func TestSessionDropIsHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{}, nil)
		src := &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}
		errc := make(chan error, 1)
		go func() { errc <- s.Play(context.Background(), src) }()
		time.Sleep(time.Second)
		p.t.Close()
		if err := <-errc; !errors.Is(err, ErrCallOver) {
			t.Errorf("Play: %v", err)
		}
		if e := s.End(); e.By != ByDrop || e.Reason != ReasonHangup {
			t.Errorf("end %+v", e)
		}
		s.Close()
	})
}

// Malformed JSON and unknown types are logged, counted and survived.
func TestSessionSurvivesMalformed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: PCM8000}, nil)
		for _, m := range []string{`not json`, `{"t":5}`, `{"t":"audio","data":"!!!"}`, `{"t":"dtmf","digit":"5"}`,
			`{"t":"sending","format":"ulaw"}`, `{"t":"hello","callid":"again"}`, `{"t":"sync","extra":1}`} {
			p.send(m)
		}
		for i := 0; i < 20; i++ {
			p.send(`{"t":`)
		}
		synctest.Wait() // all read before the audio starts (the stray sync has no checkpoint)
		g := sessGraph(t, "tone 440 dur=3s rate=8k")
		srvRunCall(context.Background(), s, GraphHandler(g), false)
		<-p.done
		st := s.Stats()
		if st.Malformed != 23 || st.Unknown != 3 || st.UnexpectedReplies != 1 {
			t.Errorf("stats %+v", st)
		}
		r := p.snapshot()
		sessSameAudio(t, r.heard, sessExpect(t, g, PCM8000))
		if e := s.End(); e.By != ByApp {
			t.Errorf("end %+v", e)
		}
		if n := strings.Count(logs.String(), "malformed message"); n < 5 || n > 10 {
			t.Errorf("%d malformed lines logged (want rate-limited)", n)
		}
	})
}

// Interrupt: Play stops, the API is told, pending checkpoints are void,
// a new sending precedes the next audio, replies to the voided checkpoints
// are discarded however late they come (never taken for ours, which could
// cut the end of a prompt). If the API drops the voided syncs instead, the
// replies it discarded were ours: the session finds out from a stall (one
// gap of window + checkpoint + 2s) and recovers.
func TestSessionInterrupt(t *testing.T) {
	for _, c := range []struct {
		name      string
		drop      bool
		rtt       time.Duration
		speed     float64
		allStale  bool // every voided checkpoint's reply is discarded
		gaps      int
		maxBuffer time.Duration
	}{
		{"answered", false, 400 * time.Millisecond, 1, true, 0, 2500 * time.Millisecond},
		{"answered-late", false, 1500 * time.Millisecond, 1, true, 0, 2500 * time.Millisecond},
		{"dropped", true, 400 * time.Millisecond, 1, true, 1, 2500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, p, logs := sessCall(t, Config{Format: PCM8000}, func(p *sessPeer) { p.rtt, p.dropStale, p.speed = c.rtt, c.drop, c.speed })
				src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0.5}
				errc := make(chan error, 1)
				go func() { errc <- s.Play(context.Background(), src) }()
				time.Sleep(3 * time.Second)
				before := s.Stats()
				if err := s.Interrupt(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; !errors.Is(err, ErrInterrupted) {
					t.Fatalf("Play: %v", err)
				}
				pendingAt := before.Syncs - before.SyncReplies
				if pendingAt == 0 {
					t.Fatal("no sync pending at the interrupt: the test proves nothing")
				}
				// The next prompt: 6 s, played in full, then the call ends.
				g := sessGraph(t, "tone 1k dur=6s rate=8k")
				srvRunCall(context.Background(), s, GraphHandler(g), false)
				<-p.done
				r := p.snapshot()
				at := slices.Index(r.msgs, string(sessMsgInterrupt))
				if at < 0 {
					t.Fatal("no interrupt message")
				}
				types := (&sessPeer{msgs: r.msgs[at:]}).types()
				if types[0] != "interrupt" || types[1] != "sending" || !strings.HasPrefix(types[2], "audio") {
					t.Errorf("after the interrupt: %v", types[:3])
				}
				want := sessExpect(t, g, PCM8000)
				if tail := r.heard[len(r.heard)-len(want):]; !slicesEqual(tail, want) {
					t.Error("the prompt after the interrupt was not heard in full")
				}
				if c.gaps > 0 && r.gapTime > 5*time.Second {
					t.Errorf("stalled for %v", r.gapTime)
				}
				if len(r.violations) > 0 || r.gaps != c.gaps || r.maxBuf > c.maxBuffer {
					t.Errorf("violations %v, gaps %d (%v), buffered up to %v", r.violations, r.gaps, r.gapTime, r.maxBuf)
				}
				st := s.Stats()
				if c.allStale != (st.StaleReplies == pendingAt) {
					t.Errorf("%d stale replies, %d syncs were pending", st.StaleReplies, pendingAt)
				}
				if c.gaps > 0 && !strings.Contains(logs.String(), "crediting its replies") {
					t.Error("the stall was not logged")
				}
				if r.byeLate > 0 || !r.appBye {
					t.Errorf("bye with %v unplayed", r.byeLate)
				}
			})
		})
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hangup=false: the call stays open, silent, until the caller hangs up.
func TestSessionKeepOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{}, nil)
		done := make(chan struct{})
		go func() {
			srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "tone 440 dur=1s")), true)
			close(done)
		}()
		time.Sleep(time.Minute)
		select {
		case <-done:
			t.Fatal("the call ended by itself")
		default:
		}
		n := len(p.snapshot().msgs)
		p.hangup()
		<-done
		r := p.snapshot()
		if r.appBye || len(r.msgs) != n {
			t.Errorf("messages after the audio ended: %v", r.msgs[n-1:])
		}
		if e := s.End(); e.By != ByAPI {
			t.Errorf("end %+v", e)
		}
	})
}

// Hangup from the library: bye goes out, the API's bye is awaited.
func TestSessionHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{}, func(p *sessPeer) { p.byeAnswer = true })
		src := &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}
		errc := make(chan error, 1)
		go func() { errc <- s.Play(context.Background(), src) }()
		time.Sleep(time.Second)
		start := time.Now()
		if err := s.Hangup(); err != nil {
			t.Error(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Hangup took %v with a prompt peer", time.Since(start))
		}
		if err := <-errc; !errors.Is(err, ErrCallOver) {
			t.Errorf("Play: %v", err)
		}
		if e := s.End(); e.By != ByApp || e.Reason != ReasonDone {
			t.Errorf("end %+v", e)
		}
		<-p.done
		if r := p.snapshot(); !r.appBye {
			t.Error("no bye")
		}
	})
}

// Hangup from a goroutine of the handler while Play runs: Play returns
// ErrCallOver at once, the bye goes out once, the server's own Hangup
// waits for the first one (the connection closes only after the API's
// bye), and the app's hangup is not logged as a failure.
func TestSessionHangupDuringPlay(t *testing.T) {
	for _, retNil := range []bool{false, true} {
		t.Run(fmt.Sprintf("handler returns nil %v", retNil), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const byeDelay = 300 * time.Millisecond
				s, p, logs := sessCall(t, Config{}, func(p *sessPeer) { p.byeAnswer, p.byeDelay = true, byeDelay })
				start := time.Now()
				var playErr, hangupErr error
				var playTook, hangupTook time.Duration
				hungUp := make(chan struct{})
				h := func(ctx context.Context, s *Session) error {
					go func() {
						defer close(hungUp)
						time.Sleep(100 * time.Millisecond)
						hangupErr = s.Hangup()
						hangupTook = time.Since(start)
					}()
					playErr = s.Play(ctx, &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}, Value: 0.25})
					playTook = time.Since(start)
					if retNil {
						return nil
					}
					return playErr
				}
				srvRunCall(context.Background(), s, h, false)
				took := time.Since(start)
				<-hungUp
				if !errors.Is(playErr, ErrCallOver) || playTook != 100*time.Millisecond {
					t.Errorf("Play returned %v after %v", playErr, playTook)
				}
				if hangupErr != nil || hangupTook != 100*time.Millisecond+byeDelay {
					t.Errorf("Hangup returned %v after %v", hangupErr, hangupTook)
				}
				if took != hangupTook {
					t.Errorf("the call closed after %v, its hangup took until %v", took, hangupTook)
				}
				if e := s.End(); e != (End{By: ByApp, Reason: ReasonDone, Message: "the application hung up"}) {
					t.Errorf("end %+v", e)
				}
				<-p.done
				if typ := p.snapshot().types(); len(typ) < 2 || typ[len(typ)-1] != "bye" || slices.Index(typ, "bye") != len(typ)-1 {
					t.Errorf("messages %v: want one bye, last", typ)
				}
				l := logs.String()
				if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
					t.Errorf("logs:\n%s", l)
				}
			})
		})
	}
}

// The caller's hangup during Play: Play returns ErrCallOver with the call
// over by every sign (Done, End, the call's context), so the server logs
// no failure. Here cancelling the call's context waits until Play has
// returned: if the end can be seen before it has spread, the handler
// sees it half-spread. A session that spreads it first keeps Play waiting
// instead, until the wait gives up (100ms of real time).
func TestSessionCallerHangupSeenWhole(t *testing.T) {
	hold, _ := passWAV(t, t.TempDir(), "hold.wav", 16000, 1, 700*time.Millisecond)
	for _, c := range []struct {
		name string
		cfg  Config
		play func(ctx context.Context, s *Session) error
	}{
		{"pcm", Config{}, func(ctx context.Context, s *Session) error {
			return s.Play(ctx, &audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}, Value: 0.25})
		}},
		{"wav file loop passed through", Config{Format: WAV}, func(ctx context.Context, s *Session) error {
			return s.PlayGraph(ctx, sessGraph(t, "file "+hold+" | loop"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Outside the bubble: a real-time limit for the wait.
			kick, giveUp, stop := make(chan struct{}), make(chan struct{}), make(chan struct{})
			defer close(stop)
			go func() {
				select {
				case <-kick:
					time.Sleep(100 * time.Millisecond)
					close(giveUp)
				case <-stop:
				}
			}()
			synctest.Test(t, func(t *testing.T) {
				s, p, logs := sessCall(t, c.cfg, func(p *sessPeer) { p.passRate = 32000 })
				playReturned := make(chan struct{})
				cancel := s.cancel
				s.cancel = func(cause error) {
					close(kick)
					select {
					case <-playReturned:
					case <-giveUp:
					}
					cancel(cause)
				}
				var playErr error
				var done, ctxDone bool
				var end End
				h := func(ctx context.Context, s *Session) error {
					playErr = c.play(ctx, s)
					select {
					case <-s.Done():
						done = true
					default:
					}
					ctxDone = ctx.Err() != nil
					end = s.End()
					close(playReturned)
					return playErr
				}
				finished := make(chan struct{})
				go func() {
					defer close(finished)
					srvRunCall(context.Background(), s, h, false)
				}()
				time.Sleep(time.Second)
				p.hangup()
				<-finished
				if !errors.Is(playErr, ErrCallOver) || !done || !ctxDone || end.By != ByAPI {
					t.Errorf("Play returned %v; then the call was done: %v, its context done: %v, its end: %+v", playErr, done, ctxDone, end)
				}
				l := logs.String()
				if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
					t.Errorf("logs:\n%s", l)
				}
			})
		})
	}
}

// sessCloseErrTransport fails its first Close, as a WebSocket whose
// closing handshake fails does.
type sessCloseErrTransport struct {
	Transport
	mu     sync.Mutex
	closes int
}

func (c *sessCloseErrTransport) Close() error {
	c.Transport.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	return fmt.Errorf("close #%d failed", c.closes)
}

// A Hangup called while another is going on waits for it and returns its
// result, as does one called after; the bye goes out once.
func TestSessionHangupTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const byeDelay = 300 * time.Millisecond
		app, api := Pipe()
		p := newSessPeer(api)
		p.byeAnswer, p.byeDelay = true, byeDelay
		p.start(Hello{CallID: "c1"})
		s, err := StartSession(context.Background(), &sessCloseErrTransport{Transport: app}, Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		first := make(chan error, 1)
		go func() { first <- s.Hangup() }()
		synctest.Wait() // the first Hangup waits for the API's bye
		second := s.Hangup()
		if d := time.Since(start); d != byeDelay {
			t.Errorf("the second Hangup returned after %v, the API's bye came after %v", d, byeDelay)
		}
		err1 := <-first
		if err1 == nil || !strings.HasPrefix(err1.Error(), "close #") || second != err1 {
			t.Errorf("first Hangup: %v, second: %v", err1, second)
		}
		if third := s.Hangup(); third != err1 {
			t.Errorf("a Hangup after the end returned %v", third)
		}
		if e := s.End(); e.By != ByApp || e.Reason != ReasonDone {
			t.Errorf("end %+v", e)
		}
		<-p.done
		if typ := p.snapshot().types(); slices.Index(typ, "bye") != len(typ)-1 {
			t.Errorf("messages %v: want one bye, last", typ)
		}
	})
}

func TestSessionHelloTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app, api := Pipe()
		defer api.Close()
		start := time.Now()
		_, err := StartSession(context.Background(), app, Config{HelloTimeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "no hello") || time.Since(start) != 3*time.Second {
			t.Errorf("err %v after %v", err, time.Since(start))
		}
	})
}

func TestSessionConfigErrors(t *testing.T) {
	for _, c := range []Config{{Format: "opus"}, {Format: G722}, {Chunk: 5 * time.Second}, {RecordFormat: WAV}, {Window: -1}} {
		app, api := Pipe()
		_, err := StartSession(context.Background(), app, c)
		if err == nil {
			t.Errorf("%+v accepted", c)
		}
		api.Close()
	}
}

// Messages stay small whatever the chunk.
func TestSessionMessageSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: PCM24000, Chunk: 2 * time.Second, Window: 10 * time.Second}, nil)
		srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "tone 440 dur=5s rate=24k")), false)
		<-p.done
		r := p.snapshot()
		for _, m := range r.msgs {
			if len(m) > MaxMessageSize {
				t.Fatalf("a message of %d bytes", len(m))
			}
		}
		if len(r.heard) != 5*24000 {
			t.Errorf("heard %d samples", len(r.heard))
		}
	})
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

// A looped file plays for 10 virtual minutes: no gap, a bounded buffer, a
// checkpoint per iteration, and the caller's hangup ends it.
func TestSessionLongLoop(t *testing.T) {
	dir := t.TempDir()
	path, _ := passWAV(t, dir, "hold.wav", 8000, 1, 7300*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: ULaw}, func(p *sessPeer) { p.rtt = 150 * time.Millisecond })
		done := make(chan struct{})
		go func() {
			srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "file "+path+" | loop")), false)
			close(done)
		}()
		time.Sleep(10 * time.Minute)
		p.hangup()
		<-done
		r := p.snapshot()
		if r.gaps != 0 || r.maxBuf > 2500*time.Millisecond || len(r.violations) > 0 {
			t.Errorf("gaps %d, buffered up to %v, %v", r.gaps, r.maxBuf, r.violations)
		}
		if got := time.Duration(len(r.heard)) * time.Second / 8000; got < 10*time.Minute || got > 10*time.Minute+2500*time.Millisecond {
			t.Errorf("heard %v in 30 minutes", got)
		}
		if st := s.Stats(); st.MaxBytesInFlight > 20000 || st.Syncs < int(10*time.Minute/(500*time.Millisecond)) {
			t.Errorf("stats %+v", st)
		}
	})
}
