package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// routesFile is a parsed routes file of elkspipe serve (docs/routing.md).
type routesFile struct {
	server     string // the words after "server", elks parameters
	serverLine int    // its line, 0 for none
	sink       *elks.Sink
	routes     []elks.Route // in order, the default last
	hasDefault bool         // whether the last route is a default line
}

// ivrParamNames are the elks parameters that serve refuses on its server
// line: menus belong to a pipeline, and a routes file has many.
var ivrParamNames = []string{"barge-in", "on-0", "on-1", "on-2", "on-3", "on-4", "on-5", "on-6",
	"on-7", "on-8", "on-9", "on-star", "on-hash"}

// loadRoutes reads and checks the routes file at path: every error names
// the file and line.
func loadRoutes(ctx context.Context, path string) (*routesFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRoutes(ctx, filepath.Base(path), string(data))
}

// parseRoutes parses the text of a routes file called name, builds the
// server's elks sink and every route's pipeline, and opens each pipeline
// once (except exec stages, which are not run) so that a missing file
// shows now rather than in a call.
func parseRoutes(ctx context.Context, name, text string) (*routesFile, error) {
	rf := &routesFile{}
	var def *elks.Route
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		at := func(err error) error { return fmt.Errorf("%s:%d: %w", name, n, err) }
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keyword, rest := cutWord(line)
		switch keyword {
		case "server":
			if rf.serverLine != 0 {
				return nil, at(fmt.Errorf("a second server line (the first is line %d)", rf.serverLine))
			}
			k, err := serverSink(rest)
			if err != nil {
				return nil, at(err)
			}
			rf.server, rf.serverLine, rf.sink = rest, n, k
		case "route":
			rt, err := parseRoute(ctx, rest)
			if err != nil {
				return nil, at(err)
			}
			rt.Name = fmt.Sprintf("%s:%d", name, n)
			rf.routes = append(rf.routes, rt)
		case "default":
			if def != nil {
				return nil, at(fmt.Errorf("a second default (the first is %s)", def.Name))
			}
			g, err := routeGraph(ctx, rest)
			if err != nil {
				return nil, at(err)
			}
			def = &elks.Route{Graph: g, Name: fmt.Sprintf("%s:%d (default)", name, n)}
		default:
			return nil, at(fmt.Errorf("unknown keyword %q: a line is server, route, default, a # comment or empty", keyword))
		}
	}
	if def != nil {
		rf.routes, rf.hasDefault = append(rf.routes, *def), true
	}
	if len(rf.routes) == 0 {
		return nil, fmt.Errorf("%s: no route and no default: nothing to play", name)
	}
	if rf.sink == nil {
		k, err := serverSink("")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rf.sink = k
	}
	return rf, nil
}

// atServerLine names the routes file called name, and its server line
// if it has one, in err: the server's settings come from there.
func (rf *routesFile) atServerLine(name string, err error) error {
	if rf.serverLine == 0 {
		return fmt.Errorf("%s: server (no server line: the defaults): %w", name, err)
	}
	return fmt.Errorf("%s:%d: server: %w", name, rf.serverLine, err)
}

// checkCertificate reads the TLS certificate and key of the server line,
// if it sets them, so that a missing or mismatched file shows in serve
// -check too. (A reload leaves them to reloadServer: a certificate being
// renewed must not hold back the routes.)
func checkCertificate(srv *elks.Server) error {
	if srv.TLSCert == "" || srv.TLSKey == "" {
		return nil // the server says what is missing when it starts
	}
	if _, err := tls.LoadX509KeyPair(srv.TLSCert, srv.TLSKey); err != nil {
		return fmt.Errorf("tls-cert=%s tls-key=%s: %w", srv.TLSCert, srv.TLSKey, err)
	}
	return nil
}

// cutWord splits s at its first blank (space or tab) into its first word
// and the rest, without the blanks around it.
func cutWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	return s, ""
}

// summary describes rf in one line, for serve -check: the routes, and
// where the server listens (never its token).
func (rf *routesFile) summary() string {
	n, def := len(rf.routes), "no default"
	if rf.hasDefault {
		n, def = n-1, "a default"
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	srv := rf.sink.Server()
	format := srv.Config.Format
	if format == "" {
		format = elks.DefaultFormat
	}
	return fmt.Sprintf("%d route%s and %s; server listen=%s path=%s format=%s", n, plural, def, srv.Addr, srv.Path, format)
}

// serverSink builds the elks sink of the server line's parameters.
func serverSink(args string) (*elks.Sink, error) {
	spec, err := pipeline.Parse("silence | elks " + args)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), "stage 2 (elks): ", "server: ", 1))
	}
	if spec.Sink == nil || spec.Sink.Element.Name != "elks" || len(spec.Transforms) > 0 {
		return nil, errors.New("server: give elks parameters only (listen=:8095 format=ulaw ...), no pipeline")
	}
	for _, p := range ivrParamNames {
		if spec.Sink.Args.Has(p) {
			return nil, fmt.Errorf("server: %s= is a menu of one pipeline: elkspipe serve plays no menus", p)
		}
	}
	k, err := spec.Sink.Element.NewSink(spec.Sink.Args)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return k.(*elks.Sink), nil
}

// parseRoute parses the words after "route": from= and to= patterns, at
// least one of them, then the pipeline.
func parseRoute(ctx context.Context, rest string) (elks.Route, error) {
	var rt elks.Route
	seenKeys := map[string]bool{}
	for {
		word, after := cutWord(rest)
		key, value, ok := strings.Cut(word, "=")
		if !ok || (key != "from" && key != "to") {
			break
		}
		if err := elks.CheckPattern(value); err != nil {
			return rt, fmt.Errorf("%s=%s: %w", key, value, err)
		}
		if value == "" {
			return rt, fmt.Errorf("%s=: give a number, a prefix ending in * or * for any", key)
		}
		if seenKeys[key] {
			return rt, fmt.Errorf("%s= given twice", key)
		}
		seenKeys[key] = true
		if key == "from" {
			rt.From = value
		} else {
			rt.To = value
		}
		rest = after
	}
	if len(seenKeys) == 0 {
		return rt, errors.New("route: give to= or from= (or both) before the pipeline, for example route to=+4676686* file sales.mp3")
	}
	g, err := routeGraph(ctx, rest)
	if err != nil {
		return rt, err
	}
	rt.Graph = g
	return rt, nil
}

// routeGraph parses and checks a route's pipeline.
func routeGraph(ctx context.Context, text string) (*pipeline.Graph, error) {
	if text == "" {
		return nil, errors.New("no pipeline: give the audio to play, for example file hold.mp3 | loop")
	}
	g, err := pipeline.SourceGraph(text)
	if err != nil {
		return nil, err
	}
	for _, st := range append(append([]pipeline.Stage(nil), g.Sources...), g.Transforms...) {
		if st.Node != nil && st.Node.Element.Name == "exec" {
			return g, nil // runs a program: checked in the call
		}
	}
	if st, ok := g.StdinStage(); ok {
		return nil, pipeline.StageErr(st.Name, errors.New("every call opens the pipeline anew, so it cannot read standard input: give a file"))
	}
	src, _, err := g.Open(ctx)
	if err != nil {
		return nil, err
	}
	pipeline.Close(src)
	return g, nil
}
