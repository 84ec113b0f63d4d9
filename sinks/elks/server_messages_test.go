package elks

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// A call refused at max-calls says, in the log and in the 503's body,
// that max-calls is reached and how to allow more.
func TestServerMaxCallsRefusalSaysHow(t *testing.T) {
	var logs bytes.Buffer
	h, _ := TextHandler("tone 440 dur=100ms")
	srv := &Server{MaxCalls: 2, Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	srv.init()
	srv.active = 2
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	for what, text := range map[string]string{"body": w.Body.String(), "log": logs.String()} {
		if !strings.Contains(text, "max-calls=2 is reached") || !strings.Contains(text, "raise max-calls=") {
			t.Errorf("the %s does not say max-calls=2 is reached and how to raise it: %q", what, text)
		}
	}
}

// A port in use is named, with a hint.
func TestServerPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h, _ := TextHandler("tone 440 dur=100ms")
	srv := &Server{Addr: ln.Addr().String(), Handler: h, Logger: slog.New(slog.DiscardHandler)}
	err = srv.ListenAndServe(context.Background())
	if err == nil || !strings.Contains(err.Error(), "address already in use: another elkspipe or program listens on "+ln.Addr().String()+"; pick another address with listen=") {
		t.Errorf("port in use: %v", err)
	}
}

// The start line gives the URL to configure at 46elks, token redacted.
func TestServerStartLineURL(t *testing.T) {
	var logs bytes.Buffer
	h, _ := TextHandler("tone 440 dur=100ms")
	srv := &Server{Path: "/hold", Token: "s3cret", Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv.OnListen = func(net.Addr) { cancel() }
	if err := srv.Serve(ctx, ln); err != nil {
		t.Fatal(err)
	}
	want := "url=\"ws://" + ln.Addr().String() + "/hold?token=xxx\""
	if !strings.Contains(logs.String(), want) || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("start line without %s (or with the token):\n%s", want, logs.String())
	}
	// On every interface, the host's name stands for the address.
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "<this host>"
	}
	for _, ip := range []net.IP{nil, net.IPv4zero, net.IPv6zero} {
		got := (&Server{}).callURL(&net.TCPAddr{IP: ip, Port: 8095})
		if want := "ws://" + net.JoinHostPort(name, strconv.Itoa(8095)) + "/"; got != want {
			t.Errorf("listening on %v: %s, want %s", ip, got, want)
		}
	}
}

// A record= folder that cannot be created fails the server at start,
// naming it; one that can is created then, before any call.
func TestServerRecordFolderCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, _ := TextHandler("tone 440 dur=100ms")
	serve := func(template string) (bool, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := false
		srv := &Server{Handler: h, Config: Config{Record: template}, Logger: slog.New(slog.DiscardHandler),
			OnListen: func(net.Addr) { served = true; cancel() }}
		err = srv.Serve(ctx, ln)
		cancel()
		return served, err
	}
	bad := filepath.Join(dir, "afile", "calls", "{callid}.wav")
	served, err := serve(bad)
	if err == nil || served || !strings.Contains(err.Error(), "record="+bad+": cannot create the folder "+filepath.Join(dir, "afile", "calls")) {
		t.Errorf("record=%s: served %v, err %v", bad, served, err)
	}
	good := filepath.Join(dir, "new", "calls", "{to}", "{callid}.wav")
	if served, err := serve(good); err != nil || !served {
		t.Fatalf("record=%s: served %v, err %v", good, served, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "new", "calls")); err != nil || !st.IsDir() {
		t.Errorf("the shared folder was not created at start: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "new", "calls", "*")); len(left) != 0 {
		t.Errorf("the write check left %v", left)
	}
}

// The sink's start-up check opens the pipeline to see that it opens, not
// to play it: the observer of Serve's context gets none of its loop or
// playlist events.
func TestSinkStartupCheckReportsNoEvents(t *testing.T) {
	spec, err := pipeline.Parse("tone 440 dur=1 + tone 300 dur=1 | loop | elks listen=127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []pipeline.Event
	ctx, cancel := context.WithCancel(pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	defer cancel()
	sink := g.Sink.Sink.(*Sink)
	sink.Server().Logger = slog.New(slog.DiscardHandler)
	sink.Server().OnListen = func(net.Addr) { cancel() }
	if err := sink.Serve(ctx, g); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 0 {
		t.Errorf("the start-up check reported %v", events)
	}
}
