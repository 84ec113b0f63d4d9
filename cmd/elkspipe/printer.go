package main

import (
	"fmt"
	"io"
	"log/slog"
)

// printer prints the command's own lines (the -v chain, stream events,
// warnings): as "elkspipe: ..." lines for a pipeline that runs once, or
// into the log of a server, so that its output keeps one format.
type printer struct {
	w   io.Writer
	log *slog.Logger // nil: plain lines
}

// serverLogger is the log of a server pipeline: text lines on w, at
// debug level with -v (every call's stream events), at error level with
// -q, at info level otherwise.
func serverLogger(w io.Writer, verbose, quiet bool) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case verbose:
		level = slog.LevelDebug
	case quiet:
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func (p printer) chain(desc string) {
	if p.log != nil {
		p.log.Info("pipeline", "chain", desc)
		return
	}
	fmt.Fprintln(p.w, "elkspipe: chain:", desc)
}

func (p printer) warn(msg string) {
	if p.log != nil {
		p.log.Warn(msg)
		return
	}
	fmt.Fprintln(p.w, "elkspipe: warning:", msg)
}

func (p printer) debug(msg string) {
	if p.log != nil {
		p.log.Debug(msg)
		return
	}
	fmt.Fprintln(p.w, "elkspipe:", msg)
}
