package elks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A flood of refused requests (wrong tokens) logs the first five, then
// one every ten seconds that says how many it left out.
func TestServerRefusalsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		h, _ := TextHandler("tone 440 dur=100ms")
		srv := &Server{Token: "s3cret", Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		refuse := func(n int) {
			for range n {
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, httptest.NewRequest("GET", "/?token=wrong", nil))
				if w.Code != http.StatusForbidden {
					t.Fatalf("status %d", w.Code)
				}
			}
		}
		refuse(50)
		if n := strings.Count(logs.String(), "call refused: wrong token"); n != 5 {
			t.Fatalf("%d lines for 50 refusals:\n%s", n, logs.String())
		}
		time.Sleep(10 * time.Second)
		refuse(1)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if last := lines[len(lines)-1]; len(lines) != 6 || !strings.Contains(last, "suppressed=45") {
			t.Errorf("after ten seconds: %d lines, the last %q", len(lines), last)
		}
		// A flood that stops is still counted: at shutdown.
		refuse(7)
		srv.logSuppressed()
		if !strings.Contains(logs.String(), `msg="warnings left out of the log since their last line" refused=7`) {
			t.Errorf("the refusals left out are not counted at the end:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "s3cret") {
			t.Errorf("the token shows in the log:\n%s", logs.String())
		}
		srv.Shutdown(t.Context())
	})
}

// A Server whose Path is a probe endpoint would never see a call:
// Serve refuses it, as the elks element does.
func TestServerHealthzPathRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := TextHandler("tone 440 dur=100ms")
	err = (&Server{Path: "/healthz", Handler: h}).Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "probe endpoint") {
		t.Fatalf("Serve with Path /healthz: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the listener was left open")
	}
}

// An idle keep-alive connection (after a health check) is closed after
// httpIdleTimeout, so idle clients cannot pile up and take the process's
// file descriptors.
func TestServerClosesIdleConnections(t *testing.T) {
	saved := httpIdleTimeout
	httpIdleTimeout = 200 * time.Millisecond
	defer func() { httpIdleTimeout = saved }()
	h, _ := TextHandler("tone 440 dur=100ms")
	url, stop := srvTest(t, &Server{Handler: h})
	defer stop()
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !strings.HasPrefix(string(got), "HTTP/1.1 200") {
				t.Fatalf("health check answered %q", got)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the idle connection was still open after %v", time.Since(start))
			}
			return // closed by the server
		}
	}
}

// net/http's own error lines (accept errors such as "too many open
// files") reach the log at warn level, rate-limited like refusals.
func TestServerHTTPErrorsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		srv := &Server{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		w := httpErrorLog{srv}
		for range 20 {
			w.Write([]byte("http: Accept error: accept tcp 127.0.0.1:8095: accept4: too many open files; retrying in 5ms\n"))
		}
		if n := strings.Count(logs.String(), "level=WARN msg=\"http server: http: Accept error"); n != 5 {
			t.Fatalf("%d warnings for 20 errors:\n%s", n, logs.String())
		}
		time.Sleep(10 * time.Second)
		w.Write([]byte("http: Accept error: again\n"))
		if !strings.Contains(logs.String(), "suppressed=15") {
			t.Errorf("no count of the lines left out:\n%s", logs.String())
		}
	})
}

// silentPeer is a connection that upgrades to a WebSocket and then says
// nothing and answers nothing (not even a closing handshake), as an
// attacker's would. closed receives when the server dropped it.
type silentPeer struct {
	conn   net.Conn
	closed chan time.Time
}

// dialSilent opens a silentPeer to a server's ws:// URL and returns it
// once the upgrade is answered; status is the answer's status code.
func dialSilent(t *testing.T, url string) (p *silentPeer, status int) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	p = &silentPeer{conn: conn, closed: make(chan time.Time, 1)}
	go func() {
		io.Copy(io.Discard, conn) // the close frame, then EOF when the server drops it
		p.closed <- time.Now()
	}()
	return p, resp.StatusCode
}

// Connections that never send hello do not take the places of calls:
// with max-calls=1 and three silent connections, a real call is served;
// past maxWaitingForHello, one more connection is refused with 503; and
// the silent ones are dropped at the hello timeout, without waiting for
// a closing handshake they never answer (coder/websocket would wait 5 s
// more: within 3 s of the timeout tells the two apart, with room for a
// busy machine).
func TestServerSilentConnectionsTakeNoCalls(t *testing.T) {
	sessLeakCheck(t)
	saved := maxWaitingForHello
	maxWaitingForHello = 4
	defer func() { maxWaitingForHello = saved }()
	const helloTimeout = 5 * time.Second
	src := &srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}}
	srv := &Server{MaxCalls: 1, Config: Config{HelloTimeout: helloTimeout}, Handler: GraphHandler(srvEndlessGraph(src))}
	url, stop := srvTest(t, srv)
	start := time.Now()
	var silent []*silentPeer
	for range 3 {
		p, status := dialSilent(t, url)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("silent connection: status %d", status)
		}
		silent = append(silent, p)
	}
	p := srvDial(t, url, replyNever)
	srvWait(t, "audio", func() bool { return len(p.snapshot().msgs) > 3 })
	if n := srv.ActiveCalls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	p.hangup()
	srvWait(t, "the call to end", func() bool { return srv.ActiveCalls() == 0 })
	if p, status := dialSilent(t, url); status != http.StatusSwitchingProtocols { // the fourth waiting
		t.Errorf("a fourth silent connection: status %d", status)
	} else {
		silent = append(silent, p)
	}
	if _, status := dialSilent(t, url); status != http.StatusServiceUnavailable {
		t.Errorf("a fifth silent connection: status %d, want 503", status)
	}
	if d := time.Since(start); d > helloTimeout {
		t.Errorf("the checks took %v, past the hello timeout: they proved nothing", d)
	}
	for i, c := range silent {
		if at := (<-c.closed).Sub(start); at < helloTimeout || at > helloTimeout+3*time.Second {
			t.Errorf("silent connection %d dropped after %v; want at the hello timeout, %v", i+1, at, helloTimeout)
		}
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// Silent connections cannot flood the log: each is a debug line of the
// session, and the server's warnings about calls that did not start are
// rate-limited (20 connections: the limiter's burst of 5 warnings, where
// there were 40 lines).
func TestServerSilentConnectionsLogLittle(t *testing.T) {
	log, logs := sessTestLogger()
	h, _ := TextHandler("tone 440 dur=100ms")
	srv := &Server{Logger: log, Config: Config{HelloTimeout: 200 * time.Millisecond}, Handler: h}
	url, stop := srvTest(t, srv)
	var silent []*silentPeer
	for range 20 {
		p, status := dialSilent(t, url)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("silent connection: status %d", status)
		}
		silent = append(silent, p)
	}
	for _, c := range silent {
		<-c.closed
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
	l := logs.String()
	// The burst of 5, and one more if a busy machine took over 10 s.
	if n := strings.Count(l, `level=WARN msg="call not started"`); n < 5 || n > 6 {
		t.Errorf("%d warnings about calls not started, want the limiter's 5:\n%s", n, l)
	}
	if n := strings.Count(l, `level=INFO msg="call ended"`); n != 0 {
		t.Errorf("%d info lines about connections that never were calls:\n%s", n, l)
	}
}
