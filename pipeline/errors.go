package pipeline

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// StageError is an error that happened in a named stage of a pipeline, such
// as `wav "hold.wav"` or `resample 8000`.
type StageError struct {
	Stage string
	Err   error
}

// Error renders the error as "stage: reason".
func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StageError) Unwrap() error { return e.Err }

// StageErr wraps err with the name of the stage it came from. It returns nil
// for nil, passes io.EOF through untouched, and does not wrap an error that
// already names a stage.
func StageErr(stage string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: stage, Err: err}
}

// ConfigError marks an error in how a pipeline is put together, found
// when it is built — stages that cannot work together, a sink that refuses
// its sources, an output that is also an input — as opposed to an error of
// the data or the system (a missing or corrupt file, a full disk). The
// command line exits with status 2 for these, as for other usage errors.
type ConfigError struct{ Err error }

// Error returns the underlying error's text.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Misconfigured marks err as a ConfigError; nil stays nil.
func Misconfigured(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{err}
}

// IsConfigError reports whether err is, or wraps, a ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// panicError turns a recovered panic value into an error that keeps the
// panic's message and the stack where it happened, for decoders that panic on
// malformed input.
func panicError(r any) error {
	return fmt.Errorf("internal error (recovered panic: %v)\n%s", r, debug.Stack())
}

// labeled wraps a Source so that every error it returns names its stage and
// every panic inside it becomes such an error.
type labeled struct {
	Source
	stage string
	err   error
}

// Label returns src wrapped so that its errors name stage and its panics turn
// into errors. Build labels every stage; library users who assemble sources
// by hand can use it too.
func Label(stage string, src Source) Source {
	switch l := src.(type) {
	case *labeled:
		if l.stage == stage {
			return src
		}
	case *labeledAdaptable:
		if l.stage == stage {
			return src
		}
	}
	if _, ok := src.(Adaptable); ok {
		return &labeledAdaptable{labeled{Source: src, stage: stage}}
	}
	return &labeled{Source: src, stage: stage}
}

// labeledAdaptable keeps a labeled source Adaptable when the source is.
type labeledAdaptable struct{ labeled }

// Adapt adapts the wrapped source and labels the result.
func (l *labeledAdaptable) Adapt(f Format) (Source, error) {
	out, err := l.Source.(Adaptable).Adapt(f)
	if err != nil {
		return nil, StageErr(l.stage, err)
	}
	return Label(l.stage, out), nil
}

func (l *labeled) Read(p []float32) (n int, err error) {
	if l.err != nil {
		return 0, l.err
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, StageErr(l.stage, panicError(r))
			l.err = err
		}
	}()
	n, err = l.Source.Read(p)
	if err != nil && err != io.EOF {
		err = StageErr(l.stage, err)
		l.err = err
	}
	return n, err
}

// Frames passes on the wrapped source's length.
func (l *labeled) Frames() int64 { return FramesOf(l.Source) }

// Close closes the wrapped source, naming the stage in its error.
func (l *labeled) Close() error { return StageErr(l.stage, Close(l.Source)) }
