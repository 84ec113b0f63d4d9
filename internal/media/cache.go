package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of a Cache's limits.
const (
	DefaultMaxSize        = 100 << 20
	DefaultConnectTimeout = 10 * time.Second
	DefaultStallTimeout   = 30 * time.Second
	DefaultMaxRedirects   = 10
)

// Cache fetches http and https URLs into files in a folder on disk, and
// gives back an open file of the body. It follows HTTP's caching rules for
// a private cache: a copy is reused without a request while Cache-Control
// max-age or Expires says it is fresh (Cache-Control takes precedence;
// without either, 10% of the time since Last-Modified, at most a day), is
// revalidated with If-None-Match / If-Modified-Since when it is stale or
// the response said no-cache (a 304 reuses the copy: no download), and a
// no-store response is played once and not kept. Concurrent opens of one
// URL make one request. When a request fails (no connection, a timeout, a
// 5xx status) and a copy is on disk, the copy is played and a warning
// logged; a 4xx status is an error even then.
//
// Files are written beside their final name and renamed over it, so a
// reader never sees half a file, and an open file keeps its content when a
// newer version replaces it. The zero value is not usable: set Dir. The
// other fields are read at the first Open; do not change them after.
type Cache struct {
	// Dir is the folder of the cached files, created when needed.
	Dir string
	// MaxSize is the largest body fetched, in bytes (0: DefaultMaxSize).
	MaxSize int64
	// ConnectTimeout bounds connecting, TLS handshake included (0: DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StallTimeout bounds the wait for the response headers and for each
	// piece of the body: a server that stops sending for this long fails
	// the fetch (0: DefaultStallTimeout).
	StallTimeout time.Duration
	// MaxRedirects is the most redirects followed (0: DefaultMaxRedirects).
	MaxRedirects int
	// Log receives the warnings (0: slog.Default()).
	Log *slog.Logger
	// Now is the clock of freshness (nil: time.Now).
	Now func() time.Time

	once    sync.Once
	client  *http.Client
	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one fetch of a URL, shared by the opens that wait for it.
type flight struct {
	done    chan struct{}
	started chan struct{} // closed when the body starts downloading (part) or at done
	start   sync.Once
	part    *partial // the download under way, set before started is closed
	path    string   // the file to open, valid after done
	err     error
	users   int  // opens still to open path
	remove  bool // path is a no-store download: the last user removes it
}

// DefaultCacheDir is the folder elkspipe keeps downloads in: elkspipe in
// os.UserCacheDir, or in the temporary folder when there is none.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "elkspipe")
	}
	return filepath.Join(os.TempDir(), "elkspipe-cache")
}

// CheckURL reports whether raw is an http or https URL with a host, and
// why not.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a valid URL: %v", errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s URLs are not supported: elkspipe fetches http and https URLs only", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("the URL has no host")
	}
	return u, nil
}

func (c *Cache) init() {
	c.once.Do(func() {
		if c.MaxSize <= 0 {
			c.MaxSize = DefaultMaxSize
		}
		if c.ConnectTimeout <= 0 {
			c.ConnectTimeout = DefaultConnectTimeout
		}
		if c.StallTimeout <= 0 {
			c.StallTimeout = DefaultStallTimeout
		}
		if c.MaxRedirects <= 0 {
			c.MaxRedirects = DefaultMaxRedirects
		}
		if c.Log == nil {
			c.Log = slog.Default()
		}
		if c.Now == nil {
			c.Now = time.Now
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = c.ConnectTimeout
		t.ResponseHeaderTimeout = c.StallTimeout
		max := c.MaxRedirects
		c.client = &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("stopped after %d redirects (the limit)", max)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirected to a %s URL: only http and https are fetched", req.URL.Scheme)
			}
			return nil
		}}
		c.flights = map[string]*flight{}
	})
}

// key is the file name of a URL's copy: a hash of the URL.
func key(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:16])
}

// Open returns the body of the http or https URL raw, from the cache or
// fetched: an *os.File of the cached copy, or, while the URL is being
// downloaded, a *Download that reads the body as it arrives (and fails
// with the download's error), so that playing starts with the first bytes.
// The error says what failed ("HTTP 404 Not Found", "stalled: no data for
// 30s", ...) without the URL, which the caller names; ctx also ends a
// Download's wait for data.
func (c *Cache) Open(ctx context.Context, raw string) (io.ReadCloser, error) {
	if _, err := CheckURL(raw); err != nil {
		return nil, err
	}
	c.init()
	k := key(raw)
	c.mu.Lock()
	f := c.flights[k]
	if f == nil {
		f = &flight{done: make(chan struct{}), started: make(chan struct{}), users: 1}
		c.flights[k] = f
		c.mu.Unlock()
		// The fetch is shared: it does not end when this caller gives up,
		// and the timeouts bound it.
		go func() {
			publish := func(p *partial) {
				f.part = p
				f.start.Do(func() { close(f.started) })
			}
			f.path, f.remove, f.err = c.fetchContained(context.WithoutCancel(ctx), raw, k, publish)
			c.mu.Lock()
			delete(c.flights, k)
			if f.users == 0 && f.remove && f.err == nil {
				// A no-store download nobody waits for goes before
				// the flight is done, so that Wait sees it gone.
				os.Remove(f.path)
			}
			close(f.done)
			f.start.Do(func() { close(f.started) })
			if f.part != nil {
				// The readers of the download see its end once the copy
				// is in place (a failure told them already).
				f.part.finish(f.err)
			}
			c.mu.Unlock()
		}()
	} else {
		f.users++
		c.mu.Unlock()
	}
	select {
	case <-f.started:
	case <-ctx.Done():
		c.release(f)
		return nil, context.Cause(ctx)
	}
	select {
	case <-f.done:
	default:
		// The body is arriving: read it as it comes.
		pf, err := os.Open(f.part.path)
		if err == nil {
			c.release(f)
			return &Download{f: pf, p: f.part, ctx: ctx, closed: make(chan struct{})}, nil
		}
		// It ended meanwhile (renamed, or removed on failure).
		select {
		case <-f.done:
		case <-ctx.Done():
			c.release(f)
			return nil, context.Cause(ctx)
		}
	}
	var file *os.File
	err := f.err
	if err == nil {
		file, err = os.Open(f.path)
	}
	c.release(f)
	return file, err
}

// Wait waits until no download is under way: the openings that read a
// URL while it downloads (see Open) may finish before their download
// has put its copy in place.
func (c *Cache) Wait() {
	c.init()
	for {
		c.mu.Lock()
		var f *flight
		for _, x := range c.flights {
			f = x
			break
		}
		c.mu.Unlock()
		if f == nil {
			return
		}
		<-f.done
	}
}

// release ends one user's wait on f; the last one, once the fetch is
// done, removes a no-store download (an open file stays readable).
func (c *Cache) release(f *flight) {
	c.mu.Lock()
	f.users--
	last := f.users == 0
	select {
	case <-f.done:
	default:
		last = false // the fetch removes it when it ends
	}
	c.mu.Unlock()
	if last && f.remove && f.err == nil {
		os.Remove(f.path)
	}
}
