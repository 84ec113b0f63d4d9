package pipeline

import "io"

// FromSlice returns a Source that plays the interleaved samples in data once.
// It suits audio made in memory and tests; data is not copied.
func FromSlice(f Format, data []float32) Source {
	return &sliceSource{format: f, data: data[:len(data)/f.Channels*f.Channels]}
}

type sliceSource struct {
	format Format
	data   []float32
	pos    int
}

func (s *sliceSource) Format() Format { return s.format }

func (s *sliceSource) Read(p []float32) (int, error) {
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

// Frames returns the length of the slice in frames.
func (s *sliceSource) Frames() int64 { return int64(len(s.data) / s.format.Channels) }
