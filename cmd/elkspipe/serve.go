package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// serveUsage is elkspipe serve -h.
const serveUsage = `Usage: elkspipe [flags] serve [-check] ROUTES-FILE

Serves 46elks calls, routing each by its numbers (to=, from=) to a pipeline:

  # routes.conf
  server listen=:8095 format=ulaw token=env:ELKS_TOKEN
  route to=+46766861234 file hold.mp3 | loop
  route to=+4676686* file sales.mp3 | loop
  route from=+4670* to=* tone 440 dur=2s
  default file closed.wav

The first route that matches plays; a call no route matches is hung up.
SIGHUP re-reads the file: new calls use the new routes, calls going on
keep theirs, and a file with an error keeps the routes in use. See
docs/routing.md.

`

// runServe is elkspipe serve: it loads the routes file, serves calls with
// a Router of its routes and reloads them on SIGHUP.
func runServe(ctx context.Context, args []string, logOpts logOptions, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("elkspipe serve", flag.ContinueOnError)
	check := fs.Bool("check", false, "check the routes file (every pipeline opens) and exit")
	usageOn(fs, serveUsage, stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "elkspipe: usage: elkspipe serve [-check] ROUTES-FILE")
		return exitUsage
	}
	path := fs.Arg(0)
	rf, err := loadRoutes(ctx, path)
	if err == nil {
		if cerr := checkCertificate(rf.sink.Server()); cerr != nil {
			err = rf.atServerLine(filepath.Base(path), cerr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitUsage
	}
	if *check {
		fmt.Fprintf(stdout, "%s: %s\n", path, rf.summary())
		return exitOK
	}
	log := logOpts.logger(stderr)
	prev := slog.Default()
	slog.SetDefault(log)
	defer slog.SetDefault(prev)
	router := elks.NewRouter(rf.routes)
	srv := rf.sink.Server()
	srv.Logger = log
	srv.Handler = router.Handle
	log.Info("routes loaded", "file", path, "routes", len(rf.routes))
	defer reloadRoutesOnHangup(ctx, path, rf.server, router, srv, log)()
	listening := false
	srv.OnListen = func(net.Addr) { listening = true }
	if err := srv.ListenAndServe(ctx); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return exitOK
		}
		if !listening {
			// It could not start: a port in use, a certificate or token
			// file that cannot be read, all set on the server line.
			err = rf.atServerLine(filepath.Base(path), err)
		}
		return failed(ctx, stderr, err, "elkspipe: interrupted")
	}
	return exitOK
}

// reloadRoutesOnHangup re-reads the routes file at path on every SIGHUP
// and gives router its routes (a file with an error is logged, with its
// line, and keeps the routes in use); it re-reads srv's TLS certificate
// and token file too, those it has (reloadServer). A changed server line
// is logged: it applies after a restart. It returns a function that stops
// listening for SIGHUP.
func reloadRoutesOnHangup(ctx context.Context, path, server string, router *elks.Router, srv *elks.Server, log *slog.Logger) (stop func()) {
	return onHangup(func() {
		if srv.TLSCert != "" || srv.TokenFile != "" {
			reloadServer(srv)
		}
		reloadRoutes(ctx, path, server, router, log)
	})
}

// reloadRoutes loads the routes file at path into router, or logs why it
// cannot and keeps the routes in use.
func reloadRoutes(ctx context.Context, path, server string, router *elks.Router, log *slog.Logger) {
	rf, err := loadRoutes(ctx, path)
	if err != nil {
		log.Error("routes not reloaded; keeping the routes in use", "err", err)
		return
	}
	if rf.server != server {
		log.Warn("the server line changed: it applies after a restart", "file", path)
	}
	router.SetRoutes(rf.routes)
	log.Info("routes reloaded", "file", path, "routes", len(rf.routes))
}
