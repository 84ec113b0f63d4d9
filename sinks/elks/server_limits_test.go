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
