package elks

import (
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
