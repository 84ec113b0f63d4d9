package elks

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
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
			}
			url, stop := srvTest(t, srv)
			for i := range 2 { // MaxCalls 1: the second is refused if the first kept its place
				p := srvDial(t, url, replyAtOnce)
				select {
				case <-p.done:
				case <-time.After(10 * time.Second):
					t.Fatalf("call %d: the connection did not end", i+1)
				}
				deadline := time.Now().Add(5 * time.Second)
				for srv.ActiveCalls() != 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				srv.mu.Lock()
				active, sessions := srv.active, len(srv.sessions)
				srv.mu.Unlock()
				if active != 0 || sessions != 0 {
					t.Fatalf("call %d: after the panic %d calls active, %d sessions", i+1, active, sessions)
				}
				if at == "call closed" && !p.snapshot().appBye {
					t.Errorf("call %d: it did not play to its end: %q", i+1, p.snapshot().msgs)
				}
			}
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			select {
			case err := <-stopped:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not stop: it waits for a call that is gone")
			}
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
