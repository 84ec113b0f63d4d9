package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/pipeline"
)

// cacheCopy copies an MP3 fixture to a path of its own, so that the test
// starts with nothing of it in the process's cache.
func cacheCopy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "mp3", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cacheOpen opens path with File and reports whether the opening reads a
// shared decoding.
func cacheOpen(t *testing.T, path string) (pipeline.Source, bool) {
	t.Helper()
	src, err := File(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, shared := src.(*mp3SharedReader)
	return src, shared
}

// cacheEntry returns the shared decoding of path, or nil.
func cacheEntry(t *testing.T, path string) *mp3Shared {
	t.Helper()
	abs, _ := filepath.Abs(path)
	mp3Cache.mu.Lock()
	defer mp3Cache.mu.Unlock()
	for k, s := range mp3Cache.entries {
		if k.Path == abs {
			return s
		}
	}
	return nil
}

// cacheLimit sets the cache's size for one test.
func cacheLimit(t *testing.T, n int64) {
	mp3Cache.mu.Lock()
	saved := mp3Cache.limit
	mp3Cache.mu.Unlock()
	SetMP3CacheSize(n)
	t.Cleanup(func() { SetMP3CacheSize(saved) })
}

// privateDecode decodes path on its own, without the cache.
func privateDecode(t *testing.T, path string) []float32 {
	t.Helper()
	src, err := MP3(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if _, ok := src.(*mp3Source); !ok {
		t.Fatalf("MP3 returned a %T", src)
	}
	return audiotest.MustReadAll(t, src)
}

// Every opening reads the one shared decoding, sample for sample a
// private one, whatever the read sizes, with the same length.
func TestMP3CacheSharesExactly(t *testing.T) {
	for _, name := range []string{"sine44m.mp3", "sine44s.mp3", "sine22v.mp3", "sine44notag.mp3"} {
		t.Run(name, func(t *testing.T) {
			path := cacheCopy(t, name)
			want := privateDecode(t, path)
			got := audiotest.CheckContract(t, func() (pipeline.Source, error) {
				src, shared := cacheOpen(t, path)
				if !shared {
					t.Errorf("an opening of %s got a %T", name, src)
				}
				if n := pipeline.FramesOf(src); n*int64(src.Format().Channels) != int64(len(want)) {
					t.Errorf("length %d frames, decoded %d samples", n, len(want))
				}
				return src, nil
			})
			sameSamples(t, "shared", got, want)
			s := cacheEntry(t, path)
			if s == nil || s.dec != nil || s.err != io.EOF {
				t.Fatalf("after a whole read the entry is %+v", s)
			}
		})
	}
}

// A call that hangs up halfway leaves what it decoded: the next opening
// reads that and decodes on from there. A changed file is decoded afresh.
func TestMP3CacheKeepsPartialDecodings(t *testing.T) {
	path := cacheCopy(t, "sine44m.mp3")
	want := privateDecode(t, path)
	src, _ := cacheOpen(t, path)
	if n, err := src.Read(make([]float32, 1000)); n != 1000 || err != nil {
		t.Fatal(n, err)
	}
	pipeline.Close(src)
	s := cacheEntry(t, path)
	if s == nil {
		t.Fatal("not cached")
	}
	// Idle: part decoded, no decoder (no file held open), not ended.
	if s.dec != nil || s.err != nil || len(s.pcm) == 0 || len(s.pcm) >= len(want)*4 {
		t.Fatalf("after 1000 frames: decoder %v, err %v, %d bytes", s.dec != nil, s.err, len(s.pcm))
	}
	src, shared := cacheOpen(t, path)
	if !shared {
		t.Fatal("the second opening decoded on its own")
	}
	sameSamples(t, "after a partial decoding", audiotest.MustReadAll(t, src), want)
	pipeline.Close(src)

	// Another file under the same name, with a new modification time.
	other, err := os.ReadFile(filepath.Join("testdata", "mp3", "sine44s.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, other, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	src, _ = cacheOpen(t, path)
	defer pipeline.Close(src)
	if src.Format().Channels != 2 {
		t.Fatalf("after the file changed: %d channels", src.Format().Channels)
	}
}

// A stream that fails part of the way gives every reader the error where
// it failed, and leaves the cache.
func TestMP3CacheDropsFailedStreams(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	failing := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("disk on fire")))
	src, err := Decode(failing)
	if err != nil {
		t.Fatal(err)
	}
	key := keep.Version{Path: "/failing.mp3", Size: int64(len(data))}
	first := mp3Cache.share(key, src.(*mp3Source))
	second := mp3Cache.lookup(key)
	if first == nil || second == nil {
		t.Fatal("not shared")
	}
	got1, err1 := audiotest.ReadAll(first, 4096)
	got2, err2 := audiotest.ReadAll(second, 333)
	pipeline.Close(first)
	pipeline.Close(second)
	for _, err := range []error{err1, err2} {
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("read: %v", err)
		}
	}
	if len(got1) == 0 || len(got1) != len(got2) {
		t.Errorf("the readers got %d and %d samples before the error", len(got1), len(got2))
	}
	if mp3Cache.lookup(key) != nil {
		t.Error("a failed stream stayed in the cache")
	}
}

// The cache keeps within its size, evicting the least recently used
// file; a reader of an evicted file reads on to its end; size 0 turns
// sharing off.
func TestMP3CacheSizeAndEviction(t *testing.T) {
	a, b := cacheCopy(t, "sine44m.mp3"), cacheCopy(t, "sine22v.mp3")
	wantA, wantB := privateDecode(t, a), privateDecode(t, b)
	// The cache holds 4 bytes a frame, mono or stereo.
	bytesOf := func(path string, samples []float32) int64 {
		src, err := MP3(path)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer pipeline.Close(src)
		return int64(len(samples)/src.Format().Channels) * 4
	}
	sa, sb := bytesOf(a, wantA), bytesOf(b, wantB)

	cacheLimit(t, 0)
	if src, shared := cacheOpen(t, a); shared {
		t.Fatal("shared with the cache off")
	} else {
		pipeline.Close(src)
	}

	// Room for the larger of the two but not both. A file being read
	// stays cached: the other one is decoded per opening meanwhile.
	cacheLimit(t, max(sa, sb))
	srcA, shared := cacheOpen(t, a)
	if !shared {
		t.Fatal("a is not shared")
	}
	if _, err := srcA.Read(make([]float32, 100)); err != nil {
		t.Fatal(err)
	}
	srcB, shared := cacheOpen(t, b)
	if shared || cacheEntry(t, a) == nil {
		t.Fatalf("b shared %v beside a being read, a cached %v", shared, cacheEntry(t, a) != nil)
	}
	restA, err := audiotest.ReadAll(srcA, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "a", restA, wantA[100:])
	sameSamples(t, "b, decoded alone", audiotest.MustReadAll(t, srcB), wantB)
	pipeline.Close(srcA)
	pipeline.Close(srcB)

	// Once nobody reads a, b takes its place.
	srcB, shared = cacheOpen(t, b)
	if !shared || cacheEntry(t, a) != nil {
		t.Fatalf("b shared %v once a was idle, a still cached %v", shared, cacheEntry(t, a) != nil)
	}
	sameSamples(t, "b", audiotest.MustReadAll(t, srcB), wantB)
	pipeline.Close(srcB)

	mp3Cache.mu.Lock()
	used, limit := mp3Cache.bytes, mp3Cache.limit
	mp3Cache.mu.Unlock()
	if used > limit || used != sb {
		t.Errorf("the cache counts %d bytes (limit %d), want b's %d", used, limit, sb)
	}

	// Many calls alternating between the two files: the shared buffers
	// never exceed the limit (the file that does not fit is decoded per
	// opening), and every call hears both files whole.
	var wg sync.WaitGroup
	var held atomic.Int64
	for range 8 {
		wg.Go(func() {
			for _, f := range []struct {
				path string
				want []float32
			}{{a, wantA}, {b, wantB}} {
				src, err := File(f.path)(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				got, err := audiotest.ReadAll(src, 777)
				if err != nil || len(got) != len(f.want) || audiotest.MaxDiff(got, f.want) != 0 {
					t.Errorf("%s: %d samples, %v", f.path, len(got), err)
				}
				if r, ok := src.(*mp3SharedReader); ok {
					r.s.mu.Lock()
					held.Store(max(held.Load(), int64(cap(r.s.pcm))))
					r.s.mu.Unlock()
				}
				pipeline.Close(src)
			}
		})
	}
	wg.Wait()
	mp3Cache.mu.Lock()
	used = mp3Cache.bytes
	mp3Cache.mu.Unlock()
	if used > limit || held.Load() > limit {
		t.Errorf("the cache counts %d bytes and a buffer holds %d, limit %d", used, held.Load(), limit)
	}

	// A file larger than the whole cache is decoded per opening.
	cacheLimit(t, min(sa, sb)-1)
	if src, shared := cacheOpen(t, a); shared {
		t.Fatal("a file larger than the cache was shared")
	} else {
		pipeline.Close(src)
	}
}

// Openings at the same time share one decoding, whoever decodes each part.
func TestMP3CacheConcurrentOpenings(t *testing.T) {
	path := cacheCopy(t, "sine44s.mp3")
	want := privateDecode(t, path)
	var wg sync.WaitGroup
	outs := make([][]float32, 4)
	for i := range outs {
		wg.Go(func() {
			src, err := File(path)(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer pipeline.Close(src)
			if _, ok := src.(*mp3SharedReader); !ok {
				t.Errorf("opening %d got a %T", i, src)
			}
			outs[i], err = audiotest.ReadAll(src, 1000+i*333)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range outs {
		sameSamples(t, "a concurrent opening", outs[i], want)
	}
	s := cacheEntry(t, path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.readers.Load(); n != 0 || s.dec != nil {
		t.Errorf("after every reader closed: %d readers, decoder %v", n, s.dec != nil)
	}
}

// openFDs counts the process's open file descriptors (Linux), or -1.
func openFDs() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// A decoding nobody reads holds no file open: files opened and closed
// before their end (or only asked for their length) do not pin a
// descriptor each, and the next reader reopens the file and decodes on,
// sample for sample.
func TestMP3CacheHoldsNoIdleFiles(t *testing.T) {
	if openFDs() < 0 {
		t.Skip("no /proc/self/fd")
	}
	want := privateDecode(t, cacheCopy(t, "sine44s.mp3"))
	var paths []string
	for range 20 {
		paths = append(paths, cacheCopy(t, "sine44s.mp3"))
	}
	before := openFDs()
	for i, path := range paths {
		src, shared := cacheOpen(t, path)
		if !shared {
			t.Fatalf("%s not shared", path)
		}
		if i%2 == 0 {
			src.Read(make([]float32, 2000))
		} else {
			pipeline.FramesOf(src)
		}
		pipeline.Close(src)
	}
	if after := openFDs(); after > before {
		t.Fatalf("%d file descriptors open before, %d after 20 files were opened and closed", before, after)
	}
	for _, path := range paths[:4] {
		src, _ := cacheOpen(t, path)
		sameSamples(t, "resumed", audiotest.MustReadAll(t, src), want)
		pipeline.Close(src)
	}
	if after := openFDs(); after > before {
		t.Errorf("%d file descriptors open before, %d after whole reads", before, after)
	}
}

// A file that changes while its decoding is idle is not resumed from the
// new content: the reader gets an error, and the next opening decodes the
// new file.
func TestMP3CacheResumeChangedFile(t *testing.T) {
	path := cacheCopy(t, "sine44m.mp3")
	src, _ := cacheOpen(t, path)
	src.Read(make([]float32, 2000))
	// A second reader keeps its place while the first closes, the decoding
	// goes idle and the file changes.
	second, _ := cacheOpen(t, path)
	pipeline.Close(src)
	if _, err := second.Read(make([]float32, 1000)); err != nil {
		t.Fatal(err)
	}
	s := cacheEntry(t, path)
	s.mu.Lock()
	s.dec.Close() // as if every reader had gone and come back
	s.dec = nil
	s.mu.Unlock()
	later := time.Now().Add(time.Hour)
	os.Chtimes(path, later, later)
	_, err := audiotest.ReadAll(second, 4096)
	if err == nil || !strings.Contains(err.Error(), "the file changed") {
		t.Errorf("reading on after the file changed: %v", err)
	}
	pipeline.Close(second)
	if cacheEntry(t, path) != nil {
		t.Error("the stale decoding stayed in the cache")
	}
	src, shared := cacheOpen(t, path)
	defer pipeline.Close(src)
	if !shared {
		t.Error("the changed file was not shared afresh")
	}
}

// A resume (reopening a file and decoding again the part kept) does not
// hold up the readers of that part, nor the openings of other files; the
// readers that need more wait for it and then read on.
func TestMP3CacheResumeBlocksNobody(t *testing.T) {
	path, other := cacheCopy(t, "sine44m.mp3"), cacheCopy(t, "sine22v.mp3")
	want := privateDecode(t, path)
	src, _ := cacheOpen(t, path)
	pipeline.ReadFull(src, make([]float32, 5000))
	pipeline.Close(src) // idle: 5000 frames or more kept, no decoder
	o, _ := cacheOpen(t, other)
	audiotest.MustReadAll(t, o)
	pipeline.Close(o)

	hold := make(chan struct{})
	resuming := make(chan struct{})
	mp3Reopen = func(s *mp3Shared) (*mp3Source, error) {
		close(resuming)
		<-hold
		return s.reopen()
	}
	defer func() { mp3Reopen = (*mp3Shared).reopen }()

	far, _ := cacheOpen(t, path)
	farDone := make(chan []float32)
	go func() {
		got, err := audiotest.ReadAll(far, 4096)
		if err != nil {
			t.Error(err)
		}
		farDone <- got
	}()
	<-resuming // far is past the kept part and reopening the file
	quick := make(chan error)
	go func() {
		near, _ := File(path)(context.Background())
		defer pipeline.Close(near)
		if n, err := pipeline.ReadFull(near, make([]float32, 4000)); n != 4000 || err != nil {
			quick <- fmt.Errorf("reading the kept part: %d, %v", n, err)
			return
		}
		o, err := File(other)(context.Background())
		if err == nil {
			pipeline.Close(o)
		}
		quick <- err
	}()
	select {
	case err := <-quick:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a resume held up a reader of the kept part or the opening of another file")
	}
	close(hold)
	sameSamples(t, "after the resume", <-farDone, want)
	pipeline.Close(far)
}
