package main

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}} {
		code, out, stderr := runCLI(t, context.Background(), args...)
		if code != exitOK || !strings.HasPrefix(out, "elkspipe ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d, %q %q", args, code, out, stderr)
		}
	}
	info := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-02T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got := versionLine(info, true); !strings.HasPrefix(got, "elkspipe v1.2.3 (revision 0123456789abcdef, 2026-12-02T10:00:00Z, modified) go1.99 ") {
		t.Errorf("versionLine: %q", got)
	}
	if got := versionLine(nil, false); !strings.Contains(got, "unknown") {
		t.Errorf("versionLine without build info: %q", got)
	}
}

// -log-format json writes the server's log as JSON objects, one a line,
// from the first to the last; -log-level warn leaves out the info lines.
func TestServerLogFormatAndLevel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code, _, stderr := runCLI(t, ctx, "-log-format", "json", "tone 440 | elks listen=127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	serving := false
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", l, err)
		}
		serving = serving || m["msg"] == "serving calls"
	}
	if !serving {
		t.Errorf("no serving calls line:\n%s", stderr)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code, _, stderr = runCLI(t, ctx, "-log-level", "warn", "tone 440 | elks listen=127.0.0.1:0")
	if code != exitOK || strings.Contains(stderr, "serving calls") {
		t.Errorf("-log-level warn: exit %d, log:\n%s", code, stderr)
	}
}

func TestLogFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-log-format", "xml", "list"}, `-log-format "xml": want text or json`},
		{[]string{"-log-level", "loud", "list"}, `-log-level "loud": want debug, info, warn or error`},
		{[]string{"-v", "-log-level", "info", "list"}, "-log-level with -v or -q"},
	} {
		code, _, stderr := runCLI(t, context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// A token from a variable that is not set fails at start, naming it.
func TestTokenSourceMissing(t *testing.T) {
	code, _, stderr := runCLI(t, context.Background(), "tone 440 | elks listen=127.0.0.1:0 token=env:ELKSPIPE_TEST_NO_SUCH_VAR")
	if code == exitOK || !strings.Contains(stderr, "ELKSPIPE_TEST_NO_SUCH_VAR is not set") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
