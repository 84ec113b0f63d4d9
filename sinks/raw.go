package sinks

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "raw",
		Kind:    pipeline.KindSink,
		Summary: "write headerless samples to a file or stdout",
		Example: "tone 1k dur=1s | raw out.ul enc=ulaw rate=8k",
		Details: rawDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the file to write (created or truncated), or - for stdout"},
			{Name: "enc", Type: pipeline.TypeEnum, Choices: append([]string(nil), pcm.Names()...),
				Default: pipeline.S16LE.String(),
				Doc:     "sample encoding: s16le, f32le, ulaw (G.711 µ-law) or alaw (G.711 A-law)"},
			pipeline.Param{Name: "rate", Type: pipeline.TypeRate,
				Doc: "sample rate to convert to (absent: keep the stream's)"}.Range(1, pipeline.MaxRate),
			pipeline.Param{Name: "channels", Type: pipeline.TypeInt,
				Doc: "channel count to convert to (absent: keep the stream's)"}.Range(1, pipeline.MaxChannels),
			{Name: "endless", Type: pipeline.TypeBool, Default: "false",
				Doc: "accept a stream that never ends (tone without dur=, loop without a count) into a file, written until interrupted; without it such a pipeline is refused (- is never refused)"},
		},
		NewSink: func(a pipeline.Args) (pipeline.Sink, error) {
			enc, err := pipeline.ParseEncoding(a.String("enc"))
			if err != nil {
				return nil, err
			}
			return Raw(a.String("path"), RawOptions{Encoding: enc, Rate: a.Int("rate"), Channels: a.Int("channels"),
				Endless: a.Bool("endless")})
		},
	})
}

// RawOptions configures a raw sink.
type RawOptions struct {
	// Encoding of the samples; the zero value is pipeline.S16LE.
	Encoding pipeline.Encoding
	// Rate, if not 0, is the sample rate to write: the stream is resampled
	// to it. 0 writes the stream's own rate.
	Rate int
	// Channels, if not 0, is the channel count to write: the stream is
	// remixed to it. 0 writes the stream's own channels.
	Channels int
	// Endless lets a stream that never ends be written to a named file,
	// until ctx is cancelled. Without it, Build refuses such a pipeline
	// (see pipeline.EndNeeder): a disk is finite. Standard output ("-"),
	// often a pipe into another program, and the writers of RawTo are
	// never refused.
	Endless bool
}

func (o RawOptions) check() error {
	if o.Encoding.Size() == 0 {
		return fmt.Errorf("unknown encoding %d", int(o.Encoding))
	}
	if o.Rate < 0 || o.Rate > pipeline.MaxRate {
		return fmt.Errorf("sample rate %d out of range 1..%d", o.Rate, pipeline.MaxRate)
	}
	if o.Channels < 0 || o.Channels > pipeline.MaxChannels {
		return fmt.Errorf("channel count %d out of range 1..%d", o.Channels, pipeline.MaxChannels)
	}
	return nil
}

// Raw returns a sink that writes headerless samples to the file at path
// (created or truncated when Run starts), or to standard output for "-"
// (which is not closed). Output is buffered and flushed when the stream
// ends, fails or is cancelled, so everything read before that is written.
// With opt.Rate or opt.Channels set the sink is a pipeline.Negotiator, so
// Build inserts the converters; Run converts by itself when handed a stream
// in another format.
func Raw(path string, opt RawOptions) (pipeline.Sink, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path (give a file name or - for stdout)")
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	return &rawSink{path: path, opt: opt}, nil
}

// RawTo returns a sink like Raw that writes to w, which it does not close.
func RawTo(w io.Writer, opt RawOptions) (pipeline.Sink, error) {
	if w == nil {
		return nil, fmt.Errorf("nil writer")
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	return &rawSink{w: w, opt: opt}, nil
}

type rawSink struct {
	path string
	w    io.Writer
	opt  RawOptions
}

// NeedsEnd reports whether Build must refuse an endless stream: for a
// named file, unless opt.Endless.
func (s *rawSink) NeedsEnd() bool { return s.w == nil && s.path != "-" && !s.opt.Endless }

// Want returns offered with the rate and channels of the options applied.
func (s *rawSink) Want(offered pipeline.Format) pipeline.Format {
	if s.opt.Rate > 0 {
		offered.Rate = s.opt.Rate
	}
	if s.opt.Channels > 0 {
		offered.Channels = s.opt.Channels
	}
	return offered
}

// Run writes src to the sink's destination until src ends, fails or ctx is
// cancelled (then it returns ctx.Err()). It does not close src.
func (s *rawSink) Run(ctx context.Context, src pipeline.Source) (err error) {
	src, err = sinkInput(src, s.Want)
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
	bw := bufio.NewWriterSize(w, 64<<10)
	err = writeEncoded(ctx, bw, src, s.opt.Encoding)
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// writeEncoded reads src to its end, writing its samples encoded as enc.
func writeEncoded(ctx context.Context, w io.Writer, src pipeline.Source, enc pipeline.Encoding) error {
	const chunk = 4096
	out := make([]byte, 0, chunk*src.Format().Channels*enc.Size())
	return drain(ctx, src, chunk, func(samples []float32) error {
		out = pcm.Append(out[:0], samples, enc)
		_, err := w.Write(out)
		return err
	})
}
