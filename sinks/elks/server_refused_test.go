package elks

import (
	"bytes"
	"log/slog"
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
