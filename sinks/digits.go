package sinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/internal/dtmf"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "digits",
		Kind:    pipeline.KindSink,
		Summary: "detect DTMF (touch-tone) digits and print each with its time",
		Example: "file voicemail.wav | digits",
		Details: digitsDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Default: "-",
				Doc: "the file to write the digits to (created or truncated), or - for stdout"},
			{Name: "compact", Type: pipeline.TypeBool, Default: "no",
				Doc: "print the digits as one line (159#) instead of a line per digit with its time"},
		},
		NewSink: func(a pipeline.Args) (pipeline.Sink, error) {
			return Digits(a.String("path"), DigitsOptions{Compact: a.Bool("compact")})
		},
	})
}

// Digit is a DTMF key press that the digits sink found.
type Digit struct {
	// Key is '0'-'9', '*', '#' or 'A'-'D'.
	Key byte
	// At is when the digit's tone started, from the start of the stream
	// (within ±2.5 ms).
	At time.Duration
	// Len is how long the tone had lasted when it proved the digit: at
	// least 35 ms. The digit is reported then, while the key may still be
	// held.
	Len time.Duration
}

// String renders d as the digits sink prints it: "0.520s 5".
func (d Digit) String() string { return fmt.Sprintf("%.3fs %c", d.At.Seconds(), d.Key) }

// DigitsOptions configures a digits sink.
type DigitsOptions struct {
	// Compact prints the digits on one line, without times, as they come,
	// and ends the line when the stream ends.
	Compact bool
	// OnDigit, if set, is called for every digit, from the goroutine that
	// runs the sink, before the digit is printed. It must be quick.
	OnDigit func(Digit)
}

// Digits returns a sink that detects the DTMF digits of its stream (see
// docs/dtmf.md for the limits: ITU-T Q.24) and writes them to the file at
// path (created or truncated when Run starts), or to standard output for
// "-": one line per digit, "0.520s 5" (its start in seconds and the key),
// written as soon as the digit is detected, or all on one line with
// opt.Compact. The sink listens to one channel: it is a
// pipeline.Negotiator that asks for mono at the stream's rate (8 kHz for
// rates below 8 kHz or above 192 kHz), and Run converts by itself when
// handed another format.
func Digits(path string, opt DigitsOptions) (pipeline.Sink, error) {
	if path == "" {
		return nil, errors.New("empty path (give a file name or - for stdout)")
	}
	return &digitsSink{path: path, opt: opt}, nil
}

// DigitsTo returns a sink like Digits that writes to w, which it does not
// close; w may be nil to write nothing (with opt.OnDigit, say).
func DigitsTo(w io.Writer, opt DigitsOptions) pipeline.Sink {
	if w == nil {
		w = io.Discard
	}
	return &digitsSink{w: w, opt: opt}
}

type digitsSink struct {
	path string
	w    io.Writer
	opt  DigitsOptions
}

// Want asks for one channel at the offered rate, or at 8 kHz when the
// detector does not work at the offered rate.
func (s *digitsSink) Want(offered pipeline.Format) pipeline.Format {
	if offered.Rate < dtmf.MinRate || offered.Rate > dtmf.MaxRate {
		offered.Rate = 8000
	}
	offered.Channels = 1
	return offered
}

// Run detects digits in src until it ends, fails or ctx is cancelled (then
// it returns ctx.Err()), writing each as it is found. It does not close
// src.
func (s *digitsSink) Run(ctx context.Context, src pipeline.Source) (err error) {
	src, err = sinkInput(src, s.Want)
	if err != nil {
		return err
	}
	rate := src.Format().Rate
	det, err := dtmf.New(rate)
	if err != nil {
		return err
	}
	w, closeOutput, err := openOutput(s.path, s.w)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeOutput(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	found := 0
	err = drain(ctx, src, 4096, func(samples []float32) error {
		for _, e := range det.Write(samples) {
			if e.End {
				continue
			}
			d := Digit{Key: e.Digit, At: samplesToDuration(e.Start, rate), Len: samplesToDuration(e.Len, rate)}
			if s.opt.OnDigit != nil {
				s.opt.OnDigit(d)
			}
			found++
			var werr error
			if s.opt.Compact {
				_, werr = w.Write([]byte{d.Key})
			} else {
				_, werr = fmt.Fprintln(w, d)
			}
			if werr != nil {
				return werr
			}
		}
		return nil
	})
	if s.opt.Compact && found > 0 {
		if _, werr := io.WriteString(w, "\n"); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// samplesToDuration returns the duration of n samples at rate.
func samplesToDuration(n int64, rate int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(rate)
}
