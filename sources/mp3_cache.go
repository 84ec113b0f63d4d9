package sources

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

// Decoding MP3 is the dearest thing a pipeline does (go-mp3 runs at about
// 60× real time), and a server plays the same hold music to every call,
// in a loop. So every opening of an MP3 file through File shares one
// decoding of it per process: the first reader to need a frame decodes
// it, into a buffer that every opening of the file (the next loop
// iteration, the next playlist round, the next call, at the same time or
// later) reads. A call that hangs up halfway leaves what it decoded for
// the next one. A decoding nobody reads holds no file open: when its last
// reader closes before the end, its decoder is closed, and the next reader
// to need more reopens the file and decodes on (passing again over the
// part already kept, which is the price of not pinning a file descriptor
// per file ever opened).
//
// The buffer holds go-mp3's own 16-bit output after the gapless trim, so a
// shared play is sample for sample a private one, at 4 bytes per frame (a
// 3-minute 44.1 kHz file takes 32 MB). Only files whose length is known
// up front (from their Xing/Info header, or by walking the frame headers)
// and fits in the cache are shared; the others are decoded per opening as
// before. A file is keyed by its absolute path, size and modification
// time and identity (device and inode), so a changed or replaced file is
// decoded afresh. The least recently used files
// that nobody reads make room for new ones; a file that does not fit even
// so is decoded per opening, so the cache never holds more than its size.
// A stream that fails to decode is dropped from the cache (its readers
// get the error, where the stream failed).

// DefaultMP3CacheSize is the memory the decoded-MP3 cache may use unless
// SetMP3CacheSize says otherwise: 64 MiB.
const DefaultMP3CacheSize = 64 << 20

// SetMP3CacheSize sets the most memory, in bytes, that shared decodings of
// MP3 files may use, and evicts what no longer fits. 0 turns sharing off:
// every opening decodes the file itself.
func SetMP3CacheSize(bytes int64) {
	mp3Cache.setLimit(bytes)
}

var mp3Cache = &mp3CacheStore{limit: DefaultMP3CacheSize}

// mp3CacheStore is the process's cache of shared decodings.
type mp3CacheStore struct {
	mu      sync.Mutex
	limit   int64
	bytes   int64 // the sizes of the entries
	clock   uint64
	entries map[keep.Version]*mp3Shared

	hits, misses, evictions uint64 // see MP3CacheStats
}

func (c *mp3CacheStore) setLimit(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = max(n, 0)
	c.evictLocked(0)
}

// trim evicts idle entries while the cache is over its limit (after a
// smaller limit was set while the entries were being read).
func (c *mp3CacheStore) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(0)
}

// lookup returns a reader of the shared decoding of key, or nil.
func (c *mp3CacheStore) lookup(key keep.Version) pipeline.Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.entries[key]
	if s == nil {
		c.misses++
		return nil
	}
	c.hits++
	c.clock++
	s.used = c.clock
	return s.newReader()
}

// share makes d, a fresh decoding of the file key, the shared decoding of
// that file, and returns a reader of it; if another opening shared the
// file first, d is closed and the reader reads that one. It returns nil,
// leaving d to its caller, when the file's length is unknown or it does
// not fit in the cache.
func (c *mp3CacheStore) share(key keep.Version, d *mp3Source) pipeline.Source {
	frames := d.Frames() // may walk the frame headers: outside the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.entries[key]; s != nil {
		d.Close()
		c.clock++
		s.used = c.clock
		return s.newReader()
	}
	size := frames * 4
	if frames < 0 || c.limit == 0 || size > c.limit {
		return nil
	}
	if !c.evictLocked(size) {
		return nil // the files being read leave no room
	}
	s := &mp3Shared{store: c, key: key, format: d.format, frames: frames, size: size, dec: d}
	s.cond = sync.NewCond(&s.mu)
	if c.entries == nil {
		c.entries = map[keep.Version]*mp3Shared{}
	}
	c.clock++
	s.used = c.clock
	c.entries[key] = s
	c.bytes += size
	return s.newReader()
}

// resize records that s, decoded to its end, takes n bytes, not the size
// its header announced.
func (c *mp3CacheStore) resize(s *mp3Shared, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[s.key] == s {
		c.bytes += n - s.size
		s.size = n
		c.evictLocked(0)
	}
}

// drop removes s, whose decoding failed, from the cache.
func (c *mp3CacheStore) drop(s *mp3Shared) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[s.key] == s {
		c.removeLocked(s)
	}
}

// evictLocked removes the least recently used entries that nobody reads
// until n more bytes fit within the limit, and reports whether they do.
// Entries being read stay: their memory is in use whatever the cache does,
// and evicting them would only make the next opening decode the file
// again into a second buffer.
func (c *mp3CacheStore) evictLocked(n int64) bool {
	for c.bytes+n > c.limit {
		var oldest *mp3Shared
		for _, s := range c.entries {
			if s.readers.Load() == 0 && (oldest == nil || s.used < oldest.used) {
				oldest = s
			}
		}
		if oldest == nil {
			return false
		}
		c.removeLocked(oldest)
		c.evictions++
	}
	return true
}

// removeLocked takes s out of the cache; its readers read on.
func (c *mp3CacheStore) removeLocked(s *mp3Shared) {
	delete(c.entries, s.key)
	c.bytes -= s.size
	s.evict()
}

// mp3Shared is one file's shared decoding.
type mp3Shared struct {
	store  *mp3CacheStore
	key    keep.Version
	format pipeline.Format
	frames int64 // the length the file announces
	used   uint64
	size   int64 // bytes counted against the cache (store.mu)

	readers atomic.Int32 // open readers

	mu       sync.Mutex
	cond     *sync.Cond // on mu: a resume ended
	pcm      []byte     // decoded so far: appended to, never changed
	dec      *mp3Source // decodes the rest; nil when idle, resuming or ended
	resuming bool       // a reader reopens the file (outside mu)
	err      error      // why the stream ended (io.EOF at its end); nil while it goes on

	// spare is the file, opened by a loop that keeps this decoding,
	// that a resume reads instead of opening the path again: the path
	// may be gone by then (see keep.go). Only while someone reads.
	spare *os.File
}

// replay returns a new reader of s, or the error that ended its decoding
// before the end.
func (s *mp3Shared) replay() (pipeline.Source, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil && err != io.EOF {
		return nil, err
	}
	return s.newReader(), nil
}

// mp3DecodeStep is how many frames a reader decodes at a time when it is
// the first to need them.
const mp3DecodeStep = 4 * 1152

func (s *mp3Shared) newReader() *mp3SharedReader {
	s.readers.Add(1)
	return &mp3SharedReader{s: s}
}

// at returns the decoded bytes from byte offset pos on (at most n),
// decoding more first if no reader has yet; empty with the stream's error
// once pos is its end. end reports that the bytes returned end the stream.
func (s *mp3Shared) at(pos, n int) (b []byte, end bool, err error) {
	s.mu.Lock()
	for len(s.pcm) <= pos && s.err == nil {
		switch {
		case s.resuming:
			s.cond.Wait()
		case s.dec == nil:
			s.resumeLocked()
		default:
			s.decodeLocked()
		}
	}
	pcm, err, done := s.pcm, s.err, s.err != nil
	s.mu.Unlock()
	b = pcm[pos:min(len(pcm), pos+n)]
	end = done && err == io.EOF && pos+len(b) == len(pcm)
	if len(b) > 0 || !done {
		err = nil
	}
	return b, end, err
}

// decodeLocked decodes the next frames onto s.pcm; at the end of the
// stream it releases the decoder and settles the entry's size.
func (s *mp3Shared) decodeLocked() {
	if s.pcm == nil {
		// Allocated at the first decoding, not when the file is opened:
		// openings that only ask for the length cost nothing.
		s.pcm = make([]byte, 0, s.frames*4)
	}
	for range mp3DecodeStep / 1152 {
		b := s.dec.take(mp3DecodeStep)
		if b == nil {
			break
		}
		s.pcm = append(s.pcm, b...)
	}
	if s.dec.err == nil || s.dec.pcmPos < s.dec.pcmLen {
		return
	}
	s.err = s.dec.err
	s.dec.Close()
	s.dec = nil
	s.closeSpareLocked()
	// The store's lock comes before ours; settle without holding ours.
	n := int64(len(s.pcm))
	failed := s.err != io.EOF
	s.mu.Unlock()
	if failed {
		s.store.drop(s)
	} else if n != s.frames*4 {
		s.store.resize(s, n)
	}
	s.mu.Lock()
}

// resumeLocked reopens the file of an idle decoding and decodes it up to
// where the decoding stopped, so that decodeLocked can go on. That takes
// as long as decoding the part kept, so it runs without the lock: readers
// of that part read on, and readers that need more wait for it. A file
// that changed or cannot be read ends the decoding with the error.
func (s *mp3Shared) resumeLocked() {
	s.resuming = true
	skip := len(s.pcm)
	s.mu.Unlock()
	d, err := mp3Reopen(s)
	for err == nil && skip > 0 {
		b := d.take(skip / 4)
		if b == nil {
			err = d.err
			if err == io.EOF {
				err = errors.New("mp3: the file decodes shorter than before")
			}
			break
		}
		skip -= len(b)
	}
	if err != nil {
		if d != nil {
			d.Close()
		}
		s.store.drop(s)
	}
	s.mu.Lock()
	s.resuming = false
	s.cond.Broadcast()
	if err != nil {
		s.err = err
		s.closeSpareLocked()
		return
	}
	s.dec = d
}

// mp3Reopen is reopen; tests replace it to hold a resume in progress.
var mp3Reopen = (*mp3Shared).reopen

// reopen opens the file again and checks that it is the version cached.
func (s *mp3Shared) reopen() (*mp3Source, error) {
	f, err := s.takeSpare()
	if f == nil && err == nil {
		f, err = os.Open(s.key.Path)
	}
	if err != nil {
		return nil, mp3.ReadError(err)
	}
	key, ok := keep.VersionOf(s.key.Path, f)
	if !ok || key != s.key {
		f.Close()
		return nil, errors.New("mp3: the file changed while it was being played")
	}
	src, err := Decode(f)
	if err != nil {
		return nil, err
	}
	d, ok := src.(*mp3Source)
	if !ok {
		src.(io.Closer).Close()
		return nil, errors.New("mp3: the file is no longer an MP3 file")
	}
	return d, nil
}

// idleLocked closes the decoder of a decoding nobody reads, so that it
// holds no file open.
func (s *mp3Shared) idleLocked() {
	if s.readers.Load() == 0 && s.dec != nil {
		s.dec.Close()
		s.dec = nil
	}
	if s.readers.Load() == 0 {
		s.closeSpareLocked()
	}
}

// offerSpare gives s the file f, of the version s decodes, to resume
// from if s is decoded in part and idle: a resume then does not depend on
// the path. It reports whether s took f; if not, f is the caller's.
func (s *mp3Shared) offerSpare(f *os.File) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.dec != nil || s.resuming || s.spare != nil || s.readers.Load() == 0 {
		return false
	}
	s.spare = f
	return true
}

// needsSpare reports whether s is decoded in part and idle, with no
// spare file: a resume would open the path.
func (s *mp3Shared) needsSpare() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err == nil && s.dec == nil && !s.resuming && s.spare == nil
}

// takeSpare returns the spare file rewound to its start, or nil.
func (s *mp3Shared) takeSpare() (*os.File, error) {
	s.mu.Lock()
	f := s.spare
	s.spare = nil
	s.mu.Unlock()
	if f == nil {
		return nil, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *mp3Shared) closeSpareLocked() {
	if s.spare != nil {
		s.spare.Close()
		s.spare = nil
	}
}

// evict is called once s has left the cache, which only idle entries do.
func (s *mp3Shared) evict() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idleLocked()
}

// release ends one reader; the last one idles the decoding and lets the
// cache trim itself if it is over its limit.
func (s *mp3Shared) release() {
	if s.readers.Add(-1) > 0 {
		return
	}
	s.mu.Lock()
	s.idleLocked()
	s.mu.Unlock()
	s.store.trim()
}

// mp3SharedReader is one opening of a shared decoding.
type mp3SharedReader struct {
	s      *mp3Shared
	pos    int // in bytes of s.pcm
	closed bool
}

func (r *mp3SharedReader) Format() pipeline.Format { return r.s.format }

// Frames returns the length the file announces.
func (r *mp3SharedReader) Frames() int64 { return r.s.frames }

func (r *mp3SharedReader) Read(p []float32) (int, error) {
	ch := r.s.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	if r.closed {
		return 0, errMP3ReadAfterClose
	}
	b, end, err := r.s.at(r.pos, len(p)/ch*4)
	if len(b) == 0 {
		return 0, err
	}
	k := len(b) / 4
	mp3Convert(p[:k*ch], b, ch)
	r.pos += len(b)
	if end {
		return k, io.EOF
	}
	return k, nil
}

func (r *mp3SharedReader) Close() error {
	if !r.closed {
		r.closed = true
		r.s.release()
	}
	return nil
}
