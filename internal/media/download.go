package media

import (
	"context"
	"io"
	"os"
	"sync"

	"github.com/elkspipe/elkspipe/internal/keep"
)

// partial is a download in progress into a file: its readers read what
// has arrived and wait for more.
type partial struct {
	path string // the temporary file being written
	// version is the copy's version (see CopyVersion) once the download
	// has put it in place: the temporary file's identity keeps through
	// the rename, and its modification time is set back to its creation.
	version   keep.Version
	versioned bool

	mu      sync.Mutex
	n       int64 // bytes written so far
	done    bool
	err     error         // why the download failed, once done
	changed chan struct{} // closed, and replaced, at every change
}

func newPartial(path string) *partial {
	return &partial{path: path, changed: make(chan struct{})}
}

// grow records n more bytes written to the file.
func (p *partial) grow(n int) {
	p.mu.Lock()
	p.n += int64(n)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// finish records the end of the download, complete when err is nil; the
// first call counts.
func (p *partial) finish(err error) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done, p.err = true, err
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// state returns the bytes written so far, whether the download ended and
// how, and a channel closed at the next change.
func (p *partial) state() (n int64, done bool, err error, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, p.done, p.err, p.changed
}

// Download is a body being downloaded, read while it arrives: Read
// returns what has been written to the cache file so far and waits for
// more, and returns the download's error if it fails (a stall, a body cut
// short, the size limit). Cache.Open returns one to the openings that come
// while the URL's download is under way; the others get the cached file.
type Download struct {
	f      *os.File
	p      *partial
	ctx    context.Context
	off    int64
	closed chan struct{}
	once   sync.Once
}

// Read reads the body, waiting for the download when it has read all that
// arrived.
func (d *Download) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, done, err, changed := d.p.state()
		if d.off < n {
			k, rerr := d.f.Read(b[:min(int64(len(b)), n-d.off)])
			d.off += int64(k)
			if k > 0 {
				return k, nil
			}
			if rerr != nil && rerr != io.EOF {
				return 0, rerr
			}
		}
		if done && d.off >= n {
			if err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-d.closed:
			return 0, os.ErrClosed
		case <-d.ctx.Done():
			return 0, context.Cause(d.ctx)
		}
	}
}

// Complete waits for the download's end and returns the whole body
// readable at random, and its size; the error is the download's. It does
// not move the offset of Read, and may be called while a Read runs.
func (d *Download) Complete(ctx context.Context) (io.ReaderAt, int64, error) {
	for {
		n, done, err, changed := d.p.state()
		if done {
			return d.f, n, err
		}
		select {
		case <-changed:
		case <-d.closed:
			return nil, 0, os.ErrClosed
		case <-ctx.Done():
			return nil, 0, context.Cause(ctx)
		}
	}
}

// File waits for the download's end and returns the file of the whole
// body, for readers that need it all (the passthrough formats). The file
// is the Download's: close one or the other, not both.
func (d *Download) File(ctx context.Context) (*os.File, error) {
	if _, _, err := d.Complete(ctx); err != nil {
		return nil, err
	}
	d.once.Do(func() { close(d.closed) }) // the caller closes the file
	return d.f, nil
}

// Close closes the file; a Read waiting for data returns.
func (d *Download) Close() error {
	var err error
	d.once.Do(func() {
		close(d.closed)
		err = d.f.Close()
	})
	return err
}
