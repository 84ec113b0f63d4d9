package elks

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A tape is one shared rendering of a pipeline in one format: the
// messages a private Play of it would send, made once and replayed by
// every call that plays it, each from the start and at its own pace
// through its own sync window (see docs/sharing.md).
//
// It is an append-only list of segments of items: an audio message,
// ready to send (the JSON of {"t":"audio","data":"..."}, never modified
// once made), with the time it plays for and its raw bytes; or a
// boundary, where a loop iteration or playlist item ended and each call
// sends a checkpoint. There is no goroutine: the call that first needs
// an item not yet made advances the rendering, under the tape's lock, by
// one Read of the source (renderer.step, the code of a private Play);
// the calls behind read the items made without any lock.
//
// While the tape is joinable (in its cache's index) new calls start at
// its head, so it keeps every item. Once it is no longer joinable (it
// outgrew its share of the cache's budget, a file it plays changed on
// the disk, or its rendering failed) it drops its head: the segments
// behind its slowest call are garbage, and are no longer counted, while
// the calls on it go on to its end. New calls then get a fresh tape.
type tape struct {
	key   string
	cache *RenderCache
	log   *slog.Logger
	g     *pipeline.Graph
	cfg   Config // the format, codec and chunk it renders with
	rate  int

	// head is the first segment while the tape is joinable, nil after.
	head atomic.Pointer[tapeSegment]
	// total counts the items made; state says why no more will come:
	// set after the last item is published.
	total atomic.Int64
	state atomic.Int32

	mu      sync.Mutex // the producer: whoever advances the tape
	tail    *tapeSegment
	r       *renderer
	edge    atomic.Bool // set by the rendering's observer
	endErr  error       // why the rendering ended: nil at the end of its stream
	endSend bool        // the codec ended its stream at the end (renderer.ended)
	endEnc  Encoder     // the codec after the end, for calls to take its state
	freed   bool

	// cursors are the calls on the tape, for counting only the segments
	// they can still reach once the tape is no longer joinable.
	cmu      sync.Mutex
	cursors  map[*tapeCursor]struct{}
	counted  []*tapeSegment // segments whose bytes are counted, oldest first
	versions map[string]openedVersion

	// Guarded by cache.mu.
	players int
	bytes   int64
	indexed bool
	dropped bool          // no longer counted: freed
	idle    *list.Element // in cache.idle while nobody plays it
}

// The states of a tape.
const (
	tapeGrowing int32 = iota // more items may come
	tapeEnded                // the rendering ended: endErr says how
)

// tapeSegItems is the number of items in a segment.
const tapeSegItems = 32

// tapeItemBytes is what an item costs beside its message's bytes.
const tapeItemBytes = 48

// tapeItem is one item of a tape: an audio message, or a boundary
// (msg nil).
type tapeItem struct {
	msg []byte
	d   time.Duration
	n   int64 // raw bytes of the audio
}

// tapeSegment is a run of items; n says how many are published.
type tapeSegment struct {
	items [tapeSegItems]tapeItem
	n     atomic.Int32
	next  atomic.Pointer[tapeSegment]
	start int64 // position of its first item
	bytes int64 // counted in the cache's budget
}

// newTape returns an empty tape of g rendered as cfg says; nothing is
// opened until a call needs the first item.
// text is the pipeline's share key, for the log.
func newTape(key, text string, c *RenderCache, g *pipeline.Graph, cfg Config, rate int) *tape {
	t := &tape{key: key, cache: c, g: g, cfg: cfg, rate: rate,
		log:      cfg.Logger.With("rendering", text, "format", cfg.Format),
		cursors:  map[*tapeCursor]struct{}{},
		versions: map[string]openedVersion{}}
	seg := &tapeSegment{}
	t.head.Store(seg)
	t.tail = seg
	t.counted = []*tapeSegment{seg}
	return t
}

// tapeCursor is one call's place in a tape.
type tapeCursor struct {
	t   *tape
	seg *tapeSegment
	i   int
	pos atomic.Int64
}

// cursor returns a cursor at the head of the tape, or nil when the tape
// is no longer joinable. Close it when done.
func (t *tape) cursor() *tapeCursor {
	c := &tapeCursor{t: t}
	t.cmu.Lock()
	t.cursors[c] = struct{}{}
	t.cmu.Unlock()
	c.seg = t.head.Load()
	if c.seg == nil {
		c.close()
		return nil
	}
	return c
}

// close takes the cursor off its tape.
func (c *tapeCursor) close() {
	c.t.cmu.Lock()
	delete(c.t.cursors, c)
	c.t.cmu.Unlock()
}

// next returns the next item, making it if need be, or nil once the
// rendering has ended and every item has been read.
func (c *tapeCursor) next() *tapeItem {
	for {
		if c.i == tapeSegItems {
			if nx := c.seg.next.Load(); nx != nil {
				c.seg, c.i = nx, 0
				continue
			}
		} else if int32(c.i) < c.seg.n.Load() {
			it := &c.seg.items[c.i]
			c.i++
			c.pos.Add(1)
			return it
		}
		pos := c.pos.Load()
		if c.t.state.Load() != tapeGrowing {
			if pos < c.t.total.Load() {
				continue // published before the state
			}
			return nil
		}
		c.t.produce(pos)
	}
}

// produce advances the rendering until there is an item at pos or it
// has ended.
func (t *tape) produce(pos int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.total.Load() <= pos && t.state.Load() == tapeGrowing && !t.freed {
		if t.r == nil {
			if err := t.open(); err != nil {
				t.finish(err)
				return
			}
		}
		if done, err := t.r.step(t); done {
			t.finish(err)
		}
	}
}

// open opens the graph for the rendering, with an observer that marks
// boundaries and logs, and a hook that records the files it opens. Its
// context is no call's and is never cancelled (it has no channel, so
// that a rendering made inside a testing/synctest bubble may serve calls
// outside it): closing the source ends the rendering.
func (t *tape) open() error {
	ctx := keep.WithOpened(context.Background(), t.opened)
	ctx = pipeline.WithObserver(ctx, t.observe)
	src, _, err := t.g.Open(ctx)
	if err != nil {
		return err
	}
	want := pipeline.Format{Rate: t.rate, Channels: 1}
	if src.Format() != want {
		conv, _, err := pipeline.Convert(src, want)
		if err != nil {
			pipeline.Close(src)
			return err
		}
		src = conv // closing it closes src
	}
	enc, err := NewEncoderOptions(t.cfg.Format, t.cfg.Codec)
	if err != nil {
		pipeline.Close(src)
		return err
	}
	t.r = newRenderer(src, enc, t.rate, t.cfg.Chunk, &t.edge, nil, nil)
	return nil
}

// finish ends the rendering with err (nil: the end of the stream).
func (t *tape) finish(err error) {
	t.endErr = err
	if t.r != nil {
		t.endSend, t.endEnc = t.r.ended, t.r.enc
		pipeline.Close(t.r.src)
		t.r = nil
	}
	t.state.Store(tapeEnded)
	if err != nil {
		// A failure may be passing (a file not there yet): new calls
		// render afresh.
		t.cache.unindex(t)
	}
}

// observe is the rendering's pipeline.Observer: what Session.observe is
// to a private Play.
func (t *tape) observe(e pipeline.Event) {
	switch e.Kind {
	case pipeline.ItemEnded, pipeline.IterationEnded:
		t.edge.Store(true)
	case pipeline.ItemSkipped:
		t.log.Warn("playlist item skipped", "event", e.String())
		return
	case pipeline.Warning:
		t.log.Warn("pipeline warning", "event", e.String())
		return
	}
	t.log.Debug("stream event", "event", e.String())
}

// openedVersion is the version of a file (or a URL's copy) that a
// rendering opened, and how to find the version an opening finds now.
type openedVersion struct {
	v       keep.Version
	current keep.CurrentFunc
}

// opened records a file the rendering opened (keep.OpenedFunc). One that
// has no version makes the pipeline unshareable; a file opened again in
// another version (changed on the disk, or a URL whose copy was fetched
// anew) ends the tape's joinability: new calls render the new version
// from the start.
func (t *tape) opened(path string, v keep.Version, ok bool, current keep.CurrentFunc) {
	if !ok {
		t.log.Debug("the rendering opened something with no version: calls of this pipeline render privately", "path", path)
		t.cache.refuse(t)
		return
	}
	t.cmu.Lock()
	prev, seen := t.versions[path]
	if !seen {
		t.versions[path] = openedVersion{v, current}
	}
	t.cmu.Unlock()
	if seen && prev.v != v {
		t.log.Debug("a file of the rendering changed: new calls get a fresh rendering", "path", path)
		t.cache.unindex(t)
	}
}

// current reports whether every file the rendering opened is still the
// version it opened: one stat of each file, and for a URL what its
// download cache would play now (a revalidation when its copy is stale).
func (t *tape) current() bool {
	t.cmu.Lock()
	vs := make([]openedVersion, 0, len(t.versions))
	for _, v := range t.versions {
		vs = append(vs, v)
	}
	t.cmu.Unlock()
	for _, o := range vs {
		if o.current == nil {
			return false
		}
		if now, ok := o.current(); !ok || now != o.v {
			return false
		}
	}
	return true
}

// piece appends an audio message (renderOut, under t.mu).
func (t *tape) piece(raw []byte, d time.Duration) error {
	msg := AppendAudio(make([]byte, 0, audioMessageSize(len(raw))), raw)
	t.append(tapeItem{msg: msg, d: d, n: int64(len(raw))}, int64(len(msg))+tapeItemBytes)
	return nil
}

// boundary appends a boundary (renderOut, under t.mu).
func (t *tape) boundary() { t.append(tapeItem{}, tapeItemBytes) }

// append publishes it, which costs size bytes of the budget.
func (t *tape) append(it tapeItem, size int64) {
	seg := t.tail
	k := seg.n.Load()
	if k == tapeSegItems {
		nx := &tapeSegment{start: seg.start + tapeSegItems}
		seg.next.Store(nx)
		t.tail, seg, k = nx, nx, 0
		t.cmu.Lock()
		t.counted = append(t.counted, nx)
		t.cmu.Unlock()
		t.uncount()
	}
	seg.items[k] = it
	seg.bytes += size
	if !t.cache.reserve(t, size) {
		t.head.Store(nil) // no longer joinable: keep only what calls can reach
	}
	seg.n.Store(k + 1)
	t.total.Add(1)
}

// uncount stops counting the segments that no call can reach any more:
// behind every cursor, once the tape has dropped its head.
func (t *tape) uncount() {
	if t.head.Load() != nil {
		return
	}
	t.cmu.Lock()
	low := t.total.Load()
	for c := range t.cursors {
		low = min(low, c.pos.Load())
	}
	var freed int64
	for len(t.counted) > 1 && t.counted[0].start+tapeSegItems <= low {
		freed += t.counted[0].bytes
		t.counted[0] = nil
		t.counted = t.counted[1:]
	}
	t.cmu.Unlock()
	t.cache.unreserve(t, freed)
}

// free ends the rendering of a tape nobody plays or will play.
func (t *tape) free() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.freed = true
	if t.r != nil {
		pipeline.Close(t.r.src)
		t.r = nil
	}
	t.head.Store(nil)
	t.cmu.Lock()
	t.counted = nil
	t.cmu.Unlock()
}
