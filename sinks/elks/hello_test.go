package elks

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// A hello with huge fields (a peer's, not 46elks') is cut on arrival: the
// session keeps 64 bytes of each, at a character boundary, says so once,
// and its log lines stay short however long the fields were.
func TestHelloFieldsTruncated(t *testing.T) {
	sessLeakCheck(t)
	app, api := Pipe()
	long := strings.Repeat("é", 300_000) // 600 kB, two bytes a character
	hello, _ := json.Marshal(map[string]string{"t": "hello", "callid": long, "from": "+46700000001", "to": long})
	if err := api.WriteMessage(context.Background(), hello); err != nil {
		t.Fatal(err)
	}
	log, logs := sessTestLogger()
	s, err := StartSession(context.Background(), app, Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Hello()
	s.Logger().Info("a line of the call")
	s.Close()
	if len(h.CallID) != 64 || len(h.To) != 64 || !utf8.ValidString(h.CallID) || h.From != "+46700000001" {
		t.Errorf("hello kept: callid %d bytes, to %d bytes, from %q", len(h.CallID), len(h.To), h.From)
	}
	out := logs.String()
	if !strings.Contains(out, "hello fields truncated") || !strings.Contains(out, "callid_bytes=600000") {
		t.Errorf("no word of the truncation:\n%.2000s", out)
	}
	if len(out) > 4000 {
		t.Errorf("%d bytes of log for a few lines", len(out))
	}
}
