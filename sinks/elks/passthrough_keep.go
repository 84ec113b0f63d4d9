package elks

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/sources"
)

// Files that go away while a call loops them in a passthrough format.
//
// A call in format=mp3 or format=wav opens and probes each file again at
// every iteration of its loop (playPlan). The files of a call are kept as
// the file sources keep them in the decoded formats (see sources.File):
// each opening of a regular file keeps a copy of its bytes in the
// process's store (keep.Copies, 64 MiB for all the files of the process,
// one copy per version of a file, shared by all the calls that play it),
// with the map of its frames and its duration, in the call's keep.Memory,
// and sends its bytes from that copy from the first iteration on (so
// that a file truncated in place while it is sent does not cut the
// call). A later iteration that cannot open the file or finds it no
// longer a valid file of the format (deleted, truncated to nothing,
// spoilt) sends what the call kept instead, and the loss is logged once
// per version of the file per process, at warn level, on the Session's
// logger. A file replaced (renamed over, or rewritten into another valid
// file) is a new version: the next iteration sends it. A file that does
// not fit in the store keeps nothing and is sent from the disk as before:
// its call ends at the next iteration after it has gone. A new call has
// nothing kept: it fails at its start, with the error naming the file.

// passKeptKey names what a call keeps of the file at a path.
type passKeptKey struct{ path string }

// passKept is what a call keeps of one version of a file: a copy of its
// bytes, its frames and its duration, and the copy's base64.
type passKept struct {
	copy   *keep.Copy
	frames *media.FrameMap
	dur    time.Duration
	b64    *passB64
	once   sync.Once
}

// Release lets go of the copy.
func (k *passKept) Release() {
	k.once.Do(func() {
		k.b64.release()
		k.copy.Release()
	})
}

// open returns an opening of what k keeps.
func (k *passKept) open() *passOpen {
	data := k.copy.Bytes()
	return &passOpen{r: bytes.NewReader(data), data: data, b64: k.b64, frames: k.frames, dur: k.dur, close: func() {}}
}

// passOpen is one opening of a file to send: its bytes from the start,
// the map of its frames and its duration; for a kept file also all its
// bytes (data) and their base64.
type passOpen struct {
	r      io.Reader
	data   []byte
	b64    *passB64
	frames *media.FrameMap
	dur    time.Duration
	close  func()
}

// The base64 of kept files. Every call that passes a kept file through
// sends the base64 of the same bytes: it is made once per copy, shared by
// the calls that keep the copy, and freed with the last of them. A piece
// of a file that starts at a multiple of 3 bytes is then a copy of a
// stretch of it plus the base64 of at most 2 bytes (base64 turns every 3
// bytes into 4 characters on their own), and the pieces are cut there
// where the frames allow (passAlign). The base64 of all kept files takes
// at most passB64Limit bytes; a copy beyond it is encoded by each call.
const passB64Limit = 64 << 20

// passB64 is the base64 of one kept copy, made on first use.
type passB64 struct {
	copy *keep.Copy
	refs int // under passB64s.mu

	once sync.Once
	text []byte // nil: over the limit
}

// passB64s holds the passB64 of every kept copy some call keeps.
var passB64s struct {
	mu    sync.Mutex
	byCp  map[*keep.Copy]*passB64
	bytes int64
}

// acquirePassB64 returns the shared base64 of c, with one more reference.
func acquirePassB64(c *keep.Copy) *passB64 {
	passB64s.mu.Lock()
	defer passB64s.mu.Unlock()
	if passB64s.byCp == nil {
		passB64s.byCp = map[*keep.Copy]*passB64{}
	}
	b := passB64s.byCp[c]
	if b == nil {
		b = &passB64{copy: c}
		passB64s.byCp[c] = b
	}
	b.refs++
	return b
}

// release drops one reference; the last frees the text.
func (b *passB64) release() {
	if b == nil {
		return
	}
	passB64s.mu.Lock()
	defer passB64s.mu.Unlock()
	if b.refs--; b.refs > 0 {
		return
	}
	// Nobody holds it: no get is under way (the last get returned before
	// its caller's release took the lock).
	delete(passB64s.byCp, b.copy)
	passB64s.bytes -= int64(len(b.text))
	b.text = nil
}

// get returns the base64 of the whole copy, made on first use, or nil if
// it would pass passB64Limit. It must be called while holding a reference.
func (b *passB64) get() []byte {
	if b == nil {
		return nil
	}
	b.once.Do(func() {
		data := b.copy.Bytes()
		n := int64(base64.StdEncoding.EncodedLen(len(data)))
		passB64s.mu.Lock()
		fits := passB64s.bytes+n <= passB64Limit
		if fits {
			passB64s.bytes += n
		}
		passB64s.mu.Unlock()
		if fits {
			b.text = base64.StdEncoding.AppendEncode(make([]byte, 0, n), data)
		}
	})
	return b.text
}

// appendPassAudio appends the audio message of the bytes of a file from
// off (a multiple of 3) to off+len(raw), whose base64 is in text (that of
// the whole file), to dst: the same bytes as AppendAudio(dst, raw).
func appendPassAudio(dst, text []byte, off int64, raw []byte) []byte {
	full := int64(len(raw)) / 3 * 3
	dst = append(dst, `{"t":"audio","data":"`...)
	dst = append(dst, text[off/3*4:(off+full)/3*4]...)
	dst = base64.StdEncoding.AppendEncode(dst, raw[full:])
	return append(dst, `"}`...)
}

// warnedPass holds the versions of files whose loss has been logged.
var warnedPass sync.Map

// open opens and probes the file at path for one iteration of a call
// whose memory is mem (nil: keep nothing), logging to log (nil: no log).
// See the comment at the top of this file.
func (p *passPlan) open(ctx context.Context, path string, mem *keep.Memory, log *slog.Logger) (*passOpen, error) {
	key := passKeptKey{path}
	var prev *passKept
	if mem != nil {
		prev, _ = mem.Get(key).(*passKept)
	}
	fail := func(err error) (*passOpen, error) {
		if prev == nil {
			return nil, err
		}
		if _, dup := warnedPass.LoadOrStore(prev.copy.Version(), true); !dup && log != nil {
			log.Warn("a looped file cannot be played: the calls passing it through send the copy they kept; new calls will fail",
				"file", path, "err", err)
		}
		return prev.open(), nil
	}
	f, err := openPassFile(ctx, path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fail(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fail(err)
	}
	if st.IsDir() {
		f.Close()
		return fail(errors.New("is a directory, not an audio file"))
	}
	v, regular := keep.VersionOf(path, f)
	if regular && prev != nil && prev.copy.Version() == v {
		f.Close()
		return prev.open(), nil
	}
	if regular && mem != nil {
		c := keep.Copies.Acquire(v)
		if c == nil {
			c = keep.Copies.Read(v, f)
		}
		if c != nil {
			f.Close()
			data := c.Bytes()
			fm, dur, err := p.probeBytes(v, true, bytes.NewReader(data), int64(len(data)))
			if err != nil {
				c.Release()
				return fail(err)
			}
			k := &passKept{copy: c, frames: fm, dur: dur, b64: acquirePassB64(c)}
			mem.Put(key, k)
			return k.open(), nil
		}
		// Too large to keep, or changed while it was read.
		mem.Put(key, nil)
		prev = nil
	}
	size := st.Size()
	fm, dur, err := p.probeBytes(v, regular, f, size)
	if err != nil {
		f.Close()
		return fail(err)
	}
	return &passOpen{r: io.NewSectionReader(f, 0, size), frames: fm, dur: dur, close: func() { f.Close() }}, nil
}

// openPassFile opens the file at path, or the whole download of an http
// or https URL from the download cache (see sources.OpenURLFile).
func openPassFile(ctx context.Context, path string) (*os.File, error) {
	if sources.IsURL(path) {
		return sources.OpenURLFile(ctx, path)
	}
	return os.Open(path)
}
