package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

const demoUsage = `elkspipe demo serves a built-in jingle, looped, as a 46elks application on
127.0.0.1, calls it with the simulator, writes what the caller heard to a WAV file
and prints the simulator's report. It needs no files and no 46elks account.

Usage:
  elkspipe demo [flags]

Flags:
`

// demoJingle is the demo's audio: a rising 4:5:6:8 arpeggio and a rest.
// Every tone lasts a whole number of its periods, so it starts and ends
// at a zero crossing and the joints do not click.
const demoJingle = "tone 500 dur=200ms + tone 625 dur=200ms + tone 750 dur=200ms + tone 1000 dur=400ms + silence 600ms"

// formatNames lists the names of the API's formats, in brackets.
func formatNames() string {
	var names []string
	for _, f := range elks.Formats() {
		names = append(names, string(f.Format))
	}
	return fmt.Sprint(names)
}

// runDemo is `elkspipe demo`: a server and a simulated call in one process.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("elkspipe demo", flag.ContinueOnError)
	var duration, rtt time.Duration = 10 * time.Second, 50 * time.Millisecond
	fs.Var(durationFlag{&duration}, "duration", "how long the simulated caller stays on the line (call time)")
	fs.Var(durationFlag{&rtt}, "rtt", "simulated network round trip")
	speed := fs.Float64("speed", 5, "run the call this many times faster than real time")
	format := fs.String("format", string(elks.ULaw), "the format the application sends: "+formatNames())
	record := fs.String("record", "heard.wav", "WAV file for what the caller heard (empty: none)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	verbose := fs.Bool("v", false, "log the server's and the simulator's events to stderr")
	usageOn(fs, demoUsage, stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "elkspipe demo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *speed <= 0 {
		fmt.Fprintln(stderr, "elkspipe demo: --speed must be above 0")
		return exitUsage
	}
	if duration <= 0 {
		fmt.Fprintln(stderr, "elkspipe demo: --duration must be above 0 (the demo's jingle loops forever)")
		return exitUsage
	}
	if info, err := elks.Format(*format).Info(); err == nil && info.File {
		fmt.Fprintf(stderr, "elkspipe demo: --format %s passes files through untouched, and the demo's jingle is generated: choose an encoded format such as ulaw or pcm_16000\n", *format)
		return exitUsage
	}

	text := demoJingle + " | loop | elks format=" + *format + " listen=127.0.0.1:0"
	spec, err := pipeline.Parse(text)
	if err == nil {
		var g *pipeline.Graph
		if g, err = spec.Graph(); err == nil {
			return demoCall(ctx, g, text, demoOptions{duration, rtt, *speed, *record, *asJSON, *verbose}, stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "elkspipe demo:", err)
	return exitUsage
}

type demoOptions struct {
	duration, rtt time.Duration
	speed         float64
	record        string
	asJSON        bool
	verbose       bool
}

// demoCall serves g on a free port of 127.0.0.1, runs one simulated call
// against it, prints the report and stops the server.
func demoCall(ctx context.Context, g *pipeline.Graph, text string, opt demoOptions, stdout, stderr io.Writer) int {
	sink, ok := g.Sink.Sink.(*elks.Sink)
	if !ok {
		fmt.Fprintln(stderr, "elkspipe demo: the pipeline does not end in elks")
		return exitFailed
	}
	logger := slog.New(slog.DiscardHandler)
	if opt.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	srv := sink.Server()
	srv.Logger = logger
	listening := make(chan net.Addr, 1)
	srv.OnListen = func(a net.Addr) { listening <- a }

	p, err := pipeline.Build(ctx, g)
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe demo:", oneLine(err))
		return exitFailed
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- p.Run(serveCtx) }()
	defer func() {
		stopServing()
		<-served
	}()

	var addr net.Addr
	select {
	case addr = <-listening:
	case err := <-served:
		served <- err // for the deferred wait
		fmt.Fprintln(stderr, "elkspipe demo: the server did not start:", err)
		return exitFailed
	}
	url := "ws://" + addr.String() + "/"
	fmt.Fprintf(stderr, "elkspipe demo: serving %q on %s\n", text, url)
	fmt.Fprintf(stderr, "elkspipe demo: calling it: %s of call time at %g× speed, %s round trip\n", opt.duration, opt.speed, opt.rtt)

	report, err := elkstest.Call(ctx, elkstest.Options{
		URL: url, Speed: opt.speed, Duration: opt.duration, RTT: opt.rtt, Record: opt.record, Logger: logger,
	})
	if err != nil {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		fmt.Fprintln(stderr, "elkspipe demo:", err)
		return exitFailed
	}
	if err := writeReports(stdout, []*elkstest.Report{report}, nil, 1, opt.asJSON); err != nil {
		fmt.Fprintln(stderr, "elkspipe demo:", err)
		return exitFailed
	}
	if opt.record != "" && !opt.asJSON {
		fmt.Fprintf(stdout, "\nWhat the caller heard is in %s.\n", opt.record)
	}
	return exitOK
}
