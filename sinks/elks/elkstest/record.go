package elkstest

import (
	"fmt"
	"io"
	"os"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/transforms"
)

// recorder writes what the caller heard to a 16-bit mono WAV file, at
// one rate: audio at other rates goes through a resampler, which runs in
// its own goroutine while audio at that rate lasts.
type recorder struct {
	path  string
	file  *os.File
	w     *sinks.WAVWriter
	rate  int // the recording's rate, 0 until the first audio
	fixed int // the rate asked for, 0 for the first audio's
	conv  *converter
	zeros []float32
	err   error
}

func createRecorder(path string, rate int) (*recorder, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the recording: %v", err)
	}
	return &recorder{path: path, file: f, fixed: rate}, nil
}

// discard removes a recording whose call never happened.
func (r *recorder) discard() {
	if r == nil {
		return
	}
	r.file.Close()
	os.Remove(r.path)
}

func (r *recorder) fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// start writes the header, at the first audio.
func (r *recorder) start(rate int) {
	r.rate = r.fixed
	if r.rate == 0 {
		r.rate = rate
	}
	w, err := sinks.NewWAVWriter(r.file, pipeline.Format{Rate: r.rate, Channels: 1}, sinks.WAVS16)
	if err != nil {
		r.fail(err)
		return
	}
	r.w = w
}

// write records mono samples at rate.
func (r *recorder) write(samples []float32, rate int) {
	if r.err != nil {
		return // reported at the end
	}
	if r.w == nil {
		if r.start(rate); r.w == nil {
			return
		}
	}
	if r.conv != nil && r.conv.rate != rate {
		r.fail(r.conv.finish())
		r.conv = nil
	}
	if rate == r.rate {
		r.fail(r.w.Write(samples))
		return
	}
	if r.conv == nil {
		conv, err := startConverter(rate, r.rate, r.w)
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
	if r.w == nil && r.err == nil {
		// Nothing was heard: an empty recording.
		rate := r.fixed
		if rate == 0 {
			rate = 8000
		}
		r.start(rate)
	}
	if r.w != nil {
		r.fail(r.w.Close())
	}
	r.fail(r.file.Close())
	rec := &Recording{Path: r.path, Rate: r.rate}
	if r.w != nil {
		rec.Seconds = float64(r.w.Frames()) / float64(r.rate)
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

func startConverter(from, to int, w *sinks.WAVWriter) (*converter, error) {
	c := &converter{rate: from, ch: make(chan []float32, 16), done: make(chan error, 1)}
	src := &pushSource{format: pipeline.Format{Rate: from, Channels: 1}, ch: c.ch}
	rs, err := transforms.NewResampler(src, to, 0)
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
