package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM drains the server: /readyz answers 503 at once, a call that
// comes within drain-delay= is still served, then the process exits
// with 0 once the calls have ended.
func TestServerSIGTERMDrains(t *testing.T) {
	bin := buildElkspipe(t)
	srv := startReplica(t, bin, "tone 440 dur=1 | elks listen=127.0.0.1:0 drain-delay=4s")
	cmd, logs, done, addr := srv.cmd, srv.logs, srv.done, srv.addr
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	logs.wait(t, "draining")
	r, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(body)) != "draining" {
		t.Errorf("/readyz during the drain: %d %q", r.StatusCode, body)
	}
	code, out, errOut := runCLI(t, context.Background(), "simulate", "ws://"+addr+"/", "--duration", "10s")
	if time.Since(start) < 4*time.Second && (code != exitOK || !strings.Contains(out, "the application sent bye")) {
		t.Errorf("a call during the drain delay: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, logs.String())
		}
		done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("still running a minute after SIGTERM")
	}
}
