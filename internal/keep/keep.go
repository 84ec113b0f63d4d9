// Package keep carries, through the context, what the stages of one
// instance of a pipeline (one call, one run) keep from one opening to the
// next while a stage downstream opens them again and again: the
// iterations of a loop, the rounds of a looped playlist. A file source
// keeps there the audio it played, so that a later iteration can play it
// again when the file has gone (see sources.File).
//
// The stage that re-opens its upstream calls Scope once per instance and
// opens the upstream with the context it returns every time; the sources
// find the Memory with From. A loop inside a loop shares the outer loop's
// Memory, so that the inner loop's first opening in the outer loop's next
// iteration still finds what was kept.
package keep

import (
	"context"
	"sync"
)

// Memory holds values by key for one instance of a pipeline. A value is
// released when another replaces it and when the Memory is released. Its
// methods are safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	values map[any]Releaser
	done   bool
}

// Releaser is a kept value: Release frees what it holds (a reference to
// shared audio, a copy's place in a budget). It is called once.
type Releaser interface {
	Release()
}

type memoryKey struct{}

// From returns the Memory that ctx carries, or nil: an opening outside
// any re-opening stage, which has nothing to keep.
func From(ctx context.Context) *Memory {
	m, _ := ctx.Value(memoryKey{}).(*Memory)
	return m
}

// Scope returns a context that carries a Memory, and the function that
// releases it when the instance closes. When ctx already carries one (a
// loop inside a loop), it is shared and release does nothing: its owner
// releases it.
func Scope(ctx context.Context) (context.Context, func()) {
	if From(ctx) != nil {
		return ctx, func() {}
	}
	m := &Memory{}
	return context.WithValue(ctx, memoryKey{}, m), m.release
}

// Get returns the value kept under key, or nil.
func (m *Memory) Get(key any) Releaser {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[key]
}

// Put keeps v under key (nil removes the key), releasing the value it
// replaces. After the Memory is released, v is released at once.
func (m *Memory) Put(key any, v Releaser) {
	m.mu.Lock()
	old := m.values[key]
	switch {
	case m.done:
		old = nil
	case v == nil:
		delete(m.values, key)
	default:
		if m.values == nil {
			m.values = map[any]Releaser{}
		}
		m.values[key] = v
	}
	done := m.done
	m.mu.Unlock()
	if old != nil && old != v {
		old.Release()
	}
	if done && v != nil {
		v.Release()
	}
}

// release releases every value kept, once.
func (m *Memory) release() {
	m.mu.Lock()
	values := m.values
	m.values, m.done = nil, true
	m.mu.Unlock()
	for _, v := range values {
		v.Release()
	}
}
