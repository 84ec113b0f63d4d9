package sources

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/pipeline"
)

// Files that go away while they are played in a loop.
//
// A loop (transforms.Loop) opens its upstream again at every iteration,
// and a server plays the same looped hold music to every call. When the
// file was deleted, truncated or made unreadable, the iterations that
// followed failed, and every call ended at its next iteration. Now the
// openings of a file within one instance of a pipeline (one call, one
// run: the iterations of a loop, the rounds of a looped playlist) keep
// the audio they played in the instance's keep.Memory, and an opening
// that cannot open or decode the file, or finds no audio in it, plays
// that audio again instead:
//
//   - An MP3 file that shares its decoding (see SetMP3CacheSize) keeps a
//     reference to that decoding, so that the cache neither evicts it nor
//     lets its decoder close the file before it is decoded to the end (an
//     unlinked file stays readable through the open descriptor; a
//     decoding left idle halfway by earlier readers gets a descriptor of
//     the file to resume from). The decoding goes at the pace of its
//     fastest reader, and until it has reached the end of the file it
//     reads the file itself: a file truncated or rewritten in place
//     before then plays shorter, or with what was written, in every
//     call. Deleting it or renaming another file over it is safe at any
//     time.
//   - Any other file (WAV, or an MP3 file that does not share its
//     decoding) keeps a copy of its bytes in memory, shared by all the
//     instances that play the same version of the file, and plays from
//     it from the first opening on: a file truncated in place while a
//     call plays it does not cut the iteration short either. The copies
//     of a process take at most keep.DefaultCopyLimit (64 MiB, in keep.Copies) together; a file
//     that does not fit keeps nothing, and its loops end with the error
//     as before.
//
// Every opening still opens the file first: a file replaced atomically
// (written beside it, then renamed over it), or changed in place into
// another playable file, is a new version (another identity, size or
// modification time), and the next iteration plays it; so does a file cut
// in the middle (what is left of it). The failure to play a file is
// logged once per version of the file per process, at warn level, on
// log/slog's default logger (the one a sinks/elks Server logs to unless
// told otherwise). A new instance (the next call) has nothing kept: it
// fails to open, with the error naming the file, as before.

// opening describes how an Opener opens its file, for openKept.
type opening struct {
	kind string // the Opener's name, part of the key of what it keeps
	path string
	// open opens the file as the Opener does without a Memory.
	open func(ctx context.Context) (io.ReadCloser, error)
	// decode decodes an opening of the file; it closes rc on error.
	decode func(rc io.ReadCloser) (pipeline.Source, error)
	// decodeCopy decodes a kept copy of the file's bytes.
	decodeCopy func(r io.Reader) (pipeline.Source, error)
}

// keptKey names what an Opener kept in a keep.Memory.
type keptKey struct{ kind, path string }

// kept is the audio an instance played from one version of a file.
type kept struct {
	version keep.Version
	play    func() (pipeline.Source, error) // a fresh Source of that audio
	release func()
}

// Release lets go of the kept audio.
func (k *kept) Release() { k.release() }

// openKept opens o's file within the instance that m belongs to: it
// plays what the instance kept when the file has not changed, or when it
// can no longer be opened or decoded (see the comment at the top of this
// file), and keeps what it opens otherwise.
func openKept(ctx context.Context, m *keep.Memory, o opening) (pipeline.Source, error) {
	key := keptKey{o.kind, o.path}
	prev, _ := m.Get(key).(*kept)
	rc, err := o.open(ctx)
	if err != nil {
		return replay(prev, o.path, err)
	}
	f, _ := rc.(*os.File)
	v, ok := keep.VersionOf(o.path, rc)
	if !ok {
		// Not a regular file (a FIFO, a device): nothing to keep.
		m.Put(key, nil)
		return o.decode(rc)
	}
	if prev != nil && prev.version == v {
		if src, err := prev.play(); err == nil {
			rc.Close()
			return src, nil
		}
		// The kept decoding failed (the file changed under it): decode
		// the file afresh.
	}
	if c := keep.Copies.Acquire(v); c != nil {
		// Another instance keeps a copy of this version already.
		rc.Close()
		k := keptCopy(c, v, o.decodeCopy)
		m.Put(key, k)
		return k.play()
	}
	src, err := o.decode(rc)
	if err == nil && prev != nil && pipeline.FramesOf(src) == 0 {
		// Cut before its first whole frame: no audio to loop.
		pipeline.Close(src)
		src, err = nil, errors.New("the file holds no audio")
	}
	if err != nil {
		return replay(prev, o.path, err)
	}
	if r, ok := src.(*mp3SharedReader); ok {
		pin := r.s.newReader()
		if pin.s.needsSpare() {
			// Decoded in part and idle: the resume must not depend on
			// the path.
			if spare, err := os.Open(o.path); err == nil {
				if sv, ok := keep.VersionOf(o.path, spare); !ok || sv != v || !pin.s.offerSpare(spare) {
					spare.Close()
				}
			}
		}
		m.Put(key, &kept{version: v, release: func() { pin.Close() },
			play: pin.s.replay})
		return src, nil
	}
	c := keep.Copies.Read(v, f)
	if c == nil {
		m.Put(key, nil) // too large to keep, or the file changed meanwhile
		return src, nil
	}
	pipeline.Close(src)
	k := keptCopy(c, v, o.decodeCopy)
	m.Put(key, k)
	return k.play()
}

// replay plays prev, what the instance kept, in place of a file that
// failed to open or decode with err; without prev, it returns err.
func replay(prev *kept, path string, err error) (pipeline.Source, error) {
	if prev == nil {
		return nil, err
	}
	src, perr := prev.play()
	if perr != nil {
		return nil, err
	}
	if _, dup := warnedKept.LoadOrStore(prev.version, true); !dup {
		slog.Warn("a looped file cannot be played: the calls playing it replay the audio they kept; new calls will fail",
			"file", path, "err", err)
	}
	return src, nil
}

// warnedKept holds the versions of files whose loss has been logged.
var warnedKept sync.Map

// keptCopy returns what an instance keeps of the copy c of version v: it
// plays the copy with decode, and releases c once.
func keptCopy(c *keep.Copy, v keep.Version, decode func(io.Reader) (pipeline.Source, error)) *kept {
	var once sync.Once
	return &kept{version: v,
		release: func() { once.Do(c.Release) },
		play:    func() (pipeline.Source, error) { return decode(bytes.NewReader(c.Bytes())) }}
}

// versioned reports whether the content at path has versions that a
// shared rendering can check (keep.OpenedFunc): a file on the disk, or an
// http(s) URL through the download cache (see openedURL); not standard
// input. A pipeline that plays it may be rendered once for many calls.
func versioned(path string) bool { return path != "-" }

// playlistShareable is the playlist element's pipeline.Element.Shareable:
// files and URLs in a fixed order. A shuffled playlist draws a new order at
// every opening from one generator for all the calls, seeded or not, so
// no two calls hear the same order.
func playlistShareable(a pipeline.Args) bool {
	if a.Bool("shuffle") {
		return false
	}
	for _, f := range a.Strings("files") {
		if !versioned(f) {
			return false
		}
	}
	return true
}
