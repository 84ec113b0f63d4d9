package sinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/elkspipe/elkspipe/pipeline"
)

// stdout is where the path "-" writes; tests replace it.
var stdout io.Writer = os.Stdout

// openOutput returns where a sink writes: w when it is set, standard output
// for the path "-" (hidden behind writeOnly so that nothing tries to seek
// it), and otherwise the file at path, created or truncated. closeOutput
// closes the file, and does nothing for w and standard output.
func openOutput(path string, w io.Writer) (out io.Writer, closeOutput func() error, err error) {
	nothing := func() error { return nil }
	switch {
	case w != nil:
		return w, nothing, nil
	case path == "-":
		return writeOnly{stdout}, nothing, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// checkSource returns an error when src is nil or its format is not one a
// sink can write (see pipeline.Format.Validate). Every sink calls it before
// it opens its output, so nothing is created for a stream it refuses.
func checkSource(src pipeline.Source) error {
	if src == nil {
		return errors.New("nil source")
	}
	if err := src.Format().Validate(); err != nil {
		return fmt.Errorf("the source's format: %w", err)
	}
	return nil
}

// sinkInput checks src and converts it to the format the sink wants of
// it (want, from its Want), unless it has it already. The conversion is
// not to be closed: closing it would close src, which the sink does not
// own.
func sinkInput(src pipeline.Source, want func(pipeline.Format) pipeline.Format) (pipeline.Source, error) {
	if err := checkSource(src); err != nil {
		return nil, err
	}
	if w := want(src.Format()); w != src.Format() {
		conv, _, err := pipeline.Convert(src, w)
		if err != nil {
			return nil, err
		}
		return conv, nil
	}
	return src, nil
}

// drain reads src to its end in reads of up to chunk frames and hands the
// samples of each read to use. It checks ctx before every read and returns
// ctx.Err() once it is cancelled; it returns nil at the end of the stream,
// and io.ErrNoProgress when src keeps returning no frames and no error (see
// pipeline.ReadSome).
func drain(ctx context.Context, src pipeline.Source, chunk int, use func(samples []float32) error) error {
	ch := src.Format().Channels
	if ch < 1 {
		return fmt.Errorf("source has %d channels", ch)
	}
	buf := make([]float32, chunk*ch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := pipeline.ReadSome(src, buf)
		if n < 0 || n > chunk {
			return fmt.Errorf("source returned %d frames for a %d-frame buffer", n, chunk)
		}
		if n > 0 {
			if uerr := use(buf[:n*ch]); uerr != nil {
				return uerr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
