package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer for a process's output read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A URL served by a real web server (Python's http.server, which sends
// Last-Modified and answers If-Modified-Since) plays looped with one
// download: the other iterations revalidate (304) or reuse the copy, kept
// in the folder of -cache-dir.
func TestURLFromWebServer(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	root := t.TempDir()
	mp3, err := os.ReadFile(mp3Fixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hold.mp3"), mp3, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var log syncBuffer
	srv := exec.CommandContext(ctx, py, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", root)
	srv.Stderr = &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	u := "http://127.0.0.1:" + port + "/hold.mp3"
	for {
		if resp, err := http.Head(u); err == nil {
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatal("http.server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "out.wav")
	mustRun(t, "-cache-dir", cache, "file "+u+" | loop 3 | wav "+out)
	if got, _ := decodeFile(t, out); len(got) != 3*22100 {
		t.Errorf("%d samples, want %d", len(got), 3*22100)
	}
	if gets := strings.Count(log.String(), `"GET /hold.mp3 HTTP/1.1" 200`); gets != 1 {
		t.Errorf("%d downloads, want 1; server log:\n%s", gets, log.String())
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "*")); len(files) != 2 {
		t.Errorf("the cache folder holds %q, want a file and its metadata", files)
	}
	code, _, stderr := runCLI(t, context.Background(), "-cache-dir", cache, "file http://127.0.0.1:"+port+"/gone.mp3 | null")
	if want := `file "http://127.0.0.1:` + port + `/gone.mp3": HTTP 404 File not found`; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("404: exit %d, %s; want %s", code, stderr, want)
	}
}
