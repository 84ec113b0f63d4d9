// Command elkspipe runs audio pipelines written in pipe syntax, into files
// or into live phone calls of the 46elks Realtime Voice API:
//
//	elkspipe [flags] 'SOURCE [+ SOURCE...] | TRANSFORM | ... | SINK'
//	elkspipe [flags] SOURCE ! TRANSFORM ! ... ! SINK
//	elkspipe list
//	elkspipe inspect NAME
//	elkspipe simulate URL [flags]
//	elkspipe demo [flags]
//	elkspipe serve ROUTES-FILE
//	elkspipe help
//
// For example:
//
//	elkspipe 'tone 440 dur=3s | wav out.wav'
//	elkspipe 'file in.mp3 | mono | resample 8k | wav out-8k.wav'
//	elkspipe tone 440 dur=1s ! gain -6dB ! wav out.wav
//	elkspipe 'file hold.mp3 | loop | elks format=ulaw'
//
// It is thin wiring over the packages pipeline, sources, transforms, sinks
// and sinks/elks: flags, signals and printing.
//
// # Subcommands
//
// list prints every element with a one-line summary; inspect NAME prints
// one element's parameters, with their types, defaults and ranges, and how
// it behaves. Both come from the registry that the parser uses.
//
// simulate URL plays the part of 46elks against an application (elkspipe's
// elks sink or any other server): it connects as 46elks does, sends hello,
// plays the audio it receives on a clock, answers each sync once the audio
// before it has been played, and prints a report (gaps, buffered audio,
// sync latencies, protocol violations). Its flags: -duration, -speed, -rtt,
// -record, -record-rate, -say, -say-file, -buffer-limit, -calls, -callid,
// -from, -to, -json, -v and -ca (a PEM file of the CAs to trust for a
// wss:// URL; elkspipe simulate -h describes them). It exits
// with 0 when the call ran, whatever the application did, 1 when it could
// not be made (connection refused, upgrade rejected), 2 for usage errors
// and 130 when interrupted.
//
// demo serves a built-in jingle, looped, as a 46elks application on
// 127.0.0.1 and calls it with the simulator: it needs no files and no
// account. Its flags: -duration, -speed, -rtt, -format, -record (heard.wav
// by default), -json and -v.
//
// serve ROUTES-FILE serves calls routed by their numbers: a file of
// "server PARAMS" (the elks sink's parameters), "route [from=P] [to=P]
// PIPELINE" and "default PIPELINE" lines, where a pattern P is a number, a
// prefix ending in * or *; the first matching route plays, and SIGHUP
// reloads the routes for new calls. serve -check checks the file. See
// docs/routing.md.
//
// # Pipelines
//
// A pipeline starts with one or more sources joined by +, goes through any
// number of transforms, and ends in a sink (wav, raw, null or elks). A
// stage is an element's name followed by values and key=value pairs: the
// values fill the element's positional parameters in order. Durations are Go durations or plain seconds (250ms,
// 1.5s, 2m, 3); rates and frequencies take an optional k (8k, 44.1k, 1k);
// levels are in dB (-6dB or -6); yes/no values are true/false, yes/no or
// on/off. Words may be quoted with '...' or "..." inside the pipeline text
// (file "my song.mp3"); a quoted word is one value, never key=value, while
// a quote after key= quotes the value (wav path="my file.wav"); \ escapes
// one character. Quote the whole pipeline for the shell, or write ! as
// separate words instead of |.
//
// Mistakes name the stage, the word and the nearest valid name:
//
//	elkspipe: stage 2 (resampel): unknown element "resampel"; did you mean "resample"?
//
// Formats are negotiated once, when the pipeline is built: if the sink
// needs another rate or channel count (raw rate=8k, the elks sink),
// channels and resample stages are inserted — downmix before resampling,
// upmix after, as SoX does — and -v prints them marked (auto). Items of a +
// sequence or a playlist are each converted to one format, the first
// file's, while generated sources (tone, silence, noise, dtmf without
// rate=) adopt the format of their neighbours instead of being resampled.
//
// A sink never writes onto a file that a stage reads (also through a
// link): such a pipeline is refused before anything is written, e.g.
//
//	elkspipe: wav "same.wav": the output is the input file "same.wav" of stage 1 (file)
//
// # Flags
//
// Flags come before the pipeline. -v prints the negotiated chain and every
// stream event (playlist items, loop iterations). -q silences warnings
// (skipped playlist items, a trim that starts past the end, fades longer
// than the stream). A server (elks) writes one log, in log/slog's
// text format, from its first line to its last: -v logs the chain there
// and every call's events at debug level, with each call's id, and -q
// keeps only errors. Its line "serving calls" gives the URL to configure
// at 46elks (ws://HOST:PORT/PATH, with ?token=xxx when a token is set: the
// token itself is never printed). -log-level debug|info|warn|error sets
// the server log's level in words (-v is debug, -q error) and -log-format
// json writes it as JSON lines. A token= of env:NAME or file:PATH is read
// from that variable or file, so that it does not show in ps. elkspipe
// version (or -version) prints the module version, VCS revision and Go
// version. -mp3-cache MiB sets the memory for the shared
// decodings of MP3 files that loops, playlists and calls replay (64; 0
// decodes every time). -render-cache MiB sets the memory for the shared
// renderings that the calls of a deterministic pipeline replay (256; 0:
// every call renders its own; see docs/sharing.md).
//
// # Exit status and signals
//
// A run that fails exits with status 1 and one line on standard error,
// naming the stage that failed:
//
//	elkspipe: file "hold.wav": wav: truncated file (it ends inside the fmt chunk)
//
// A usage error exits with 2, including a pipeline whose stages cannot
// work together (a ratio too large for one resample, a passthrough elks
// after a gain, an output that is also an input, an endless stream into a
// file without endless=true). The first SIGINT or
// SIGTERM stops cleanly — at once, even while a stage waits on a silent
// pipe — and finishes the output file (a WAV header gets its real sizes),
// exiting with 130: the run was interrupted. A server (elks) asked to stop
// drains: on SIGTERM its /readyz answers 503 at once and it still takes
// calls for its drain-delay (so that balancers notice; Ctrl-C skips it),
// then refuses new connections, lets its calls finish for its
// shutdown-timeout (1h), hangs up on the rest and exits with 0 once
// everything has closed: stopping is how a server's run ends. A second
// signal quits at once, with 130.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

const usage = `elkspipe runs audio pipelines.

Usage:
  elkspipe [flags] 'SOURCE [+ SOURCE...] | TRANSFORM | ... | SINK'
  elkspipe [flags] SOURCE ! TRANSFORM ! ... ! SINK     (no quoting needed)
  elkspipe list                 every element, with a summary
  elkspipe inspect NAME         an element's parameters, defaults and ranges
  elkspipe simulate URL [flags] play 46elks against an application (elkspipe simulate -h)
  elkspipe demo [flags]         serve a jingle and call it with the simulator: no files, no account
  elkspipe serve ROUTES-FILE    serve calls, routed by their numbers to pipelines (docs/routing.md)
  elkspipe version              the version: module, VCS revision, Go (also -version)

Stages: NAME { VALUE | KEY=VALUE }. Durations: 250ms, 1.5s, 2m, 3. Rates: 8k, 44.1k.
Gains: -6dB or -6.

Examples:
  elkspipe 'tone 440 dur=3s | wav out.wav'
  elkspipe 'file in.mp3 | mono | resample 8k | wav out-8k.wav'
  elkspipe 'playlist a.wav b.mp3 | loop 3 | fade in=200ms out=500ms | wav out.wav'

Flags:
`

// main runs the command. The first SIGINT or SIGTERM stops it cleanly
// (outputs finished, calls ended with bye after their grace period); a
// second one quits at once.
func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-signals
		if sig == syscall.SIGTERM {
			cancel(elks.ErrDrain) // a server drains: drain-delay, then shutdown-timeout
		} else {
			cancel(context.Canceled)
		}
		<-signals
		fmt.Fprintln(os.Stderr, "elkspipe: interrupted again: quitting at once")
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// run is the whole command, minus the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("elkspipe", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print the negotiated chain (automatic stages marked) and stream events")
	quiet := fs.Bool("q", false, "print nothing but errors (not even warnings: skipped playlist items, an empty trim, a fade longer than the stream)")
	logFormat := fs.String("log-format", "text", "a server's log: `text` (log/slog's key=value lines) or json")
	logLevel := fs.String("log-level", "info", "a server's log: debug, info, warn or error (-v is debug, -q error)")
	version := fs.Bool("version", false, "print the version (module, VCS revision, Go) and exit")
	mp3Cache := fs.Int("mp3-cache", sources.DefaultMP3CacheSize>>20, "`MiB` of memory for decoded MP3 files that loops, playlists and calls replay (0: decode every time)")
	applyCacheDir := addCacheFlag(fs)
	applyRenderCache := addRenderCacheFlag(fs)
	startProfile := addProfileFlags(fs)
	usageOn(fs, usage, stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *version {
		fmt.Fprintln(stdout, buildVersion())
		return exitOK
	}
	levelSet := false
	fs.Visit(func(f *flag.Flag) { levelSet = levelSet || f.Name == "log-level" })
	logOpts, err := parseLogOptions(*logFormat, *logLevel, levelSet, *verbose, *quiet)
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitUsage
	}
	if levelSet {
		*verbose, *quiet = logOpts.verbose(), logOpts.quiet()
	}
	if *mp3Cache < 0 || *mp3Cache > 1<<20 {
		fmt.Fprintf(stderr, "elkspipe: -mp3-cache %d: want 0 to 1048576 MiB\n", *mp3Cache)
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "mp3-cache" {
			sources.SetMP3CacheSize(int64(*mp3Cache) << 20)
		}
	})
	applyCacheDir()
	if err := applyRenderCache(); err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitUsage
	}
	stopProfile, err := startProfile()
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitFailed
	}
	defer stopProfile()
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return exitUsage
	}
	switch rest[0] {
	case "list":
		if len(rest) > 1 {
			fmt.Fprintln(stderr, "elkspipe: list takes no arguments")
			return exitUsage
		}
		pipeline.DefaultRegistry.WriteList(stdout)
		return exitOK
	case "inspect":
		if len(rest) != 2 {
			fmt.Fprintln(stderr, "elkspipe: usage: elkspipe inspect NAME")
			return exitUsage
		}
		if err := pipeline.DefaultRegistry.WriteInspect(stdout, rest[1]); err != nil {
			fmt.Fprintln(stderr, "elkspipe:", err)
			return exitUsage
		}
		return exitOK
	case "help":
		fs.Usage()
		return exitOK
	case "version":
		if len(rest) > 1 {
			fmt.Fprintln(stderr, "elkspipe: version takes no arguments")
			return exitUsage
		}
		fmt.Fprintln(stdout, buildVersion())
		return exitOK
	case "simulate":
		return runSimulate(ctx, rest[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, rest[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, rest[1:], logOpts, stdout, stderr)
	}

	for _, w := range rest[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if strings.HasPrefix(w, "-") && fs.Lookup(name) != nil {
			fmt.Fprintf(stderr, "elkspipe: the flag %s comes after the pipeline: give flags first (elkspipe %s 'PIPELINE')\n", w, w)
			return exitUsage
		}
	}
	var spec *pipeline.Spec
	if len(rest) == 1 {
		spec, err = pipeline.Parse(rest[0])
	} else {
		spec, err = pipeline.ParseWords(rest)
	}
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitUsage
	}
	if spec.Sink == nil {
		fmt.Fprintln(stderr, "elkspipe: the pipeline has no sink: end it with wav, raw, null or elks (elkspipe list shows them)")
		return exitUsage
	}
	g, err := spec.Graph()
	if err != nil {
		fmt.Fprintln(stderr, "elkspipe:", err)
		return exitUsage
	}
	// A server (elks) logs with slog, in one format from its first line
	// to its last; its calls' stream events are logged at debug level
	// (-v), with the call's id. The command's own lines join that log.
	_, serving := g.Sink.Sink.(pipeline.Server)
	out := printer{w: stderr}
	if serving {
		prev := slog.Default()
		out.log = logOpts.logger(stderr)
		slog.SetDefault(out.log)
		defer slog.SetDefault(prev)
	}
	// Build opens the chain, so the first events come before the chain is
	// known: they are held back and printed after it.
	var (
		mu       sync.Mutex
		building = true
		held     []pipeline.Event
	)
	show := func(e pipeline.Event) {
		switch {
		case (e.Kind == pipeline.ItemSkipped || e.Kind == pipeline.Warning) && !*quiet:
			out.warn(e.String())
		case *verbose:
			out.debug(e.String())
		}
	}
	ctx = pipeline.WithObserver(ctx, func(e pipeline.Event) {
		mu.Lock()
		defer mu.Unlock()
		if building {
			held = append(held, e)
			return
		}
		show(e)
	})
	p, err := pipeline.Build(ctx, g)
	mu.Lock()
	if err == nil && *verbose {
		out.chain(p.Describe())
	}
	for _, e := range held {
		show(e)
	}
	building, held = false, nil
	mu.Unlock()
	if err != nil {
		return failed(ctx, stderr, err, "elkspipe: interrupted before anything was written")
	}
	if sink, ok := g.Sink.Sink.(*elks.Sink); ok {
		defer reloadOnHangup(sink.Server())()
	}
	if err := p.Run(ctx); err != nil {
		if serving && err == ctx.Err() {
			// A server asked to stop (SIGTERM, Ctrl-C) that closed
			// cleanly has done its job: a service manager sees success.
			return exitOK
		}
		return failed(ctx, stderr, err, "elkspipe: interrupted; output closed cleanly")
	}
	return exitOK
}

// failed prints why a pipeline failed and returns the exit status: 130
// when it stopped because ctx was cancelled (printing interrupted), 2 for
// an error in how the pipeline is put together, 1 for the others.
func failed(ctx context.Context, stderr io.Writer, err error, interrupted string) int {
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintln(stderr, interrupted)
		return exitInterrupted
	case pipeline.IsConfigError(err):
		fmt.Fprintln(stderr, "elkspipe:", oneLine(err))
		return exitUsage
	}
	fmt.Fprintln(stderr, "elkspipe:", oneLine(err))
	return exitFailed
}

// oneLine keeps an error to its first line (recovered panics carry a stack,
// which -v would be the place for; the message itself comes first).
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
