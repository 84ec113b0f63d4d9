package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Defaults of Options.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultStallTimeout   = 10 * time.Second
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultLinger         = 5 * time.Second
	DefaultPrefill        = time.Second
	DefaultLead           = 400 * time.Millisecond
	DefaultMaxLag         = 2 * time.Second
	DefaultStartWait      = 2 * time.Second
	DefaultMaxRedirects   = 10
)

// Options are the settings of Streams; zero fields take the defaults.
type Options struct {
	// Decode turns the audio bytes of a response (ICY metadata removed)
	// into samples; it is required.
	Decode func(io.Reader) (pipeline.Source, error)
	// ConnectTimeout bounds connecting, TLS included, and waiting for
	// the response headers.
	ConnectTimeout time.Duration
	// StallTimeout is how long a connection may send nothing before it
	// counts as dropped.
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from MinBackoff after each failure.
	MinBackoff, MaxBackoff time.Duration
	// Linger is how long a connection stays open after its last
	// listener leaves, for the next call to join.
	Linger time.Duration
	// Prefill is how much of the most recent audio a new listener starts
	// with.
	Prefill time.Duration
	// Lead is how far ahead of real time a listener that finds no audio
	// (an outage, or a server slower than the listener's clock) is kept
	// with silence; at most half of Prefill.
	Lead time.Duration
	// MaxLag bounds a listener's latency behind the stream: audio it has
	// not read beyond that is dropped, oldest first, back to Prefill.
	MaxLag time.Duration
	// StartWait is how long Open waits for a stream whose format is known
	// from an earlier connection before it plays silence.
	StartWait time.Duration
	// MaxRedirects is the most redirects followed.
	MaxRedirects int
	// Log receives the drops and reconnections (nil: slog.Default() at
	// the moment of logging).
	Log *slog.Logger
}

// Stats are the counters of one stream.
type Stats struct {
	Listeners   int   // listeners now
	Connected   bool  // a connection is delivering audio now
	Connections int64 // connections that delivered audio
	Drops       int64 // connections lost while playing
	Failures    int64 // connection attempts that delivered no audio while the stream was retried
	Bytes       int64 // bytes received from the server (ICY metadata included)
	// Outage is the time the stream was down while it was open (had
	// listeners or lingered): from a drop, or a failed first attempt of
	// a stream retried, to the next audio.
	Outage  time.Duration
	Dropped int64 // frames listeners lost: read too slowly, or the stream ran fast
	Padded  int64 // silent frames listeners got: outages, or the stream ran slow
	// Rate is the sample rate the frames are counted in (0: never played).
	Rate int
}

// log returns the logger of the drops and reconnections.
func (s *Streams) log() *slog.Logger {
	if s.opt.Log != nil {
		return s.opt.Log
	}
	return slog.Default()
}

// Streams plays live HTTP streams, one connection per URL shared by all
// its listeners. The zero value is not usable: use New.
type Streams struct {
	opt    Options
	client *http.Client

	mu      sync.Mutex
	hubs    map[string]*hub
	formats map[string]pipeline.Format // of every URL that played, for outages at start
	guessed map[string]bool            // formats given to OpenDown, not the streams' own
	totals  map[string]*counters       // survive the hubs
}

// counters are the Stats counters of a URL.
type counters struct {
	connections, drops, dropped, padded atomic.Int64
	failures, bytes, outage             atomic.Int64
}

// New returns Streams with the options o.
func New(o Options) *Streams {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, DefaultConnectTimeout)
	def(&o.StallTimeout, DefaultStallTimeout)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.Linger, DefaultLinger)
	def(&o.Prefill, DefaultPrefill)
	def(&o.Lead, DefaultLead)
	def(&o.MaxLag, DefaultMaxLag)
	def(&o.StartWait, DefaultStartWait)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	o.Lead = min(o.Lead, o.Prefill/2) // audio that comes in time is never padded
	o.MaxLag = max(o.MaxLag, o.Prefill+o.Lead)
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialICY((&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext)
	t.TLSHandshakeTimeout = o.ConnectTimeout
	t.ResponseHeaderTimeout = o.ConnectTimeout
	maxRedirects := o.MaxRedirects
	client := &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("stopped after %d redirects (the limit)", maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected to a %s URL: only http and https are fetched", req.URL.Scheme)
		}
		return nil
	}}
	return &Streams{opt: o, client: client, hubs: map[string]*hub{},
		formats: map[string]pipeline.Format{}, guessed: map[string]bool{}, totals: map[string]*counters{}}
}

// Open joins the live stream at the http or https URL u and returns a
// Source of its audio from now on, endless: silence fills the outages.
// The first listener of a URL connects; the others share the connection.
// If the stream has never played in this process, Open waits for its
// first audio and returns the error of a first connection that fails
// (HTTP 404, not audio, ...) without the URL, which the caller names.
// The Source must be closed.
func (s *Streams) Open(ctx context.Context, u string) (*Listener, error) {
	if s.opt.Decode == nil {
		return nil, errors.New("live: Options.Decode is not set")
	}
	s.mu.Lock()
	h := s.hubs[u]
	if h == nil {
		h = s.newHubLocked(u)
	}
	l := h.join(ctx)
	known := h.knownAtStart
	s.mu.Unlock()

	var wait <-chan time.Time
	if known {
		t := time.NewTimer(s.opt.StartWait)
		defer t.Stop()
		wait = t.C
	}
	select {
	case <-h.started:
	case <-wait:
	case <-ctx.Done():
		l.Close()
		return nil, context.Cause(ctx)
	}
	h.mu.Lock()
	err := h.failed
	h.mu.Unlock()
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// OpenDown joins the live stream at u as Open does, for a stream whose
// opening failed with an error that may pass (see Passing): the listener
// hears silence in the format f, paced in real time, while the stream is
// retried with the backoff, and the stream's audio, once it comes, is
// converted to f for the listeners that started in the outage (a later
// connection, once they have all left, plays the stream's own format).
// It does not wait. The drops and reconnections are logged as a dropped
// stream's are.
func (s *Streams) OpenDown(ctx context.Context, u string, f pipeline.Format) *Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.formats[u]; !ok {
		s.formats[u], s.guessed[u] = f, true
	}
	h := s.hubs[u]
	if h != nil {
		h.mu.Lock()
		failed := h.failed != nil
		if !failed {
			h.retry = true
			if !h.hasFormat {
				h.setFormatLocked(f)
				h.guessed = true
			}
		}
		h.mu.Unlock()
		if failed {
			// Its first connection failed: it is ending.
			s.removeLocked(h)
			h = nil
		}
	}
	if h == nil {
		h = s.newHubLocked(u)
	}
	return h.join(ctx)
}

// Stats returns the counters of the stream at u: listeners now, and the
// totals since the URL was first opened.
func (s *Streams) Stats(u string) Stats {
	s.mu.Lock()
	c := s.totals[u]
	h := s.hubs[u]
	st := Stats{Rate: s.formats[u].Rate}
	s.mu.Unlock()
	if c != nil {
		st.Connections, st.Drops = c.connections.Load(), c.drops.Load()
		st.Dropped, st.Padded = c.dropped.Load(), c.padded.Load()
		st.Failures, st.Bytes, st.Outage = c.failures.Load(), c.bytes.Load(), time.Duration(c.outage.Load())
	}
	if h != nil {
		h.mu.Lock()
		st.Connected = h.up
		if !h.downSince.IsZero() {
			st.Outage += time.Since(h.downSince)
		}
		st.Listeners = len(h.listeners)
		for l := range h.listeners {
			st.Dropped += l.dropped
			st.Padded += l.padded
			if l.ready && l.cursor < h.ring.oldest() {
				st.Dropped += (h.ring.oldest() - l.cursor) / int64(h.format.Channels) // not read yet
			}
		}
		h.mu.Unlock()
	}
	return st
}

// URLs returns the URLs opened so far, whose Stats are kept.
func (s *Streams) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	us := make([]string, 0, len(s.totals))
	for u := range s.totals {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

// newHubLocked makes and starts the hub of u; s.mu is held.
func (s *Streams) newHubLocked(u string) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	c := s.totals[u]
	if c == nil {
		c = &counters{}
		s.totals[u] = c
	}
	h := &hub{s: s, url: u, ctx: ctx, cancel: cancel, started: make(chan struct{}),
		listeners: map[*Listener]struct{}{}, counters: c, done: make(chan struct{})}
	if f, ok := s.formats[u]; ok {
		h.setFormatLocked(f)
		h.knownAtStart, h.retry, h.guessed = true, true, s.guessed[u]
	}
	s.hubs[u] = h
	go h.run()
	return h
}

// remember keeps the format of u for the hubs that come after h.
func (s *Streams) remember(u string, f pipeline.Format) {
	s.mu.Lock()
	s.formats[u] = f
	delete(s.guessed, u)
	s.mu.Unlock()
}

// remove forgets h if it is still the hub of its URL.
func (s *Streams) removeLocked(h *hub) {
	if s.hubs[h.url] == h {
		delete(s.hubs, h.url)
	}
}

// Close ends every stream's connection at once, without linger, and waits
// for their goroutines; the listeners still open hear silence.
func (s *Streams) Close() {
	s.mu.Lock()
	hubs := make([]*hub, 0, len(s.hubs))
	for _, h := range s.hubs {
		hubs = append(hubs, h)
		s.removeLocked(h)
	}
	s.mu.Unlock()
	for _, h := range hubs {
		h.cancel()
		<-h.done
	}
}
