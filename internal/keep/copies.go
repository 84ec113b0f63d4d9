package keep

import (
	"io"
	"os"
	"sync"
)

// DefaultCopyLimit is the most memory the copies in Copies may take
// together, unless SetLimit says otherwise.
const DefaultCopyLimit int64 = 64 << 20

// Copies is the process's store of kept copies of files: the file
// sources (see sources.File) and the elks sink's passthrough formats keep
// the bytes of the files they loop there, so that all the calls that
// play one version of a file share one copy of it.
var Copies = &CopyStore{limit: DefaultCopyLimit}

// CopyStore holds copies of files, one per Version, while someone keeps
// a reference to it, within a limit on their total size. Its methods are
// safe for concurrent use.
type CopyStore struct {
	mu     sync.Mutex
	limit  int64
	bytes  int64
	copies map[Version]*Copy
}

// Copy is the bytes of one version of a file in a CopyStore, counted by
// reference: every Acquire or Read that returns it is matched by one
// Release.
type Copy struct {
	store *CopyStore
	key   Version
	data  []byte
	refs  int // references (store.mu)
}

// SetLimit sets the most bytes the store's copies may take together and
// returns the limit before. Copies already held stay.
func (s *CopyStore) SetLimit(n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.limit
	s.limit = n
	return old
}

// Used returns the bytes the store's copies take (or have reserved while
// they are read).
func (s *CopyStore) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Holds reports whether the store holds a copy of any version of the
// file at the absolute path abs.
func (s *CopyStore) Holds(abs string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.copies {
		if v.Path == abs {
			return true
		}
	}
	return false
}

// Acquire returns the copy of version v, with one more reference, or nil
// when the store holds none.
func (s *CopyStore) Acquire(v Version) *Copy {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.copies[v]
	if c != nil {
		c.refs++
	}
	return c
}

// Read copies f, version v of a file, into the store and returns the copy
// with one reference (the one already held, if another reader was
// first); nil if it does not fit within the limit or the file changed
// while it was read.
func (s *CopyStore) Read(v Version, f *os.File) *Copy {
	if !s.reserve(v.Size) {
		return nil
	}
	data := make([]byte, v.Size)
	_, err := f.ReadAt(data, 0)
	if err == nil {
		if now, ok := VersionOf(v.Path, f); !ok || now != v {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		s.unreserve(v.Size)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.copies[v]; c != nil {
		// Another reader copied it meanwhile.
		s.bytes -= v.Size
		c.refs++
		return c
	}
	c := &Copy{store: s, key: v, data: data, refs: 1}
	if s.copies == nil {
		s.copies = map[Version]*Copy{}
	}
	s.copies[v] = c
	return c
}

// reserve counts n more bytes against the limit, if they fit.
func (s *CopyStore) reserve(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+n > s.limit {
		return false
	}
	s.bytes += n
	return true
}

func (s *CopyStore) unreserve(n int64) {
	s.mu.Lock()
	s.bytes -= n
	s.mu.Unlock()
}

// Version returns the version of the file the copy holds.
func (c *Copy) Version() Version { return c.key }

// Bytes returns the copy's bytes, which nobody may modify.
func (c *Copy) Bytes() []byte { return c.data }

// Release drops one reference to c; the last one frees its place in the
// store.
func (c *Copy) Release() {
	s := c.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.refs--; c.refs == 0 {
		delete(s.copies, c.key)
		s.bytes -= int64(len(c.data))
	}
}
