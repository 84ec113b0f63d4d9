package pipeline

import (
	"context"
	"fmt"
)

// EventKind says what happened in an Event.
type EventKind int

// The kinds of event that stages emit.
const (
	// ItemStarted: a playlist item or a `+` operand began to play.
	ItemStarted EventKind = iota + 1
	// ItemEnded: a playlist item or a `+` operand played to its end.
	ItemEnded
	// ItemSkipped: a playlist item could not be opened or decoded and was
	// skipped; Err says why.
	ItemSkipped
	// IterationStarted: a loop began iteration Index (counted from 1).
	IterationStarted
	// IterationEnded: a loop finished iteration Index.
	IterationEnded
	// Warning: a stage made something the user probably did not mean,
	// such as an empty stream (trim start= past the end) or one that never
	// reaches full level (a fade longer than the stream); Err says what.
	// The command line prints it on standard error unless -q.
	Warning
)

var eventKindNames = map[EventKind]string{
	ItemStarted:      "item started",
	ItemEnded:        "item ended",
	ItemSkipped:      "item skipped",
	IterationStarted: "iteration started",
	IterationEnded:   "iteration ended",
	Warning:          "warning",
}

// String names the kind, for example "iteration ended".
func (k EventKind) String() string {
	if s, ok := eventKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event reports a boundary in the stream: a playlist item or a loop
// iteration starting or ending. Stages that emit ItemEnded or IterationEnded
// return from Read at the boundary, so that every frame returned before the
// event belongs to the item that ended.
type Event struct {
	Kind  EventKind
	Stage string // the emitting stage, e.g. "loop" or "playlist"
	Index int    // item index (from 0) or iteration number (from 1)
	Item  string // the item's name, for playlist items
	Err   error  // why an item was skipped
}

// String renders e for logs, e.g. `playlist: item started #2 "b.mp3"`:
// items are numbered from 1 there, as iterations are. A Warning is its
// stage and its Err: `trim: start=5s is past the end ...`.
func (e Event) String() string {
	if e.Kind == Warning {
		return fmt.Sprintf("%s: %v", e.Stage, e.Err)
	}
	n := e.Index
	if e.Kind != IterationStarted && e.Kind != IterationEnded {
		n++ // items are shown counted from 1, as iterations are
	}
	s := fmt.Sprintf("%s: %s #%d", e.Stage, e.Kind, n)
	if e.Item != "" {
		s += fmt.Sprintf(" %q", e.Item)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Observer receives events. It is called synchronously from within Read
// (and, for the first item or iteration, from within the Opener that opens
// it: pipeline.Build opens the chain), on the goroutine that reads the
// pipeline, so it must be quick and must not read from the pipeline itself.
type Observer func(Event)

type observerKey struct{}

// WithObserver returns a context whose pipelines report events to obs, in
// addition to any observer ctx already carries.
func WithObserver(ctx context.Context, obs Observer) context.Context {
	if prev := observerFrom(ctx); prev != nil {
		inner := obs
		obs = func(e Event) { prev(e); inner(e) }
	}
	return context.WithValue(ctx, observerKey{}, obs)
}

// observerFrom returns the observer carried by ctx, or nil.
func observerFrom(ctx context.Context) Observer {
	obs, _ := ctx.Value(observerKey{}).(Observer)
	return obs
}

// Emit sends e to the observer carried by ctx, if any. Stages capture their
// Opener's ctx and call Emit as their boundaries pass.
func Emit(ctx context.Context, e Event) {
	if obs := observerFrom(ctx); obs != nil {
		obs(e)
	}
}
