package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
)

// meta is what the cache remembers of a copy, beside it in KEY.json.
type meta struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FreshUntil   time.Time `json:"fresh_until"`
	NoCache      bool      `json:"no_cache,omitempty"`
}

// errStall is the cause of a fetch cancelled by the stall timer.
var errStall = errors.New("stalled")

// fetch makes the copy of raw (cache file key k) current and returns its
// path; remove says it is a no-store download that is not kept.
// fetchContained is fetch, with a panic of it (a defect that a server's
// answer found) logged with its stack and returned as the fetch's error:
// the fetch runs on a goroutine of its own, shared by every call waiting
// for the URL, and a panic there would end the process and all its calls.
func (c *Cache) fetchContained(ctx context.Context, raw, k string, publish func(*partial)) (path string, remove bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.Log.Error("fetching a URL panicked", "url", raw, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			path, remove, err = "", false, fmt.Errorf("fetching panicked: %v", p)
		}
	}()
	return c.fetch(ctx, raw, k, publish)
}

func (c *Cache) fetch(ctx context.Context, raw, k string, publish func(*partial)) (path string, remove bool, err error) {
	body := filepath.Join(c.Dir, k)
	m, have := c.load(k, raw)
	now := c.Now()
	if have && !m.NoCache && now.Before(m.FreshUntil) {
		return body, false, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(c.StallTimeout, func() { cancel(errStall) })
	defer stall.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", false, err
	}
	if have {
		if m.ETag != "" {
			req.Header.Set("If-None-Match", m.ETag)
		}
		if m.LastModified != "" {
			req.Header.Set("If-Modified-Since", m.LastModified)
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		err = c.netError(ctx, err)
		if have {
			return c.stale(body, raw, err)
		}
		return "", false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && have:
		fresh := freshness(resp.Header, c.Now())
		if e := resp.Header.Get("ETag"); e != "" {
			m.ETag = e
		}
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			m.LastModified = lm
		}
		m.FreshUntil, m.NoCache = fresh.until, fresh.noCache
		c.store(k, m)
		return body, false, nil
	case resp.StatusCode != http.StatusOK:
		err := fmt.Errorf("HTTP %s", resp.Status)
		if have && resp.StatusCode >= 500 {
			return c.stale(body, raw, err)
		}
		return "", false, err
	}
	if LooksLive(resp.Header, resp.ContentLength) {
		return "", false, ErrLiveStream
	}
	if resp.ContentLength > c.MaxSize {
		return "", false, fmt.Errorf("the file is %d bytes, more than the limit of %d", resp.ContentLength, c.MaxSize)
	}
	fresh := freshness(resp.Header, c.Now())
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cache folder: %w", err)
	}
	tmp, err := os.CreateTemp(c.Dir, k+".*.part")
	if err != nil {
		return "", false, fmt.Errorf("cache folder: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tmp.Close() // no descriptor, no partial file left by a panic
			os.Remove(tmp.Name())
			panic(p) // for fetchContained, which reports it
		}
	}()
	part := newPartial(tmp.Name())
	if st, err := tmp.Stat(); err == nil && !fresh.noStore {
		part.version, part.versioned = copyVersion(body, st)
	}
	publish(part)
	n, err := copyGrowing(tmp, &StallReader{R: io.LimitReader(resp.Body, c.MaxSize+1), T: stall, D: c.StallTimeout}, part, c.MaxSize)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > c.MaxSize {
		err = fmt.Errorf("the file is more than the limit of %d bytes", c.MaxSize)
	}
	if err == nil && resp.ContentLength >= 0 && n < resp.ContentLength {
		err = fmt.Errorf("the body was cut after %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		os.Remove(tmp.Name())
		err = c.netError(ctx, err)
		part.finish(err) // the readers of the download get the error, even with a stale copy
		if have {
			return c.stale(body, raw, err)
		}
		return "", false, err
	}
	if fresh.noStore {
		os.Remove(body)
		os.Remove(body + ".json")
		return tmp.Name(), true, nil
	}
	if part.versioned {
		// The copy's version is the one its readers got while it
		// downloaded: the time it was created. (Should this fail, the
		// file's version differs from the download's, and renderings
		// made from the download are not joined.)
		os.Chtimes(tmp.Name(), time.Time{}, time.Unix(0, part.version.MTime))
	}
	if err := os.Rename(tmp.Name(), body); err != nil {
		os.Remove(tmp.Name())
		return "", false, fmt.Errorf("cache folder: %w", err)
	}
	c.store(k, meta{URL: raw, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
		FreshUntil: fresh.until, NoCache: fresh.noCache})
	return body, false, nil
}

// stale plays the cached copy at body after the fetch failed with err.
func (c *Cache) stale(body, raw string, err error) (string, bool, error) {
	c.Log.Warn("fetching failed: playing the cached copy", "url", raw, "err", err)
	return body, false, nil
}

// netError turns a client error into one that says what failed, without
// the URL.
func (c *Cache) netError(ctx context.Context, err error) error {
	if context.Cause(ctx) == errStall {
		return fmt.Errorf("stalled: no data for %v", c.StallTimeout)
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

// load reads the metadata of the copy k of raw; ok is false when there is
// no usable copy.
func (c *Cache) load(k, raw string) (meta, bool) {
	var m meta
	b, err := os.ReadFile(filepath.Join(c.Dir, k+".json"))
	if err != nil || json.Unmarshal(b, &m) != nil || m.URL != raw {
		return meta{}, false
	}
	if st, err := os.Stat(filepath.Join(c.Dir, k)); err != nil || !st.Mode().IsRegular() {
		return meta{}, false
	}
	return m, true
}

// store writes the metadata of copy k atomically; a failure only costs a
// revalidation later.
func (c *Cache) store(k string, m meta) {
	b, _ := json.Marshal(m)
	tmp, err := os.CreateTemp(c.Dir, k+".*.json.part")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.Dir, k+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
		c.Log.Warn("cannot write the cache's metadata", "file", filepath.Join(c.Dir, k+".json"), "err", err)
	}
}

// StallReader reads R and restarts the stall timer T for D whenever data
// arrives: a body that sends nothing for D lets T fire (the downloads
// here and the live streams of internal/live cancel their request then).
type StallReader struct {
	R io.Reader
	T *time.Timer
	D time.Duration
}

// Read reads from R, restarting T when it returns data.
func (s *StallReader) Read(p []byte) (int, error) {
	n, err := s.R.Read(p)
	if n > 0 {
		s.T.Reset(s.D)
	}
	return n, err
}

// copyGrowing copies r into w, telling part of every piece written, and
// returns the bytes copied; it stops past max bytes (the caller says so).
func copyGrowing(w io.Writer, r io.Reader, part *partial, max int64) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if total+int64(n) > max {
				return total + int64(n), nil // the size check fails it
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
			part.grow(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
