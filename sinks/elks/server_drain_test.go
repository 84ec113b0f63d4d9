package elks

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// srvDrainTest runs srv on 127.0.0.1; it returns the listening address,
// the cancel function of Serve's context and Serve's result.
func srvDrainTest(t *testing.T, srv *Server) (addr string, cancel context.CancelCauseFunc, served <-chan error) {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger, _ = sessTestLogger()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	errc, done := make(chan error, 1), make(chan struct{})
	go func() { errc <- srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		cancel(nil)
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("Serve did not return")
		}
	})
	return ln.Addr().String(), cancel, errc
}

// readyz returns /readyz's status and body, or 0 when it cannot be asked.
func readyz(addr string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	r, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, strings.TrimSpace(string(b))
}

// A SIGTERM (ErrDrain): /readyz answers 503 at once, calls are still
// accepted for DrainDelay, then refused; the calls going on continue to
// their natural end, well before ShutdownTimeout, and Serve returns.
func TestServerDrain(t *testing.T) {
	sessLeakCheck(t)
	release := make(chan struct{})
	const delay = 3 * time.Second
	srv := &Server{DrainDelay: delay, ShutdownTimeout: time.Minute, Handler: func(ctx context.Context, s *Session) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}
	addr, cancel, served := srvDrainTest(t, srv)
	url := "ws://" + addr + "/"
	if code, body := readyz(addr); code != http.StatusOK {
		t.Fatalf("/readyz before the drain: %d %q", code, body)
	}
	first := srvDial(t, url, replyAtOnce)
	srvWait(t, "the first call", func() bool { return srv.ActiveCalls() == 1 })

	start := time.Now()
	cancel(ErrDrain)
	srvWait(t, "/readyz to say draining", func() bool {
		code, body := readyz(addr)
		return code == http.StatusServiceUnavailable && body == "draining"
	})
	// Within the drain delay a new call is still taken.
	second := srvDial(t, url, replyAtOnce)
	srvWait(t, "the call during the drain delay", func() bool { return srv.ActiveCalls() == 2 })
	if since := time.Since(start); since >= delay {
		t.Fatalf("the machine is too slow for this test: %v to accept a call", since)
	}
	// Then the listener closes: new connections are refused.
	var refusedAt time.Duration
	srvWait(t, "new calls to be refused", func() bool {
		ctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		conn, _, err := websocket.Dial(ctx, url, nil)
		if err == nil {
			conn.CloseNow()
			return false
		}
		refusedAt = time.Since(start)
		return true
	})
	if refusedAt < delay {
		t.Errorf("calls refused %v after the SIGTERM, before drain-delay=%v", refusedAt, delay)
	}
	if n := srv.ActiveCalls(); n != 2 {
		t.Errorf("%d calls going on during the drain, want 2", n)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned while calls went on: %v", err)
	default:
	}
	close(release)
	for i, p := range []*wirePeer{first, second} {
		<-p.done
		if !p.snapshot().appBye {
			t.Errorf("call %d ended without the application's bye", i+1)
		}
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return once the calls had ended")
	}
}

// A call that outlasts ShutdownTimeout gets a bye then.
func TestServerDrainTimeoutSaysBye(t *testing.T) {
	sessLeakCheck(t)
	srv := &Server{DrainDelay: 100 * time.Millisecond, ShutdownTimeout: 300 * time.Millisecond, KeepOpen: true,
		Handler: func(ctx context.Context, s *Session) error { return nil }}
	addr, cancel, served := srvDrainTest(t, srv)
	p := srvDial(t, "ws://"+addr+"/", replyAtOnce)
	srvWait(t, "the call", func() bool { return srv.ActiveCalls() == 1 })
	cancel(ErrDrain)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the call was not ended at shutdown-timeout")
	}
	if !p.snapshot().appBye {
		t.Error("the call ended without a bye")
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// A cancellation without ErrDrain (Ctrl-C, or a program's own) has no
// drain delay.
func TestServerCancelSkipsDrainDelay(t *testing.T) {
	srv := &Server{DrainDelay: time.Hour, Handler: func(ctx context.Context, s *Session) error { return nil }}
	_, cancel, served := srvDrainTest(t, srv)
	cancel(context.Canceled)
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a plain cancellation waited for the drain delay")
	}
}
