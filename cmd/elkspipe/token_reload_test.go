package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// writeToken replaces the token file at path as an operator should: a
// new file renamed over the old one.
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tokenStatus is the status a request for a call with token gets before
// the WebSocket upgrade: 401 or 403 when the token is refused, 426 (a
// plain GET is no upgrade) when it passes.
func tokenStatus(t *testing.T, addr, token string) int {
	t.Helper()
	r, err := http.Get("http://" + addr + "/?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode
}

// hangup sends SIGHUP to the server and waits for the log line it
// should write.
func hangup(t *testing.T, r *replica, want string) {
	t.Helper()
	before := strings.Count(r.logs.String(), want)
	r.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "«"+want+"» after SIGHUP", func() bool { return strings.Count(r.logs.String(), want) > before })
}

// token=file:PATH is read again on SIGHUP: calls that connect afterwards
// need the new token, a call going on is not touched, and a token file
// that is empty or gone keeps the token in use, logged with why.
func TestServeTokenFileReloadOnSIGHUP(t *testing.T) {
	bin := buildElkspipe(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, "first\n")
	r := startReplica(t, bin, "tone 440 dur=500ms | elks listen=127.0.0.1:0 drain-delay=0 hangup=false token=file:"+tokenFile)
	if got := tokenStatus(t, r.addr, "first"); got != http.StatusUpgradeRequired {
		t.Fatalf("the first token: %d", got)
	}

	// A call that goes on through the reloads.
	long := make(chan string, 1)
	go func() {
		rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: "ws://" + r.addr + "/?token=first", Duration: 3 * time.Second})
		switch {
		case err != nil:
			long <- err.Error()
		case rep.End.By != elks.ByAPI || rep.End.Reason != "hangup":
			long <- "ended " + string(rep.End.By) + " " + rep.End.Reason + " " + rep.End.Error
		default:
			long <- ""
		}
	}()
	r.logs.wait(t, "call started")

	writeToken(t, tokenFile, "second\n")
	hangup(t, r, "token reloaded")
	if !strings.Contains(r.logs.String(), "changed=true") {
		t.Errorf("the reload does not say the token changed:\n%s", r.logs.String())
	}
	if got := tokenStatus(t, r.addr, "first"); got != http.StatusForbidden {
		t.Errorf("the old token after the reload: %d, want 403", got)
	}
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: "ws://" + r.addr + "/?token=second", Duration: time.Second})
	if err != nil || rep.Played < 0.4 {
		t.Errorf("a call with the new token: %v %+v", err, rep)
	}

	// A bad file keeps the token in use.
	writeToken(t, tokenFile, " \n")
	hangup(t, r, "reloading the token failed; keeping the token in use")
	if !strings.Contains(r.logs.String(), tokenFile+": the file is empty") {
		t.Errorf("the failed reload does not say why:\n%s", r.logs.String())
	}
	os.Remove(tokenFile)
	hangup(t, r, "no such file or directory")
	if got := tokenStatus(t, r.addr, "second"); got != http.StatusUpgradeRequired {
		t.Errorf("the token in use after failed reloads: %d, want it kept", got)
	}
	if got := tokenStatus(t, r.addr, ""); got != http.StatusUnauthorized {
		t.Errorf("no token after failed reloads: %d, want 401", got)
	}
	if why := <-long; why != "" {
		t.Errorf("the call through the reloads: %s", why)
	}
	if strings.Contains(r.logs.String(), "second") || strings.Contains(r.logs.String(), "first") {
		t.Errorf("the log shows a token:\n%s", r.logs.String())
	}
}

// A server with nothing to re-read is not stopped by SIGHUP (what
// systemctl reload sends): it says so and serves on.
func TestServeSIGHUPWithNothingToReload(t *testing.T) {
	bin := buildElkspipe(t)
	r := startReplica(t, bin, "tone 440 dur=200ms | elks listen=127.0.0.1:0 drain-delay=0")
	hangup(t, r, "no certificate (tls-cert=) or token file (token=file:PATH) to re-read")
	if got := tokenStatus(t, r.addr, ""); got != http.StatusUpgradeRequired {
		t.Errorf("after SIGHUP the server answers %d", got)
	}
}

// elkspipe serve re-reads its server line's token file with the routes on
// SIGHUP; a changed server line is logged, not applied.
func TestServeRoutesTokenFileReload(t *testing.T) {
	bin := buildElkspipe(t)
	dir := t.TempDir()
	tokenFile, routes := filepath.Join(dir, "token"), filepath.Join(dir, "routes.conf")
	writeToken(t, tokenFile, "first")
	if err := os.WriteFile(routes, []byte("server listen=127.0.0.1:0 drain-delay=0 token=file:"+tokenFile+"\ndefault tone 440 dur=200ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, bin, "serve", routes)
	writeToken(t, tokenFile, "second")
	hangup(t, r, "routes reloaded")
	if !strings.Contains(r.logs.String(), "token reloaded") {
		t.Errorf("no token reload:\n%s", r.logs.String())
	}
	if a, b := tokenStatus(t, r.addr, "first"), tokenStatus(t, r.addr, "second"); a != http.StatusForbidden || b != http.StatusUpgradeRequired {
		t.Errorf("after the reload: the old token %d, the new %d; want 403 and 426", a, b)
	}
	// A changed server line is logged: it applies after a restart.
	if err := os.WriteFile(routes, []byte("server listen=127.0.0.1:0 drain-delay=0 max-calls=1 token=file:"+tokenFile+"\ndefault tone 440 dur=200ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hangup(t, r, "the server line changed: it applies after a restart")
}
