package elks

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
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
		if strings.Contains(logs.String(), "s3cret") {
			t.Errorf("the token shows in the log:\n%s", logs.String())
		}
		srv.Shutdown(t.Context())
	})
}

// A Server whose Path is the health endpoint would never see a call:
// Serve refuses it, as the elks element does.
func TestServerHealthzPathRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := TextHandler("tone 440 dur=100ms")
	err = (&Server{Path: "/healthz", Handler: h}).Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "health endpoint") {
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
