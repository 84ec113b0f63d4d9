package elkstest

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// WriteText prints the report for people, one topic a line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("call %s from %s to %s: %s of call time (%s of wall time at speed %g)",
		r.CallID, r.From, r.To, fmtSec(r.Duration), fmtSec(r.WallSeconds), r.Speed)
	p("ended: %s", r.End.describe())
	p("audio received: %s in %d messages, %s; sendings: %s",
		fmtSec(r.Audio.Seconds), r.Audio.Messages, fmtBytes(r.Audio.Bytes), fmtCounts(r.Sendings))
	if r.Played > 0 || r.Dropped > 0 {
		p("first audio: %s after the call started (silence until then)", fmtSec(r.FirstAudio))
	} else {
		p("first audio: none")
	}
	p("played: %s, dropped: %s; max buffered: %s, %s (limit %s)",
		fmtSec(r.Played), fmtSec(r.Dropped), fmtSec(r.MaxBuffered.Seconds), fmtBytes(r.MaxBuffered.Bytes), fmtBytes(r.BufferLimit))
	if r.Gaps.Count == 0 {
		p("gaps: none")
	} else {
		var list []string
		for i, g := range r.Gaps.List {
			if i == 5 {
				list = append(list, fmt.Sprintf("and %d more", r.Gaps.Count-5))
				break
			}
			list = append(list, fmt.Sprintf("%s at %s", fmtSec(g.Seconds), fmtSec(g.At)))
		}
		p("gaps: %d, %s in all: %s", r.Gaps.Count, fmtSec(r.Gaps.Seconds), strings.Join(list, ", "))
	}
	s := r.Syncs
	if s.Answered > 0 {
		p("syncs: %d requested, %d answered; latency min %s, avg %s, max %s",
			s.Requests, s.Answered, fmtSec(s.MinLatency), fmtSec(s.AvgLatency), fmtSec(s.MaxLatency))
	} else {
		p("syncs: %d requested, none answered", s.Requests)
	}
	p("interrupts: %d", r.Interrupts)
	if r.CallerAudio.NeverAsked {
		p("caller audio: none sent: the application never asked for it (no listening message)")
	} else if len(r.Listenings) > 0 || r.CallerAudio.Messages > 0 || r.CallerAudio.Error != "" {
		line := fmt.Sprintf("caller audio: %s in %d messages (listening: %s)",
			fmtSec(r.CallerAudio.Seconds), r.CallerAudio.Messages, fmtCounts(r.Listenings))
		if r.CallerAudio.Late > 0 {
			line += fmt.Sprintf("; %d sent more than %v late by the simulator (the latest %s)", r.CallerAudio.Late, LateBound, fmtSec(r.CallerAudio.MaxLate))
		}
		if r.CallerAudio.Error != "" {
			line += "; " + r.CallerAudio.Error
		}
		p("%s", line)
	}
	if e := r.Echo; e != nil {
		p("echo: what the caller said came back %s later (max %s, correlation %.2f over %d windows of 2 s; includes the API's 20 ms messages)",
			fmtSec(e.Latency), fmtSec(e.Max), e.Correlation, e.Windows)
	}
	for _, d := range r.Digits {
		p("%s", digitLine(d))
	}
	if len(r.Violations) == 0 {
		p("protocol violations: none")
	} else {
		var kinds []string
		for k, n := range r.Violations {
			kinds = append(kinds, fmt.Sprintf("%s ×%d", k, n))
		}
		sort.Strings(kinds)
		p("protocol violations: %s", strings.Join(kinds, ", "))
		for i, pr := range r.Problems {
			if i == 10 {
				p("  ... (%d listed in the JSON report)", len(r.Problems))
				break
			}
			p("  at %s: %s: %s", fmtSec(pr.At), pr.Kind, pr.Detail)
		}
	}
	if r.LateMessages > 0 {
		p("messages after the simulator's bye: %d", r.LateMessages)
	}
	if rec := r.Record; rec != nil {
		if rec.Error != "" {
			p("recording: %s: %s", rec.Path, rec.Error)
		} else {
			p("recorded: %s (%s at %d Hz)", rec.Path, fmtSec(rec.Seconds), rec.Rate)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (e End) describe() string {
	var s string
	switch {
	case e.By == elks.ByApp:
		s = "the application sent bye"
	case e.By == elks.ByAPI && e.Reason == elks.ReasonHangup:
		s = "the caller hung up"
		if e.Cancelled {
			s += " (interrupted)"
		}
	case e.By == elks.ByAPI:
		s = "the simulated API ended the call"
	case e.By == elks.ByDrop:
		s = e.Message
	default:
		s = "not ended"
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" (simulator's bye: %s, %q)", e.Reason, e.Message)
	}
	if e.Error != "" {
		s += ": " + e.Error
	}
	return s
}

func fmtSec(s float64) string {
	switch {
	case s == 0:
		return "0 s"
	case s < 0.1:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 100:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

func fmtBytes(n int64) string {
	switch {
	case n < 10_000:
		return fmt.Sprintf("%d B", n)
	case n < 10_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func fmtCounts[K ~string](m map[K]int) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// WriteText prints the summary for people.
func (s Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls, %d could not be made; ended by: %s\n", s.Calls, s.Failed, fmtCounts(s.EndedBy))
	fmt.Fprintf(&b, "played: %s in all; gaps: %d in %d calls, %s in all\n", fmtSec(s.Played), s.Gaps, s.CallsWithGaps, fmtSec(s.GapSeconds))
	fmt.Fprintf(&b, "max buffered: %s, %s; syncs answered: %d, max latency %s\n",
		fmtSec(s.MaxBuffered.Seconds), fmtBytes(s.MaxBuffered.Bytes), s.Syncs, fmtSec(s.MaxLatency))
	if f := s.FirstAudio; f.Count > 0 {
		fmt.Fprintf(&b, "first audio: p50 %s, p99 %s, max %s (over %d calls)\n", fmtSec(f.P50), fmtSec(f.P99), fmtSec(f.Max), f.Count)
	} else {
		fmt.Fprintf(&b, "first audio: none played\n")
	}
	if e := s.Echo; e.Count > 0 {
		fmt.Fprintf(&b, "echo latency: p50 %s, p99 %s, max %s (over %d calls)\n", fmtSec(e.P50), fmtSec(e.P99), fmtSec(e.Max), e.Count)
	}
	if s.CallerLate > 0 {
		fmt.Fprintf(&b, "caller audio sent late by the simulator (more than %v): %d messages, the latest %s\n",
			LateBound, s.CallerLate, fmtSec(s.CallerMaxLate))
	}
	fmt.Fprintf(&b, "protocol violations: %s\n", fmtCounts(s.Violations))
	if l := s.SimulatorLag; l != nil {
		fmt.Fprintf(&b, "simulator lag: max %s", fmtSec(l.Max))
		if l.Doubtful() {
			fmt.Fprintf(&b, ", %s of the run at or above %v: the simulator was short of CPU, and some of the gaps,"+
				" late syncs and first-audio times above may be its own (give it a core of its own, or fewer calls)",
				fmtSec(l.Above), LagBound)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// digitLine renders what happened after a key the caller pressed.
func digitLine(d DigitReport) string {
	line := fmt.Sprintf("key %s at %s: ", d.Key, fmtSec(d.At))
	if !d.Sent {
		return line + "never sent (pressed before the application asked for the caller's audio, or after the call)"
	}
	if d.Interrupt != nil {
		line += fmt.Sprintf("interrupt at %s, ", fmtSec(*d.Interrupt))
	} else {
		line += "no interrupt, "
	}
	if d.Heard == nil {
		return line + "no audio heard after it"
	}
	return line + fmt.Sprintf("new audio heard at %s (%s after the key)", fmtSec(*d.Heard), fmtSec(*d.Latency))
}
