package sources

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Decoding MP3 is the dearest thing a pipeline does (go-mp3 runs at about
// 60× real time), and a server plays the same hold music in a loop to
// every call. So the file source keeps the decoded audio of MP3 files in
// memory, shared by every later opening of the same file in the process:
// the next loop iteration, the next playlist round, the next call. The
// cache holds go-mp3's own 16-bit output after the gapless trim, so a
// cached play is sample for sample the decoded one, at 4 bytes per frame
// (a 3-minute 44.1 kHz file takes 32 MB).
//
// A file is cached once one opening has read it to its end without error;
// only one opening of a file records it at a time. An entry is keyed by
// the file's absolute path, size and modification time, so a changed file
// is decoded afresh. The least recently used entries make room for new
// ones.

// DefaultMP3CacheSize is the memory the decoded-MP3 cache may use unless
// SetMP3CacheSize says otherwise: 64 MiB.
const DefaultMP3CacheSize = 64 << 20

// SetMP3CacheSize sets the most memory, in bytes, that decoded MP3 files
// kept for replay may use, and evicts what no longer fits. 0 turns the
// cache off.
func SetMP3CacheSize(bytes int64) {
	mp3Cache.setLimit(bytes)
}

var mp3Cache = &mp3CacheStore{limit: DefaultMP3CacheSize}

// mp3CacheKey names one version of one file.
type mp3CacheKey struct {
	path  string
	size  int64
	mtime int64
}

// mp3CacheKeyOf returns the key of the file rc, opened from path, if it is
// a regular file.
func mp3CacheKeyOf(path string, rc io.Reader) (mp3CacheKey, bool) {
	f, ok := rc.(*os.File)
	if !ok {
		return mp3CacheKey{}, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return mp3CacheKey{}, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return mp3CacheKey{}, false
	}
	return mp3CacheKey{abs, st.Size(), st.ModTime().UnixNano()}, true
}

// mp3Decoded is a whole decoded file: go-mp3's s16le stereo frames after
// the gapless trim. It is never modified once cached.
type mp3Decoded struct {
	format pipeline.Format
	pcm    []byte
}

type mp3CacheEntry struct {
	data *mp3Decoded
	used uint64 // the store's clock at the last use
}

// mp3CacheStore is the process's cache of decoded MP3 files.
type mp3CacheStore struct {
	mu        sync.Mutex
	limit     int64
	bytes     int64
	clock     uint64
	entries   map[mp3CacheKey]*mp3CacheEntry
	recording map[mp3CacheKey]bool
}

func (c *mp3CacheStore) setLimit(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = max(n, 0)
	c.evictLocked(0)
}

// get returns the cached decoding of key, or nil.
func (c *mp3CacheStore) get(key mp3CacheKey) *mp3Decoded {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil
	}
	c.clock++
	e.used = c.clock
	return e.data
}

// record returns a recorder for a decoding of key that is about to be
// read, or nil when the file cannot be cached or another opening is
// recording it. frames is the decoding's length if known, or -1.
func (c *mp3CacheStore) record(key mp3CacheKey, format pipeline.Format, frames int64) *mp3Recorder {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording[key] || c.limit == 0 || frames*4 > c.limit {
		return nil
	}
	if c.recording == nil {
		c.recording = map[mp3CacheKey]bool{}
	}
	c.recording[key] = true
	r := &mp3Recorder{store: c, key: key, format: format, limit: c.limit}
	if frames > 0 {
		r.pcm = make([]byte, 0, frames*4)
	}
	return r
}

// put caches data under key, evicting the least recently used entries to
// make room; it ends the recording of key either way.
func (c *mp3CacheStore) put(key mp3CacheKey, data *mp3Decoded) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.recording, key)
	n := int64(len(data.pcm))
	if n > c.limit || c.entries[key] != nil {
		return
	}
	c.evictLocked(n)
	if c.entries == nil {
		c.entries = map[mp3CacheKey]*mp3CacheEntry{}
	}
	c.clock++
	c.entries[key] = &mp3CacheEntry{data: data, used: c.clock}
	c.bytes += n
}

// abandon ends the recording of key without caching anything.
func (c *mp3CacheStore) abandon(key mp3CacheKey) {
	c.mu.Lock()
	delete(c.recording, key)
	c.mu.Unlock()
}

// evictLocked removes the least recently used entries until n more bytes
// fit within the limit.
func (c *mp3CacheStore) evictLocked(n int64) {
	for c.bytes+n > c.limit && len(c.entries) > 0 {
		var oldest mp3CacheKey
		var at uint64
		first := true
		for k, e := range c.entries {
			if first || e.used < at {
				oldest, at, first = k, e.used, false
			}
		}
		c.bytes -= int64(len(c.entries[oldest].data.pcm))
		delete(c.entries, oldest)
	}
}

// mp3Recorder collects what an mp3Source returns, to cache it when the
// stream has been read to its end.
type mp3Recorder struct {
	store  *mp3CacheStore
	key    mp3CacheKey
	format pipeline.Format
	limit  int64
	pcm    []byte
}

// add records b, the bytes of frames just returned; it reports false (and
// gives up the recording) when the file outgrows the cache.
func (r *mp3Recorder) add(b []byte) bool {
	if int64(len(r.pcm)+len(b)) > r.limit {
		r.pcm = nil
		r.store.abandon(r.key)
		return false
	}
	r.pcm = append(r.pcm, b...)
	return true
}

// finish caches the recording (complete: the stream ended without error).
func (r *mp3Recorder) finish() {
	r.store.put(r.key, &mp3Decoded{format: r.format, pcm: r.pcm})
}

// abandon gives up the recording (the stream was closed or failed).
func (r *mp3Recorder) abandon() { r.store.abandon(r.key) }

// mp3Cached plays a cached decoding.
type mp3Cached struct {
	d      *mp3Decoded
	pos    int // in bytes of d.pcm
	closed bool
}

func (s *mp3Cached) Format() pipeline.Format { return s.d.format }

// Frames returns the decoding's exact length.
func (s *mp3Cached) Frames() int64 { return int64(len(s.d.pcm) / 4) }

func (s *mp3Cached) Read(p []float32) (int, error) {
	ch := s.d.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	if s.closed {
		return 0, errMP3ReadAfterClose
	}
	k := min(len(p)/ch, (len(s.d.pcm)-s.pos)/4)
	mp3Convert(p[:k*ch], s.d.pcm[s.pos:s.pos+4*k], ch)
	s.pos += 4 * k
	if s.pos == len(s.d.pcm) {
		return k, io.EOF
	}
	return k, nil
}

func (s *mp3Cached) Close() error {
	s.closed = true
	return nil
}
