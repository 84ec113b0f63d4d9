package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// simulateMany runs the calls of load with elkstest.Drive and prints their
// reports as runSimulate does (every call's report, then the summary),
// or, with summaryOnly, the summary alone, keeping no report once its
// call has been summed up. It returns the exit status.
//
// With firstAudioTimes, the JSON summary carries every call's time to
// first audio (first_audio_seconds), for merging the summaries of
// several simulators (bench/scale.sh).
func simulateMany(ctx context.Context, opt elkstest.Options, load elkstest.Load, summaryOnly, asJSON, firstAudioTimes bool, stdout, stderr io.Writer) int {
	var (
		sum     elkstest.Summarizer
		reports []*elkstest.Report
		errs    []error
		started int // calls start in order: the highest number given to done
	)
	if !summaryOnly {
		reports = make([]*elkstest.Report, load.Calls)
	}
	stopLag := elkstest.MeasureLag()
	err := elkstest.Drive(ctx, opt, load, func(n int, r *elkstest.Report, err error) {
		sum.Add(r)
		started = max(started, n)
		if reports != nil {
			reports[n-1] = r
		}
		switch {
		case err != nil && r == nil:
			errs = append(errs, fmt.Errorf("call %d: %w", n, err))
		case err != nil && !errors.Is(err, ctx.Err()):
			errs = append(errs, err)
		}
	})
	lag := stopLag()
	interrupted := ctx.Err() != nil && errors.Is(err, ctx.Err())
	if err != nil && !interrupted {
		fmt.Fprintf(stderr, "elkspipe simulate: %v\n", err)
		return exitFailed
	}
	for _, e := range errs {
		for _, line := range strings.Split(e.Error(), "\n") {
			fmt.Fprintf(stderr, "elkspipe simulate: %s\n", line)
		}
	}
	s := sum.Summary()
	s.SimulatorLag = &lag
	if s.Calls > s.Failed {
		var werr error
		switch {
		case !summaryOnly:
			// Calls that an interruption kept from starting are not reported.
			werr = writeReports(stdout, reports[:started], &lag, load.Calls, asJSON)
		case asJSON:
			out := struct {
				Summary    elkstest.Summary `json:"summary"`
				FirstAudio []float64        `json:"first_audio_seconds,omitempty"`
			}{Summary: s}
			if firstAudioTimes {
				out.FirstAudio = sum.FirstAudioTimes()
			}
			werr = writeJSON(stdout, out)
		default:
			fmt.Fprint(stdout, "summary: ")
			werr = s.WriteText(stdout)
		}
		if werr != nil {
			fmt.Fprintln(stderr, "elkspipe simulate:", werr)
			return exitFailed
		}
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "elkspipe simulate: interrupted; the caller hung up")
		return exitInterrupted
	case len(errs) > 0:
		return exitFailed
	}
	return exitOK
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
