package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

func TestParseRoutes(t *testing.T) {
	text := `# routes.conf
server listen=127.0.0.1:0 format=ulaw max-calls=3

route to=+46766861234 tone 440 | gain -6
route to=+4676686*    tone 550 dur=2s
  route	from=+4670*	to=*  	 tone 660 dur=2s
default tone 880 dur=1s
`
	rf, err := parseRoutes(context.Background(), "routes.conf", text)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rt := range rf.routes {
		names = append(names, rt.Name+" "+rt.From+" "+rt.To)
		if rt.Graph == nil {
			t.Errorf("%s: no graph", rt.Name)
		}
	}
	want := []string{"routes.conf:4  +46766861234", "routes.conf:5  +4676686*", "routes.conf:6 +4670* *", "routes.conf:7 (default)  "}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("routes:\n%q\nwant\n%q", names, want)
	}
	srv := rf.sink.Server()
	if srv.Addr != "127.0.0.1:0" || srv.MaxCalls != 3 || srv.Config.Format != elks.ULaw {
		t.Errorf("server: addr %q max-calls %d format %q", srv.Addr, srv.MaxCalls, srv.Config.Format)
	}
	if got := rf.summary(); got != "3 routes and a default; server listen=127.0.0.1:0 path=/ format=ulaw" {
		t.Errorf("summary %q", got)
	}
	if rf.server != "listen=127.0.0.1:0 format=ulaw max-calls=3" {
		t.Errorf("server line %q", rf.server)
	}
	// The routes match in order, the default last.
	r := elks.NewRouter(rf.routes)
	for to, want := range map[string]string{"+46766861234": "routes.conf:4", "+46766869": "routes.conf:5", "+4618": "routes.conf:7 (default)"} {
		if rt, ok := r.Match(elks.Hello{From: "+4673", To: to}); !ok || rt.Name != want {
			t.Errorf("to %s: %q %v, want %q", to, rt.Name, ok, want)
		}
	}
	if rt, _ := r.Match(elks.Hello{From: "+46701", To: "+4618"}); rt.Name != "routes.conf:6" {
		t.Errorf("from +46701: %q", rt.Name)
	}
}

// Without a server line the server has the elks sink's defaults.
func TestParseRoutesDefaults(t *testing.T) {
	rf, err := parseRoutes(context.Background(), "r", "route to=1 tone 440 dur=1\n")
	if err != nil {
		t.Fatal(err)
	}
	if srv := rf.sink.Server(); srv.Addr != elks.DefaultAddr || srv.Path != elks.DefaultPath {
		t.Errorf("server %q %q", srv.Addr, srv.Path)
	}
	if len(rf.routes) != 1 || rf.routes[0].To != "1" {
		t.Errorf("routes %+v", rf.routes)
	}
}

func TestParseRoutesErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"# c\n\nroute to=1 tnoe 440\n", `routes.conf:3: stage 1 (tnoe): unknown element "tnoe"; did you mean "tone"?`},
		{"server formt=ulaw\nroute to=1 tone 1\n", `routes.conf:1: server: "formt=ulaw": unknown parameter "formt"; did you mean "format"?`},
		{"route to=1 tone 1\nserver max-calls=x\n", `routes.conf:2: server: "max-calls=x": max-calls=x: "x" is not a whole number`},
		{"server\nserver\nroute to=1 tone 1\n", "routes.conf:2: a second server line (the first is line 1)"},
		{"server tone 440 | gain -6\n", `routes.conf:1: server: "tone": format=tone: "tone" is not one of`},
		{"server on-1=hangup\n", "routes.conf:1: server: on-1= is a menu of one pipeline"},
		{"route to=1 tone 1\n\nroute tone 440\n", "routes.conf:3: route: give to= or from="},
		{"route to=+46*7 tone 1\n", "routes.conf:1: to=+46*7: a * may only end a pattern"},
		{"route from= tone 1\n", "routes.conf:1: from=: give a number"},
		{"route to=1\n", "routes.conf:1: no pipeline"},
		{"route to=1 from=2 to=3 tone 1\n", "routes.conf:1: to= given twice"},
		{"route to=1 tone 1 | wav out.wav\n", `routes.conf:1: "tone 1 | wav out.wav" ends with the sink "wav \"out.wav\""`},
		{"route to=1 file missing.wav\n", `routes.conf:1: file "missing.wav": `},
		{"route to=1 file - \n", "routes.conf:1: file \"-\": every call opens the pipeline anew"},
		{"default tone 1\ndefault tone 2\n", "routes.conf:2: a second default (the first is routes.conf:1 (default))"},
		{"route to=1 tone 1\nroutes to=2 tone 2\n", `routes.conf:2: unknown keyword "routes"`},
		{"# nothing\n", "routes.conf: no route and no default"},
	} {
		_, err := parseRoutes(context.Background(), "routes.conf", c.text)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s...", c.text, err, c.want)
		}
	}
}

// serve -check checks a file and exits; a bad file exits with 2 and its
// line.
func TestServeCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "routes.conf")
	os.WriteFile(good, []byte("route to=1* tone 440 dur=1\ndefault tone 880 dur=1\n"), 0o644)
	code, out, errOut := runCLI(t, context.Background(), "serve", "-check", good)
	if code != exitOK || !strings.Contains(out, "1 route and a default") {
		t.Errorf("good file: exit %d: %s%s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("route to=1* tone 440\nroute to=2 tnoe\n"), 0o644)
	code, _, errOut = runCLI(t, context.Background(), "serve", "-check", bad)
	if code != exitUsage || !strings.Contains(errOut, `bad.conf:2: stage 1 (tnoe): unknown element "tnoe"`) {
		t.Errorf("bad file: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, context.Background(), "serve", filepath.Join(dir, "none.conf"))
	if code != exitUsage || !strings.Contains(errOut, "none.conf") {
		t.Errorf("missing file: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCLI(t, context.Background(), "serve"); code != exitUsage {
		t.Errorf("no file: exit %d", code)
	}
}
