package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

// errStall is the cause of a connection cancelled for sending nothing.
var errStall = errors.New("stalled")

// hub is the one connection to a stream URL and its listeners.
type hub struct {
	s      *Streams
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	*counters

	// started is closed at the first audio, or when the first connection
	// of a stream never heard before fails (failed).
	started      chan struct{}
	startOnce    sync.Once
	knownAtStart bool // the format was known from an earlier hub
	playedOnce   bool // a connection delivered audio (run's own)

	mu        sync.Mutex
	format    pipeline.Format
	hasFormat bool
	failed    error
	ring      *ring // the newest audio, read by every listener
	listeners map[*Listener]struct{}
	linger    *time.Timer
	title     string
	down      bool // the connection is lost and being retried
	// retry: the stream is retried while it is down, its listeners
	// hearing silence; set when its format was known at the start, or by
	// Streams.OpenDown. Without it, a first connection that fails fails
	// the hub.
	retry bool
	// guessed: the format is OpenDown's, not the stream's: its first
	// connection's audio is converted to it.
	guessed   bool
	up        bool      // a connection is delivering audio
	downSince time.Time // when the outage began, zero while up or before the first attempt
}

// frames returns the frame count of d in the hub's format.
func (h *hub) frames(d time.Duration) int {
	return int(d.Seconds() * float64(h.format.Rate))
}

// setFormatLocked fixes the format of the hub's audio and readies the
// listeners that waited for it.
func (h *hub) setFormatLocked(f pipeline.Format) {
	h.format, h.hasFormat = f, true
	h.ring = newRing((h.frames(h.s.opt.MaxLag) + h.frames(time.Second)) * f.Channels)
	for l := range h.listeners {
		if !l.ready {
			h.readyLocked(l)
		}
	}
}

// join adds a listener; s.mu is held.
func (h *hub) join(ctx context.Context) *Listener {
	l := &Listener{hub: h, ctx: ctx, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.linger != nil {
		h.linger.Stop()
		h.linger = nil
	}
	h.listeners[l] = struct{}{}
	if h.hasFormat {
		h.readyLocked(l)
	}
	return l
}

// readyLocked sets l's format and starts it at the most recent Prefill of
// audio.
func (h *hub) readyLocked(l *Listener) {
	o := h.s.opt
	l.ready = true
	l.format = h.format
	l.prefill, l.lead, l.maxLag = h.frames(o.Prefill), h.frames(o.Lead), h.frames(o.MaxLag)
	l.pad = max(h.frames(20*time.Millisecond), 1)
	l.cursor = max(h.ring.oldest(), h.ring.written-int64(l.prefill*h.format.Channels))
}

// leave removes l and, when it was the last listener, closes the
// connection after the linger.
func (h *hub) leave(l *Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.listeners[l]; !ok {
		return
	}
	delete(h.listeners, l)
	h.dropped.Add(l.dropped)
	h.padded.Add(l.padded)
	if len(h.listeners) == 0 && h.linger == nil {
		h.linger = time.AfterFunc(h.s.opt.Linger, h.expire)
	}
}

// expire closes the connection if no listener came back during the linger.
func (h *hub) expire() {
	h.s.mu.Lock()
	h.mu.Lock()
	idle := len(h.listeners) == 0
	if idle {
		h.s.removeLocked(h)
	}
	h.mu.Unlock()
	h.s.mu.Unlock()
	if idle {
		h.cancel()
	}
}

// broadcast hands samples to every listener.
func (h *hub) broadcast(s []float32) {
	h.mu.Lock()
	h.ring.push(s)
	for l := range h.listeners {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

// run connects, plays and reconnects until the hub is closed, or until the
// first connection of a stream of unknown format fails.
func (h *hub) run() {
	defer close(h.done)
	defer func() {
		h.mu.Lock()
		if h.failed == nil && !h.retry && !h.playedOnce {
			h.failed = errors.New("the stream was closed")
		}
		h.endOutageLocked()
		h.mu.Unlock()
		h.startOnce.Do(func() { close(h.started) })
	}()
	log := h.s.log()
	backoff := h.s.opt.MinBackoff
	var down time.Time // when the stream was lost, zero while playing
	attempts := 0
	for {
		began := time.Now()
		played, err := h.session(&down, &attempts)
		if h.ctx.Err() != nil {
			return
		}
		// A stream never heard in this process fails its openings until
		// it has played; one that has played (or whose format is
		// remembered) is retried while its listeners hear silence.
		h.mu.Lock()
		h.up = false
		known := played || h.playedOnce || h.retry
		if !known {
			h.failed = err
		} else if h.downSince.IsZero() {
			h.downSince = time.Now()
		}
		h.mu.Unlock()
		h.playedOnce = known
		if !known {
			h.startOnce.Do(func() { close(h.started) })
			h.s.mu.Lock()
			h.s.removeLocked(h)
			h.s.mu.Unlock()
			h.cancel()
			return
		}
		h.mu.Lock()
		h.down = true
		h.mu.Unlock()
		// The openings waiting for the first audio play silence now.
		h.startOnce.Do(func() { close(h.started) })
		if !played {
			h.failures.Add(1)
		}
		switch {
		case played:
			h.drops.Add(1)
			log.Warn("live stream dropped; reconnecting, the calls hear silence meanwhile", "url", h.url, "err", err)
			down, attempts = time.Now(), 0
			if time.Since(began) > h.s.opt.MaxBackoff {
				backoff = h.s.opt.MinBackoff
			}
		case down.IsZero():
			log.Warn("live stream unreachable; the calls hear silence while it is retried", "url", h.url, "err", err)
			down = time.Now()
		default:
			log.Debug("live stream: reconnecting failed", "url", h.url, "err", err, "retry_in", backoff)
		}
		attempts++
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(backoff*2, h.s.opt.MaxBackoff)
	}
}

// session makes one connection and broadcasts its audio until it ends;
// played says whether audio came. down and attempts describe the outage
// before it, for the log line of a reconnection.
func (h *hub) session(down *time.Time, attempts *int) (played bool, err error) {
	defer h.survive(&err)
	o := h.s.opt
	ctx, cancel := context.WithCancelCause(h.ctx)
	defer cancel(nil)
	stall := time.AfterFunc(o.ConnectTimeout+o.StallTimeout, func() { cancel(errStall) })
	defer stall.Stop()
	req, err := newRequest(ctx, h.url)
	if err != nil {
		return false, err
	}
	resp, err := h.s.client.Do(req)
	if err != nil {
		return false, h.netError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return false, fmt.Errorf("HTTP %s", resp.Status)
	}
	stall.Reset(o.StallTimeout)
	rec := &readRecorder{r: resp.Body, total: &h.bytes}
	var body io.Reader = &media.StallReader{R: rec, T: stall, D: o.StallTimeout}
	metaint, err := parseMetaint(resp.Header.Get("Icy-Metaint"))
	if err != nil {
		return false, permanent{err}
	}
	if metaint > 0 {
		body = newICYReader(body, metaint, h.onMeta)
	}
	src, err := o.Decode(body)
	if err != nil {
		if (rec.err == nil || rec.err == io.EOF) && rec.n.Load() >= 12 && ctx.Err() == nil {
			// The body read well: its content is not audio we play.
			return false, permanent{err}
		}
		return false, h.netError(ctx, err)
	}
	defer pipeline.Close(src)
	if src, err = h.match(src); err != nil {
		return false, err
	}
	ch := src.Format().Channels
	buf := make([]float32, 1152*ch)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if !played {
				played = true
				h.connected(*down, *attempts)
			}
			h.broadcast(buf[:n*ch])
		}
		if rerr != nil {
			if rerr == io.EOF {
				rerr = errors.New("the server ended the stream")
			}
			return played, h.netError(ctx, rerr)
		}
	}
}

// survive, deferred by session, turns a panic of the connection (a
// decoder's defect that the stream's bytes found) into its error, logged
// with its stack: the hub's goroutine serves every listener of the
// stream, and a panic would end the process and all its calls. The
// connection is then lost as in a drop (run reconnects, or fails the
// opening of a stream that never played).
func (h *hub) survive(err *error) {
	p := recover()
	if p == nil {
		return
	}
	h.s.log().Error("live stream: decoding panicked", "url", h.url,
		"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	*err = fmt.Errorf("decoding panicked: %v", p)
}

// match fixes the hub's format at the first connection and converts the
// audio of a later one whose format differs.
func (h *hub) match(src pipeline.Source) (pipeline.Source, error) {
	f := src.Format()
	h.mu.Lock()
	if !h.hasFormat {
		h.setFormatLocked(f)
		h.mu.Unlock()
		h.s.remember(h.url, f)
		return src, nil
	}
	want, guessed := h.format, h.guessed
	h.mu.Unlock()
	if guessed {
		h.s.remember(h.url, f) // the hubs after this one play it as it is
	}
	if f == want {
		return src, nil
	}
	out, _, err := pipeline.Convert(src, want)
	if err != nil {
		return nil, fmt.Errorf("the stream changed from %s to %s: %w", want, f, err)
	}
	if guessed {
		h.s.log().Info("live stream is up: its audio is converted to the format its calls started with in the outage", "url", h.url, "from", f, "to", want)
	} else {
		h.s.log().Info("live stream changed format; converting", "url", h.url, "from", f, "to", want)
	}
	return out, nil
}

// connected notes the first audio of a connection.
func (h *hub) connected(down time.Time, attempts int) {
	h.connections.Add(1)
	h.mu.Lock()
	h.down = false
	h.up = true
	h.endOutageLocked()
	h.mu.Unlock()
	h.startOnce.Do(func() { close(h.started) })
	if !down.IsZero() {
		h.s.log().Info("live stream reconnected", "url", h.url,
			"outage", time.Since(down).Round(time.Millisecond), "attempts", attempts)
	}
}

// onMeta logs a change of the stream's title.
func (h *hub) onMeta(meta string) {
	if t := streamTitle(meta); t != "" && t != h.title {
		h.title = t
		h.s.log().Debug("live stream title", "url", h.url, "title", t)
	}
}

// newRequest is the GET of a stream, asking for ICY metadata (which is
// stripped) so that Shoutcast servers answer as they do to players.
func newRequest(ctx context.Context, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Icy-MetaData", "1")
	req.Header.Set("User-Agent", "elkspipe")
	return req, nil
}

// netError says what failed, without the URL.
func (h *hub) netError(ctx context.Context, err error) error {
	if context.Cause(ctx) == errStall {
		return fmt.Errorf("stalled: no data for %v", h.s.opt.StallTimeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %v", ue.Err)
		}
		return ue.Err
	}
	return err
}

// endOutageLocked counts the outage under way, if any, as over.
func (h *hub) endOutageLocked() {
	if !h.downSince.IsZero() {
		h.outage.Add(int64(time.Since(h.downSince)))
		h.downSince = time.Time{}
	}
}

// readRecorder counts the bytes read from r and keeps its first error
// (io.EOF included), which tells a body that could not be read from one
// whose content is not audio.
type readRecorder struct {
	r     io.Reader
	total *atomic.Int64 // the stream's count
	n     atomic.Int64  // this connection's
	err   error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.total.Add(int64(n))
	r.n.Add(int64(n))
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// permanent is an error that retrying does not mend: the stream's
// content is not audio that elkspipe plays (an HTML page, Ogg...).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Passing reports whether err, from Streams.Open, may pass by itself: a
// connection that failed or timed out, an HTTP status (an Icecast mount
// answers 404 until its source connects), a stream that stalled or
// ended; not a stream whose content is no audio elkspipe plays.
func Passing(err error) bool {
	var p permanent
	return err != nil && !errors.As(err, &p)
}
