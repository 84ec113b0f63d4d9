package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logOptions are the server log's settings: -log-format, -log-level,
// and the shorthands -v (debug) and -q (error).
type logOptions struct {
	format string // "text" or "json"
	level  slog.Level
}

// parseLogOptions checks -log-format and -log-level and folds -v and -q
// into the level; levelSet says whether -log-level was given. Giving it
// with -v or -q is an error: they would contradict each other.
func parseLogOptions(format, level string, levelSet, verbose, quiet bool) (logOptions, error) {
	o := logOptions{format: strings.ToLower(format), level: slog.LevelInfo}
	switch o.format {
	case "text", "json":
	default:
		return o, fmt.Errorf("-log-format %q: want text or json", format)
	}
	switch {
	case levelSet && (verbose || quiet):
		return o, fmt.Errorf("-log-level with -v or -q: give one of them (-v is -log-level debug, -q is -log-level error)")
	case levelSet:
		switch strings.ToLower(level) {
		case "debug":
			o.level = slog.LevelDebug
		case "info":
			o.level = slog.LevelInfo
		case "warn", "warning":
			o.level = slog.LevelWarn
		case "error":
			o.level = slog.LevelError
		default:
			return o, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
		}
	case verbose:
		o.level = slog.LevelDebug
	case quiet:
		o.level = slog.LevelError
	}
	return o, nil
}

// verbose says whether the server logs the chain and stream events.
func (o logOptions) verbose() bool { return o.level <= slog.LevelDebug }

// quiet says whether warnings are left out.
func (o logOptions) quiet() bool { return o.level > slog.LevelWarn }

// logger is the server's log on w.
func (o logOptions) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.level}
	if o.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
