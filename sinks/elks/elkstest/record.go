package elkstest

import (
	"fmt"
	"io"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/internal/callfile"
	"github.com/elkspipe/elkspipe/transforms"
)

// recorder writes what the caller heard to a 16-bit mono WAV file, at
// one rate: audio at other rates goes through a resampler, which runs in
// its own goroutine while audio at that rate lasts.
type recorder struct {
	f     *callfile.Recorder
	fixed int // the rate asked for, 0 for the first audio's
	conv  *converter
	zeros []float32
	err   error
}

// createRecorder creates the recording at path (replacing a file there),
// or returns nil when path is "".
func createRecorder(path string, rate int) (*recorder, error) {
	if path == "" {
		return nil, nil
	}
	f, err := callfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the recording: %v", err)
	}
	return &recorder{f: f, fixed: rate}, nil
}

// discard removes a recording whose call never happened.
func (r *recorder) discard() {
	if r != nil {
		r.f.Discard()
	}
}

func (r *recorder) fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// start writes the header, at the first audio.
func (r *recorder) start(rate int) {
	if r.fixed != 0 {
		rate = r.fixed
	}
	r.fail(r.f.Start(rate))
}

// write records mono samples at rate.
func (r *recorder) write(samples []float32, rate int) {
	if r.err != nil {
		return // reported at the end
	}
	if !r.f.Started() {
		if r.start(rate); r.err != nil {
			return
		}
	}
	if r.conv != nil && r.conv.rate != rate {
		r.fail(r.conv.finish())
		r.conv = nil
	}
	if rate == r.f.Rate() {
		r.fail(r.f.Write(samples))
		return
	}
	if r.conv == nil {
		conv, err := startConverter(rate, r.f.Rate(), r.f)
		if err != nil {
			r.fail(err)
			return
		}
		r.conv = conv
	}
	r.conv.push(samples)
}

// silence records n frames of silence at rate.
func (r *recorder) silence(n int64, rate int) {
	if r.err == nil && r.conv == nil && r.f.Started() && rate == r.f.Rate() {
		r.fail(r.f.Silence(n))
		return
	}
	if r.zeros == nil {
		r.zeros = make([]float32, 4096)
	}
	for n > 0 {
		k := min(n, int64(len(r.zeros)))
		r.write(r.zeros[:k], rate)
		n -= k
	}
}

// close finishes the file and describes it.
func (r *recorder) close() *Recording {
	if r.conv != nil {
		r.fail(r.conv.finish())
		r.conv = nil
	}
	if !r.f.Started() && r.err == nil {
		// Nothing was heard: an empty recording.
		rate := r.fixed
		if rate == 0 {
			rate = 8000
		}
		r.start(rate)
	}
	r.fail(r.f.Close())
	rec := &Recording{Path: r.f.Path(), Rate: r.f.Rate()}
	if r.f.Started() {
		rec.Seconds = float64(r.f.Frames()) / float64(r.f.Rate())
	}
	if r.err != nil {
		rec.Error = r.err.Error()
	}
	return rec
}

// converter resamples pushed audio into the recording.
type converter struct {
	rate int
	ch   chan []float32
	done chan error
}

func startConverter(from, to int, w *callfile.Recorder) (*converter, error) {
	c := &converter{rate: from, ch: make(chan []float32, 16), done: make(chan error, 1)}
	src := &pushSource{format: pipeline.Format{Rate: from, Channels: 1}, ch: c.ch}
	rs, err := transforms.ResampleSource(src, to, 0)
	if err != nil {
		return nil, fmt.Errorf("resampling the recording from %d Hz to %d Hz: %v", from, to, err)
	}
	go func() {
		buf := make([]float32, 4096)
		var werr error
		for {
			n, err := rs.Read(buf)
			if n > 0 && werr == nil {
				werr = w.Write(buf[:n])
			}
			if err != nil {
				if err != io.EOF && werr == nil {
					werr = err
				}
				break
			}
		}
		for range c.ch { // drain what is left after an error
		}
		c.done <- werr
	}()
	return c, nil
}

func (c *converter) push(samples []float32) {
	c.ch <- append([]float32(nil), samples...)
}

// finish flushes the resampler and waits for its goroutine.
func (c *converter) finish() error {
	close(c.ch)
	return <-c.done
}

// pushSource is a Source of the samples pushed into ch; it ends when ch
// is closed.
type pushSource struct {
	format pipeline.Format
	ch     chan []float32
	cur    []float32
	eof    bool
}

func (s *pushSource) Format() pipeline.Format { return s.format }

func (s *pushSource) Read(p []float32) (int, error) {
	if len(p) == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	for len(s.cur) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		b, ok := <-s.ch
		if !ok {
			s.eof = true
			return 0, io.EOF
		}
		s.cur = b
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}
