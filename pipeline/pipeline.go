// Package pipeline holds the core of elkspipe: the Format of an audio stream,
// the pull-based Source that carries it, the Opener, Transform and Sink
// stages built around it, the element registry, the pipe-syntax parser and
// Build, which joins stages into a runnable Pipeline and inserts the format
// converters a sink needs.
//
// Audio flows as interleaved float32 samples in [-1, 1]. A Source is read
// like an io.Reader: Read fills a buffer with whole frames and returns io.EOF
// at the end, possibly together with the last frames.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Format describes an audio stream: its sample rate in frames per second and
// its number of interleaved channels. Samples are always float32 in [-1, 1].
type Format struct {
	Rate     int
	Channels int
}

// MaxChannels is the largest channel count elkspipe handles.
const MaxChannels = 64

// MaxRate is the largest sample rate elkspipe handles, in Hz.
const MaxRate = 768000

// Validate reports whether f describes a stream elkspipe can carry.
func (f Format) Validate() error {
	if f.Rate < 1 || f.Rate > MaxRate {
		return fmt.Errorf("sample rate %d Hz out of range 1..%d", f.Rate, MaxRate)
	}
	if f.Channels < 1 || f.Channels > MaxChannels {
		return fmt.Errorf("channel count %d out of range 1..%d", f.Channels, MaxChannels)
	}
	return nil
}

// String renders f as, for example, "44100 Hz stereo" or "8000 Hz mono".
func (f Format) String() string {
	switch f.Channels {
	case 1:
		return fmt.Sprintf("%d Hz mono", f.Rate)
	case 2:
		return fmt.Sprintf("%d Hz stereo", f.Rate)
	}
	return fmt.Sprintf("%d Hz %d ch", f.Rate, f.Channels)
}

// Source is a pull stream of audio.
//
// Read fills p with up to len(p)/Channels whole frames of interleaved samples
// and returns the number of frames written. It follows the io.Reader rules:
// at the end of the stream it returns io.EOF, possibly together with frames;
// any other error ends the stream. len(p) must hold at least one frame.
// A Source should not return 0 frames with a nil error; callers may retry
// such a read, but ReadSome, ReadFull and the sinks give up with
// io.ErrNoProgress after MaxEmptyReads of them in a row, as bufio does.
// A Source that holds resources (files, decoders) also implements io.Closer.
type Source interface {
	Format() Format
	Read(p []float32) (frames int, err error)
}

// Opener opens a fresh instance of a source chain. Loops and playlists call
// it again for every iteration, and the elks sink calls it for every call.
type Opener func(ctx context.Context) (Source, error)

// Transform turns one Source into another (gain, fade, resample, ...).
// The returned Source owns src: closing it closes src.
type Transform interface {
	Apply(src Source) (Source, error)
}

// TransformFunc adapts a function to the Transform interface.
type TransformFunc func(src Source) (Source, error)

// Apply calls f(src).
func (f TransformFunc) Apply(src Source) (Source, error) { return f(src) }

// ContextTransform is implemented by transforms that report events, such
// as a warning that the result is degenerate (trim start= past the end):
// the Opener of a Graph calls ApplyContext, with the context it was given
// (whose observer receives the events), instead of Apply.
type ContextTransform interface {
	ApplyContext(ctx context.Context, src Source) (Source, error)
}

// applyTransform applies t to src, through ApplyContext when t has it.
func applyTransform(ctx context.Context, t Transform, src Source) (Source, error) {
	if ct, ok := t.(ContextTransform); ok {
		return ct.ApplyContext(ctx, src)
	}
	return t.Apply(src)
}

// Reopener is implemented by transforms that need to re-open everything
// upstream of them rather than transform one instance of it, such as loop.
// Build prefers Wrap over Apply when a Transform implements both, and
// refuses a Reopener after a stage that reads standard input (see
// Graph.StdinStage), which cannot be opened again.
type Reopener interface {
	Wrap(upstream Opener) Opener
}

// Sink consumes a Source until it ends, fails or ctx is cancelled. Run does
// not close src; the Pipeline does.
type Sink interface {
	Run(ctx context.Context, src Source) error
}

// Server is implemented by sinks that run the source chain many times, each
// time with a fresh instance of it, such as the elks sink, which opens the
// pipeline anew for every phone call. Build does not open the chain for
// them; Run hands them the Graph, whose Open builds one instance.
type Server interface {
	Serve(ctx context.Context, g *Graph) error
}

// Negotiator is implemented by sinks that need a particular format. Build
// offers the format of the source chain and inserts remix and resample stages
// to deliver the format that Want returns. Sinks without it take any format.
type Negotiator interface {
	Want(offered Format) Format
}

// ErrShortBuffer is returned by Read when p cannot hold one whole frame.
var ErrShortBuffer = errors.New("read buffer shorter than one frame")

// Close closes src if it implements io.Closer and returns its error.
func Close(src Source) error {
	if c, ok := src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Lengther is implemented by sources that know how many frames they will
// deliver in all, such as WAV files, tones with a duration and the
// transforms over them. Fade-out and progress reports use it.
type Lengther interface {
	// Frames returns the total number of frames of the stream from its
	// start, or -1 if it is not known (endless or undetermined).
	Frames() int64
}

// FramesOf returns src's total length in frames, or -1 if src does not know.
func FramesOf(src Source) int64 {
	if l, ok := src.(Lengther); ok {
		return l.Frames()
	}
	return -1
}
