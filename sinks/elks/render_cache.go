package elks

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// DefaultRenderCacheSize is the memory DefaultRenderCache may take for
// shared renderings unless SetLimit says otherwise: 256 MiB.
const DefaultRenderCacheSize int64 = 256 << 20

// DefaultRenderCache is the process's cache of shared renderings: the
// elks sink and `elkspipe serve` set it in their Config (the command's
// -render-cache flag sets its limit), and the metrics report it.
var DefaultRenderCache = NewRenderCache(DefaultRenderCacheSize)

// RenderCache holds the shared renderings of pipelines: calls whose
// Config names it, and which play a deterministic pipeline (see
// pipeline.Graph.ShareKey) in the same format, codec settings and chunk,
// with the same versions of the same files, share one rendering of it
// (decoding, conversion, encoding, base64 and the JSON of every audio
// message, made once), each call replaying it from the start at its own
// pace. See docs/sharing.md.
//
// Its limit bounds the memory of the renderings new calls may join: one
// of them takes at most a quarter of it, and renderings nobody plays
// stay, in least-recently-used order, until room is needed. A rendering
// that outgrows its share, or whose files changed on the disk, takes no
// new calls (they get a fresh one) and keeps only the part its calls can
// still reach: about as much as it held when it stopped taking calls.
// Its methods are safe for concurrent use.
type RenderCache struct {
	mu       sync.Mutex
	limit    int64
	bytes    int64
	live     int              // renderings not freed
	tapes    map[string]*tape // the joinable renderings, by key
	idle     list.List        // joinable renderings nobody plays, most recent first
	refused  map[string]bool  // keys whose renderings open something unversioned
	shared   atomic.Int64
	private  atomic.Int64
	evicted  atomic.Int64
	refusals atomic.Int64
	made     atomic.Int64 // renderings made
}

// maxRefused bounds the keys a RenderCache remembers as unshareable.
const maxRefused = 1024

// NewRenderCache returns an empty cache whose renderings may take limit
// bytes; 0 or less disables sharing (every call renders privately).
func NewRenderCache(limit int64) *RenderCache {
	return &RenderCache{limit: limit, tapes: map[string]*tape{}, refused: map[string]bool{}}
}

// SetLimit sets the memory the renderings may take and returns the limit
// before. Renderings nobody plays are freed until they fit; 0 or less
// disables sharing for new calls.
func (c *RenderCache) SetLimit(n int64) int64 {
	c.mu.Lock()
	old := c.limit
	c.limit = n
	victims := c.evictLocked(0)
	c.mu.Unlock()
	for _, t := range victims {
		t.free()
	}
	return old
}

// RenderCacheStats is a snapshot of a RenderCache.
type RenderCacheStats struct {
	Renderings   int   // renderings in memory, played or kept for later calls
	Bytes        int64 // the memory they take
	Limit        int64 // the most memory renderings that take new calls may take
	SharedPlays  int64 // plays of a shared rendering (PlayGraph)
	PrivatePlays int64 // plays that rendered privately: the pipeline or the format cannot be shared
	Evictions    int64 // renderings nobody played freed to make room
}

// Stats returns a snapshot of c's counters.
func (c *RenderCache) Stats() RenderCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RenderCacheStats{Renderings: c.live, Bytes: c.bytes, Limit: c.limit,
		SharedPlays: c.shared.Load(), PrivatePlays: c.private.Load(), Evictions: c.evicted.Load()}
}

// acquire returns the joinable rendering of key, made with mk when
// there is none or the one there plays files that changed since, with a
// player counted (release it) and a cursor at its head; nil when sharing
// is off or refused for key.
func (c *RenderCache) acquire(key string, mk func() *tape) (*tape, *tapeCursor) {
	for range 3 {
		c.mu.Lock()
		if c.limit <= 0 || c.refused[key] {
			c.mu.Unlock()
			return nil, nil
		}
		t := c.tapes[key]
		if t == nil {
			c.made.Add(1)
			t = mk()
			t.indexed = true
			c.tapes[key] = t
			c.live++
		}
		t.players++
		if t.idle != nil {
			c.idle.Remove(t.idle)
			t.idle = nil
		}
		c.mu.Unlock()
		if t.current() {
			if cur := t.cursor(); cur != nil {
				return t, cur
			}
		}
		c.unindex(t)
		c.release(t)
	}
	return nil, nil
}

// release counts a player of t gone. A rendering nobody plays is freed,
// unless new calls may still join it: it then waits in the LRU.
func (c *RenderCache) release(t *tape) {
	c.mu.Lock()
	t.players--
	var victims []*tape
	if t.players == 0 {
		if t.indexed && c.limit > 0 {
			t.idle = c.idle.PushFront(t)
			victims = c.evictLocked(0)
		} else {
			c.dropLocked(t)
			victims = append(victims, t)
		}
	}
	c.mu.Unlock()
	for _, v := range victims {
		v.free()
	}
}

// dropLocked forgets t, which nobody plays: it no longer counts.
func (c *RenderCache) dropLocked(t *tape) {
	if t.dropped {
		return
	}
	t.dropped = true
	if t.indexed {
		t.indexed = false
		if c.tapes[t.key] == t {
			delete(c.tapes, t.key)
		}
	}
	if t.idle != nil {
		c.idle.Remove(t.idle)
		t.idle = nil
	}
	c.bytes -= t.bytes
	t.bytes = 0
	c.live--
}

// evictLocked drops the renderings nobody plays, least recently played
// first, until n more bytes fit within the limit; the caller frees the
// ones it returns, without c.mu.
func (c *RenderCache) evictLocked(n int64) []*tape {
	var victims []*tape
	for c.bytes+n > c.limit || (c.limit <= 0 && c.idle.Len() > 0) {
		e := c.idle.Back()
		if e == nil {
			break
		}
		v := e.Value.(*tape)
		c.dropLocked(v)
		victims = append(victims, v)
		c.evicted.Add(1)
	}
	return victims
}

// reserve counts n more bytes of t, a rendering being made, and reports
// whether t may still take new calls: it fits within its share of the
// limit and the limit, after evicting renderings nobody plays. When it
// does not, t leaves the index (the bytes count all the same: its calls
// need them).
func (c *RenderCache) reserve(t *tape, n int64) (joinable bool) {
	c.mu.Lock()
	var victims []*tape
	if t.indexed {
		if t.bytes+n > c.limit/4 {
			c.unindexLocked(t)
		} else if victims = c.evictLocked(n); c.bytes+n > c.limit {
			c.unindexLocked(t)
		}
	}
	c.bytes += n
	t.bytes += n
	joinable = t.indexed
	c.mu.Unlock()
	for _, v := range victims {
		v.free()
	}
	return joinable
}

// unreserve counts n bytes of t no more.
func (c *RenderCache) unreserve(t *tape, n int64) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.bytes -= n
	t.bytes -= n
	c.mu.Unlock()
}

// unindex stops new calls from joining t: they get a fresh rendering.
func (c *RenderCache) unindex(t *tape) {
	c.mu.Lock()
	c.unindexLocked(t)
	free := t.players == 0 && !t.dropped
	if free {
		c.dropLocked(t)
	}
	c.mu.Unlock()
	if free {
		t.free()
	}
}

func (c *RenderCache) unindexLocked(t *tape) {
	if !t.indexed {
		return
	}
	t.indexed = false
	if c.tapes[t.key] == t {
		delete(c.tapes, t.key)
	}
	if t.idle != nil {
		// Waiting for a call that will not come.
		c.idle.Remove(t.idle)
		t.idle = nil
	}
	t.head.Store(nil)
}

// refuse makes the calls of t's key render privately from now on: t
// opened something that has no version.
func (c *RenderCache) refuse(t *tape) {
	c.mu.Lock()
	if len(c.refused) >= maxRefused {
		clear(c.refused)
	}
	c.refused[t.key] = true
	c.mu.Unlock()
	c.refusals.Add(1)
	c.unindex(t)
}
