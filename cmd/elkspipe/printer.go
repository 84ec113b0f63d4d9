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
