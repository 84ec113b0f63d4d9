package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// stuck returns no frames and no error forever.
type stuck struct{ reads int }

func (s *stuck) Format() Format              { return Format{Rate: 8000, Channels: 1} }
func (s *stuck) Read([]float32) (int, error) { s.reads++; return 0, nil }

// within runs f and fails the test if it has not returned after a while,
// so that a loop that never ends fails the test instead of hanging it.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("still running after 10s")
		return nil
	}
}

func TestReadSomeRetriesEmptyReads(t *testing.T) {
	// Two empty reads, then frames: the caller sees the frames.
	calls := 0
	src := sourceFunc(func(p []float32) (int, error) {
		calls++
		if calls < 3 {
			return 0, nil
		}
		p[0] = 0.5
		return 1, nil
	})
	buf := make([]float32, 4)
	if n, err := ReadSome(src, buf); n != 1 || err != nil || buf[0] != 0.5 {
		t.Fatalf("ReadSome = %d, %v (%v); want 1, nil (0.5)", n, err, buf[0])
	}
	if calls != 3 {
		t.Fatalf("%d reads, want 3", calls)
	}
}

func TestNoProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(Source) error
	}{
		{"ReadSome", func(s Source) error { _, err := ReadSome(s, make([]float32, 160)); return err }},
		{"ReadFull", func(s Source) error { _, err := ReadFull(s, make([]float32, 160)); return err }},
		{"Concat", func(s Source) error {
			c, err := Concat(context.Background(), []Opener{func(context.Context) (Source, error) { return s, nil }}, ConcatOptions{})
			if err != nil {
				return err
			}
			_, err = c.Read(make([]float32, 160))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &stuck{}
			err := within(t, func() error { return tc.read(src) })
			if !errors.Is(err, io.ErrNoProgress) {
				t.Fatalf("err = %v, want io.ErrNoProgress", err)
			}
			if src.reads != MaxEmptyReads {
				t.Fatalf("%d reads, want %d", src.reads, MaxEmptyReads)
			}
		})
	}
}

// sourceFunc is a mono 8 kHz Source whose Read is a function.
type sourceFunc func(p []float32) (int, error)

func (f sourceFunc) Format() Format                { return Format{Rate: 8000, Channels: 1} }
func (f sourceFunc) Read(p []float32) (int, error) { return f(p) }

// liar returns a fixed frame count whatever the buffer.
type liar struct {
	n  int
	ch int
}

func (l liar) Format() Format              { return Format{Rate: 8000, Channels: l.ch} }
func (l liar) Read([]float32) (int, error) { return l.n, nil }

// A count that does not fit the buffer is the source's error: ReadFull
// neither panics on a negative count nor trusts one larger than the
// buffer, and a format without channels is refused, not divided by.
func TestReadFullBadCounts(t *testing.T) {
	for _, c := range []struct {
		src  Source
		want string
	}{
		{liar{n: -1, ch: 1}, "returned -1 frames for a buffer of 10 samples"},
		{liar{n: 11, ch: 1}, "returned 11 frames for a buffer of 10 samples"},
		{liar{n: 6, ch: 2}, "returned 6 frames for a buffer of 10 samples"},
		{liar{n: 1, ch: 0}, "has 0 channels"},
	} {
		n, err := ReadFull(c.src, make([]float32, 10))
		if n != 0 || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %d, %v; want an error with %q", c.src, n, err, c.want)
		}
	}
}

// Concat refuses a nil Opener with an error naming the item.
func TestConcatNilOpener(t *testing.T) {
	open := func(context.Context) (Source, error) {
		return FromSlice(Format{Rate: 8000, Channels: 1}, []float32{1}), nil
	}
	_, err := Concat(context.Background(), []Opener{open, nil}, ConcatOptions{})
	if err == nil || !strings.Contains(err.Error(), "item 2 has no Opener") {
		t.Errorf("Concat with a nil Opener: %v", err)
	}
}
