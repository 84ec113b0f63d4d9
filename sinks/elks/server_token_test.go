package elks

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

func TestResolveToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	os.WriteFile(good, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("ELKS_TEST_TOKEN", "fromenv")
	t.Setenv("ELKS_TEST_EMPTY", "")
	for _, c := range []struct{ spec, want, err string }{
		{"plain", "plain", ""},
		{"", "", ""},
		{"env:ELKS_TEST_TOKEN", "fromenv", ""},
		{"file:" + good, "s3cret", ""},
		{"literal:env:x", "env:x", ""},
		{"env:ELKS_TEST_UNSET_VAR", "", "token=env:ELKS_TEST_UNSET_VAR: the environment variable ELKS_TEST_UNSET_VAR is not set"},
		{"env:ELKS_TEST_EMPTY", "", "is empty"},
		{"env:", "", "name is missing"},
		{"file:" + filepath.Join(dir, "none"), "", "token=file:" + filepath.Join(dir, "none") + ": open "},
		{"file:" + empty, "", "the file is empty"},
	} {
		got, err := ResolveToken(c.spec)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("%q: %q, %v; want %q", c.spec, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %q, %v; want an error with %q", c.spec, got, err, c.err)
		}
	}
}

// The sink takes its token from the environment, and refuses to start
// without it.
func TestSinkTokenFromEnv(t *testing.T) {
	t.Setenv("ELKS_TEST_TOKEN", "fromenv")
	spec, err := pipeline.Parse("tone 440 | elks token=env:ELKS_TEST_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if tok := g.Sink.Sink.(*Sink).Server().Token; tok != "fromenv" {
		t.Errorf("token %q, want the variable's", tok)
	}
	spec, err = pipeline.Parse("tone 440 | elks token=env:ELKS_TEST_UNSET_VAR")
	if err == nil {
		_, err = spec.Graph()
	}
	if err == nil || !strings.Contains(err.Error(), "ELKS_TEST_UNSET_VAR is not set") {
		t.Errorf("an unset variable: %v", err)
	}
}

// A Server with TokenFile reads it when Serve starts (a missing file
// fails, naming it) and again on ReloadToken, which keeps the token in
// use when the file is bad; the elks sink sets TokenFile for
// token=file:PATH.
func TestServerTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	log, _ := sessTestLogger()
	handler := func(context.Context, *Session) error { return nil }

	missing := &Server{TokenFile: filepath.Join(dir, "none"), Logger: log, Handler: handler}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "token=file:"+filepath.Join(dir, "none")) {
		t.Errorf("Serve with a missing token file: %v", err)
	}
	if err := (&Server{Token: "x"}).ReloadToken(); err == nil || !strings.Contains(err.Error(), "no token file") {
		t.Errorf("ReloadToken without TokenFile: %v", err)
	}

	os.WriteFile(path, []byte("one\n"), 0o600)
	srv := &Server{Token: "ignored", TokenFile: path, Logger: log, Handler: handler}
	url, _ := srvTest(t, srv)
	status := func(token string) int {
		t.Helper()
		r, err := http.Get(strings.Replace(url, "ws://", "http://", 1) + "?token=" + token)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if a, b := status("one"), status("ignored"); a != http.StatusUpgradeRequired || b != http.StatusForbidden {
		t.Errorf("the file's token: %d, Token: %d; want 426 and 403", a, b)
	}
	os.WriteFile(path, []byte("two"), 0o600)
	if err := srv.ReloadToken(); err != nil {
		t.Fatal(err)
	}
	if a, b := status("one"), status("two"); a != http.StatusForbidden || b != http.StatusUpgradeRequired {
		t.Errorf("after the reload: the old token %d, the new %d", a, b)
	}
	os.WriteFile(path, nil, 0o600)
	if err := srv.ReloadToken(); err == nil || !strings.Contains(err.Error(), "the file is empty") {
		t.Errorf("reloading an empty file: %v", err)
	}
	if got := status("two"); got != http.StatusUpgradeRequired {
		t.Errorf("the token in use after a failed reload: %d", got)
	}

	spec, err := pipeline.Parse("tone 440 | elks token=file:" + path + " listen=127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("three"), 0o600)
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Sink.Sink.(*Sink).Server(); s.TokenFile != path || s.Token != "three" {
		t.Errorf("the sink's server: TokenFile %q, Token %q", s.TokenFile, s.Token)
	}
}
