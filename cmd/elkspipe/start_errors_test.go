package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A server that cannot start says why at once, naming what the operator
// must fix: the address in use (calls' or metrics'), the certificate or
// token file that cannot be read, the routes file and line that set them.
func TestServerStartErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name   string
		args   []string
		routes string // the routes file, for serve
		want   []string
	}{
		{name: "port in use", args: []string{"tone 440 | elks listen=" + busy},
			want: []string{"elks listen=" + busy, "address already in use", "pick another address with listen="}},
		{name: "metrics port in use", args: []string{"tone 440 | elks listen=127.0.0.1:0 metrics-listen=" + busy},
			want: []string{"metrics-listen=" + busy, "address already in use"}},
		{name: "missing certificate", args: []string{"tone 440 | elks listen=127.0.0.1:0 tls-cert=" + missing + ".pem tls-key=" + missing + ".key"},
			want: []string{"tls-cert=" + missing + ".pem", "no such file or directory"}},
		{name: "certificate without key", args: []string{"tone 440 | elks listen=127.0.0.1:0 tls-cert=" + missing + ".pem"},
			want: []string{"TLS needs both a certificate and its key"}},
		{name: "missing token file", args: []string{"tone 440 | elks listen=127.0.0.1:0 token=file:" + missing},
			want: []string{"token=file:" + missing, "no such file or directory"}},
		{name: "serve: port in use", routes: "# routes\nserver listen=" + busy + "\ndefault tone 440\n",
			want: []string{"routes.conf:2: server: ", "address already in use", "listen="}},
		{name: "serve: metrics port in use", routes: "server listen=127.0.0.1:0 metrics-listen=" + busy + "\ndefault tone 440\n",
			want: []string{"routes.conf:1: server: metrics-listen=" + busy, "address already in use"}},
		{name: "serve: missing certificate", routes: "\nserver listen=127.0.0.1:0 tls-cert=" + missing + ".pem tls-key=" + missing + ".key\ndefault tone 440\n",
			want: []string{"routes.conf:2: server: tls-cert=" + missing + ".pem", "no such file or directory"}},
		{name: "serve: missing token file", routes: "server listen=127.0.0.1:0 token=file:" + missing + "\ndefault tone 440\n",
			want: []string{"routes.conf:1: server: token=file:" + missing, "no such file or directory"}},
		{name: "serve: unset token variable", routes: "server listen=127.0.0.1:0 token=env:ELKSPIPE_TEST_NO_SUCH_VAR\ndefault tone 440\n",
			want: []string{"routes.conf:1: server: token=env:ELKSPIPE_TEST_NO_SUCH_VAR: the environment variable ELKSPIPE_TEST_NO_SUCH_VAR is not set"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.routes != "" {
				file := filepath.Join(t.TempDir(), "routes.conf")
				if err := os.WriteFile(file, []byte(c.routes), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{"serve", file}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, args...)
			if ctx.Err() != nil {
				t.Fatalf("still running after 30 s:\n%s", stderr)
			}
			if code != exitFailed && code != exitUsage {
				t.Errorf("exit %d, want 1 or 2", code)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("the error lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// Without a server line, an error at start names the file and says the
// server runs on the defaults.
func TestAtServerLineWithoutOne(t *testing.T) {
	rf, err := parseRoutes(context.Background(), "routes.conf", "default tone 440\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := rf.atServerLine("routes.conf", errors.New("address already in use")).Error(); got != "routes.conf: server (no server line: the defaults): address already in use" {
		t.Errorf("got %q", got)
	}
}
