package pipeline

import (
	"fmt"
	"io"
)

// FromSlice returns a Source that plays the interleaved samples in data once.
// It suits audio made in memory and tests; data is not copied. A trailing
// partial frame is dropped. If f is not a valid format (see Format.Validate)
// the source's Read returns that error and Frames returns -1; Build and the
// sinks refuse such a source.
func FromSlice(f Format, data []float32) Source {
	if err := f.Validate(); err != nil {
		return &sliceSource{format: f, err: fmt.Errorf("FromSlice: %w", err)}
	}
	return &sliceSource{format: f, data: data[:len(data)/f.Channels*f.Channels]}
}

type sliceSource struct {
	format Format
	data   []float32
	pos    int
	err    error // an invalid format
}

func (s *sliceSource) Format() Format { return s.format }

func (s *sliceSource) Read(p []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	ch := s.format.Channels
	if len(p) < ch {
		return 0, ErrShortBuffer
	}
	if s.pos >= len(s.data) {
		return 0, io.EOF
	}
	n := copy(p[:len(p)/ch*ch], s.data[s.pos:])
	s.pos += n
	return n / ch, nil
}

// Frames returns the length of the slice in frames, or -1 for an invalid
// format.
func (s *sliceSource) Frames() int64 {
	if s.err != nil {
		return -1
	}
	return int64(len(s.data) / s.format.Channels)
}
