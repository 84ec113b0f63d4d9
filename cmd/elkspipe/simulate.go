package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/internal/fdlimit"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

const simulateUsage = `elkspipe simulate plays the 46elks Realtime Voice API against an application:
it connects to URL as 46elks does for every call, sends hello, plays the audio it
receives on a clock, answers each sync once the audio before it has played, ends
the call with bye "error" if more than the buffer limit is buffered, hangs up after
--duration, and reports what it saw (gaps, buffer, syncs, protocol violations).

Usage:
  elkspipe simulate URL [flags]          (flags may come before or after URL)

Examples:
  elkspipe simulate ws://127.0.0.1:8095/ --duration 30s --record heard.wav
  elkspipe simulate ws://127.0.0.1:8095/hold?token=s3cret --speed 50 --rtt 150ms --json
  elkspipe simulate ws://127.0.0.1:8095/ --say 'tone 440 dur=2s' --calls 10
  elkspipe simulate wss://calls.example.com/hold --ca ca.pem
  elkspipe simulate ws://127.0.0.1:8095/ --dtmf '1@2s,#@4s' --duration 8s
  elkspipe simulate ws://127.0.0.1:8095/ --calls 1000 --rate 100 --duration 60s --summary

Durations are call time: at --speed 10, --duration 30s takes 3 s.

Flags:
`

// durationFlag is a flag.Value of a duration in pipe syntax (250ms, 1.5s, 3).
type durationFlag struct{ d *time.Duration }

func (v durationFlag) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationFlag) Set(s string) error {
	d, err := pipeline.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("negative duration %s", s)
	}
	*v.d = d
	return nil
}

// sizeFlag is a flag.Value of a byte count: 30MB, 500kB, 1MiB, 30000000.
type sizeFlag struct{ n *int64 }

func (v sizeFlag) String() string {
	if v.n == nil {
		return ""
	}
	if *v.n%1_000_000 == 0 && *v.n > 0 {
		return strconv.FormatInt(*v.n/1_000_000, 10) + "MB"
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// parseSize reads a byte count with an optional unit: B, kB/k, MB/M, GB/G
// (powers of 1000) or KiB, MiB, GiB (powers of 1024), in any case.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || v <= 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("bad size %q (want e.g. 30MB, 500kB, 1MiB or a number of bytes)", s)
	}
	return int64(v * mult), nil
}

// runSimulate is `elkspipe simulate`: it returns the exit status.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("elkspipe simulate", flag.ContinueOnError)
	opt := elkstest.Options{Duration: 30 * time.Second, BufferLimit: elkstest.DefaultBufferLimit}
	fs.Var(durationFlag{&opt.Duration}, "duration", "how long the caller stays on the line (`DUR` of call time); 0: until the application ends the call")
	fs.Float64Var(&opt.Speed, "speed", 1, "how many times faster than real time the call runs")
	fs.Var(durationFlag{&opt.RTT}, "rtt", "round-trip delay (`DUR` of call time) added to every sync answer")
	fs.StringVar(&opt.Record, "record", "", "write what the caller heard, from the call's start, to this WAV `FILE` ({callid} and {n} are replaced)")
	fs.IntVar(&opt.RecordRate, "record-rate", 0, "sample rate of the recording; 0: that of the first audio")
	say := fs.String("say", "", "the caller's voice: sources and transforms in pipe syntax, e.g. 'tone 440 dur=2s', sent once the application asks for it with listening")
	sayFile := fs.String("say-file", "", "the caller's voice from a WAV or MP3 `FILE`")
	dtmf := fs.String("dtmf", "", "keys the caller presses, `KEY@TIME,...` of call time, e.g. '1@2s,5@4s': DTMF tones (100 ms at -12 dBFS) mixed into the caller's audio; the report says what the caller heard after each")
	fs.StringVar(&opt.CallID, "callid", "", "call id in hello (default: random; with --calls, ID-1, ID-2, ...)")
	fs.StringVar(&opt.From, "from", elkstest.DefaultFrom, "caller number in hello")
	fs.StringVar(&opt.To, "to", elkstest.DefaultTo, "called number in hello")
	calls := fs.Int("calls", 1, "number of concurrent calls")
	rate := fs.Float64("rate", 0, "start calls at this mean rate per second of wall time, arriving at random as real callers do (Poisson); 0: all at once")
	summaryOnly := fs.Bool("summary", false, "with --calls, print only the summary and keep no call's report once it has ended (for thousands of calls)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	firstAudioTimes := fs.Bool("first-audio-times", false, "with --summary --json, add every call's time from hello to first audio, in seconds (first_audio_seconds), so that the summaries of several simulators can be merged exactly")
	fs.Var(sizeFlag{&opt.BufferLimit}, "buffer-limit", "most audio buffered before the call ends with an error (`SIZE` in bytes as sent: 30MB, 500kB)")
	verbose := fs.Bool("v", false, "log the simulator's events to standard error")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the simulator to `FILE` (go tool pprof FILE), to see what it spends its time on")
	caFile := fs.String("ca", "", "trust the certificates in this PEM `FILE` (a CA, or a self-signed certificate) for a wss:// URL, instead of the system's")
	usageOn(fs, simulateUsage, stderr)
	// Go's flag package stops at the first argument that is not a flag:
	// parse what comes before the URL, then what comes after it.
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "elkspipe simulate: no URL to call (elkspipe simulate ws://HOST:PORT/PATH)")
		return exitUsage
	}
	opt.URL = fs.Arg(0)
	if code, ok := parseFlags(fs, fs.Args()[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "elkspipe simulate: unexpected argument %q after the URL (quote the --say pipeline)\n", fs.Arg(0))
		return exitUsage
	}
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "elkspipe simulate: "+format+"\n", args...)
		return exitUsage
	}
	if opt.Speed <= 0 {
		return usage("--speed %g: want more than 0", opt.Speed)
	}
	if *dtmf != "" {
		ps, err := elkstest.ParsePresses(*dtmf)
		if err != nil {
			return usage("--dtmf: %v", err)
		}
		opt.DTMF = ps
	}
	if err := opt.Check(); err != nil {
		return usage("%v", err)
	}
	if *calls < 1 {
		return usage("--calls %d: want at least 1", *calls)
	}
	if *firstAudioTimes && (!*summaryOnly || !*jsonOut) {
		return usage("--first-audio-times goes into the JSON summary: give --summary --json with it")
	}
	if why := fdlimit.Check(*calls); why != "" {
		fmt.Fprintf(stderr, "elkspipe simulate: warning: %s\n", why)
	}
	if *caFile != "" {
		cfg, err := elkstest.LoadCA(*caFile)
		if err != nil {
			return usage("--ca: %v", err)
		}
		opt.TLS = cfg
	}
	load := elkstest.Load{Calls: *calls, Rate: *rate}
	if *rate < 0 || *rate > 1e6 || *rate != *rate {
		return usage("--rate %g: want 0 (all at once) up to 1000000 calls per second", *rate)
	}
	switch {
	case *say != "" && *sayFile != "":
		return usage("--say and --say-file both given: choose one")
	case *say != "":
		open, err := pipeline.OpenerText(*say)
		if err != nil {
			return usage("--say: %v", err)
		}
		opt.Say = open
	case *sayFile != "":
		opt.Say = sources.File(*sayFile)
	}
	if opt.Say != nil {
		// Fail now, not in the middle of the call, if it cannot be opened.
		src, err := opt.Say(ctx)
		if err != nil {
			what := "--say"
			if *sayFile != "" {
				what = fmt.Sprintf("--say-file %q", *sayFile)
			}
			fmt.Fprintf(stderr, "elkspipe simulate: the caller's voice (%s): %v\n", what, oneLine(err))
			return exitFailed
		}
		pipeline.Close(src)
	}
	if *verbose {
		opt.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "elkspipe simulate: --cpuprofile: %v\n", err)
			return exitFailed
		}
		defer stop()
	}

	if *summaryOnly || *rate > 0 {
		return simulateMany(ctx, opt, load, *summaryOnly, *jsonOut, *firstAudioTimes, stdout, stderr)
	}
	stopLag := elkstest.MeasureLag()
	reports, err := elkstest.Calls(ctx, opt, *calls)
	lag := stopLag()
	interrupted := ctx.Err() != nil && errors.Is(err, ctx.Err())
	if err != nil && !interrupted {
		for _, e := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "elkspipe simulate: %s\n", e)
		}
	}
	var ran []*elkstest.Report
	for _, r := range reports {
		if r != nil {
			ran = append(ran, r)
		}
	}
	if len(ran) > 0 {
		if werr := writeReports(stdout, reports, &lag, *calls, *jsonOut); werr != nil {
			fmt.Fprintln(stderr, "elkspipe simulate:", werr)
			return exitFailed
		}
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "elkspipe simulate: interrupted; the caller hung up")
		return exitInterrupted
	case err != nil:
		return exitFailed
	}
	return exitOK
}

// writeReports prints one report, or every call's report and a summary
// with the simulator's own lag (nil: not measured).
func writeReports(w io.Writer, reports []*elkstest.Report, lag *elkstest.Lag, calls int, asJSON bool) error {
	summary := func() elkstest.Summary {
		s := elkstest.Summarize(reports)
		s.SimulatorLag = lag
		return s
	}
	if asJSON {
		var v any = reports[0]
		if calls > 1 {
			v = struct {
				Calls   []*elkstest.Report `json:"calls"`
				Summary elkstest.Summary   `json:"summary"`
			}{reports, summary()}
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	if calls == 1 {
		return reports[0].WriteText(w)
	}
	for i, r := range reports {
		if r == nil {
			fmt.Fprintf(w, "call %d: could not be made\n\n", i+1)
			continue
		}
		fmt.Fprintf(w, "call %d: ", i+1)
		if err := r.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "summary: ")
	return summary().WriteText(w)
}
