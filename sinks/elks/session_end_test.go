package elks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A connection that closes without bye is a hangup.
func TestSessionDropIsHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{}, func(p *wirePeer) { p.replies = replyNever })
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

// hangup=false: the call stays open, silent, until the caller hangs up.
func TestSessionKeepOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{}, nil)
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
			t.Errorf("end %+v\n%s", e, logs)
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
				s, p, logs := sessCall(t, Config{}, func(p *wirePeer) { p.byeAnswer, p.byeDelay, p.replies = true, byeDelay, replyNever })
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
				s, p, logs := sessCall(t, c.cfg, func(p *wirePeer) { p.replies = replyNever })
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

// Close closes the transport and reports a failure.
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
		p := newWirePeer(api)
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
