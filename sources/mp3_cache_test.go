package sources

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
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

// cacheOpen opens path with File and reports whether the cache served it.
func cacheOpen(t *testing.T, path string) (pipeline.Source, bool) {
	t.Helper()
	src, err := File(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, cached := src.(*mp3Cached)
	return src, cached
}

// cacheLimit sets the cache's size for one test.
func cacheLimit(t *testing.T, n int64) {
	mp3Cache.mu.Lock()
	saved := mp3Cache.limit
	mp3Cache.mu.Unlock()
	SetMP3CacheSize(n)
	t.Cleanup(func() { SetMP3CacheSize(saved) })
}

// A file read to its end plays from the cache the next time, sample for
// sample as decoded, whatever the read sizes, with its exact length.
func TestMP3CacheReplaysExactly(t *testing.T) {
	for _, name := range []string{"sine44m.mp3", "sine44s.mp3", "sine22v.mp3", "sine44notag.mp3"} {
		t.Run(name, func(t *testing.T) {
			path := cacheCopy(t, name)
			src, cached := cacheOpen(t, path)
			if cached {
				t.Fatal("the first opening came from the cache")
			}
			decoded := audiotest.MustReadAll(t, src)
			pipeline.Close(src)
			ch := src.Format().Channels
			got := audiotest.CheckContract(t, func() (pipeline.Source, error) {
				src, cached := cacheOpen(t, path)
				if !cached {
					t.Error("a later opening was decoded again")
				}
				if n := pipeline.FramesOf(src); n != int64(len(decoded)/ch) {
					t.Errorf("cached length %d frames, decoded %d", n, len(decoded)/ch)
				}
				return src, nil
			})
			if len(got) != len(decoded) || audiotest.MaxDiff(got, decoded) != 0 {
				t.Fatalf("cached %d samples differ from the %d decoded (max diff %g)",
					len(got), len(decoded), audiotest.MaxDiff(got, decoded))
			}
		})
	}
}

// Only a complete decoding is cached: one closed early is not, and a file
// that changes is decoded afresh.
func TestMP3CacheOnlyWholeAndCurrent(t *testing.T) {
	path := cacheCopy(t, "sine44m.mp3")
	src, _ := cacheOpen(t, path)
	if _, err := src.Read(make([]float32, 1000)); err != nil {
		t.Fatal(err)
	}
	pipeline.Close(src)
	src, cached := cacheOpen(t, path)
	if cached {
		t.Fatal("a decoding closed after 1000 frames was cached")
	}
	audiotest.MustReadAll(t, src)
	pipeline.Close(src)
	if src, cached = cacheOpen(t, path); !cached {
		t.Fatal("a whole decoding was not cached")
	}
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
	src, cached = cacheOpen(t, path)
	defer pipeline.Close(src)
	if cached || src.Format().Channels != 2 {
		t.Fatalf("after the file changed: cached %v, %d channels", cached, src.Format().Channels)
	}
}

// A stream that fails part of the way is not cached, and its recording
// ends.
func TestMP3CacheSkipsFailedStreams(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	failing := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("disk on fire")))
	src, err := Decode(failing)
	if err != nil {
		t.Fatal(err)
	}
	m := src.(*mp3Source)
	key := mp3CacheKey{path: "/failing.mp3", size: int64(len(data))}
	m.rec = mp3Cache.record(key, m.format, m.length)
	if m.rec == nil {
		t.Fatal("no recording")
	}
	if _, err := audiotest.ReadAll(src, 4096); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("read: %v", err)
	}
	pipeline.Close(src)
	mp3Cache.mu.Lock()
	cached, recording := mp3Cache.entries[key] != nil, mp3Cache.recording[key]
	mp3Cache.mu.Unlock()
	if cached || recording {
		t.Errorf("after a failed stream: cached %v, still recording %v", cached, recording)
	}
}

// The cache keeps within its size, evicting the least recently used file,
// and size 0 turns it off.
func TestMP3CacheSizeAndEviction(t *testing.T) {
	a, b := cacheCopy(t, "sine44m.mp3"), cacheCopy(t, "sine22v.mp3")
	// Measure both decodings.
	size := func(path string) int64 {
		src, _ := cacheOpen(t, path)
		defer pipeline.Close(src)
		return int64(len(audiotest.MustReadAll(t, src))/src.Format().Channels) * 4
	}
	cacheLimit(t, 0)
	sa, sb := size(a), size(b)
	if src, cached := cacheOpen(t, a); cached {
		t.Fatal("cached with the cache off")
	} else {
		pipeline.Close(src)
	}

	// Room for the larger of the two but not both.
	cacheLimit(t, max(sa, sb))
	play := func(path string) bool {
		src, cached := cacheOpen(t, path)
		audiotest.MustReadAll(t, src)
		pipeline.Close(src)
		return cached
	}
	play(a)
	if !play(a) {
		t.Fatal("a was not cached")
	}
	play(b) // evicts a
	if !play(b) {
		t.Fatal("b was not cached")
	}
	if play(a) {
		t.Fatal("a was still cached beside b, beyond the limit")
	}
	mp3Cache.mu.Lock()
	used, limit := mp3Cache.bytes, mp3Cache.limit
	mp3Cache.mu.Unlock()
	if used > limit {
		t.Errorf("the cache holds %d bytes, limit %d", used, limit)
	}

	// A file larger than the whole cache is never recorded.
	cacheLimit(t, min(sa, sb)-1)
	big := a
	if sb > sa {
		big = b
	}
	big2 := filepath.Join(t.TempDir(), "big.mp3")
	data, _ := os.ReadFile(big)
	os.WriteFile(big2, data, 0o644)
	play(big2)
	if play(big2) {
		t.Fatal("a file larger than the cache was cached")
	}
}

// Openings at the same time each decode; one records, and every later
// opening shares its result.
func TestMP3CacheConcurrentOpenings(t *testing.T) {
	path := cacheCopy(t, "sine44s.mp3")
	var wg sync.WaitGroup
	outs := make([][]float32, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, err := File(path)(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer pipeline.Close(src)
			outs[i], err = audiotest.ReadAll(src, 1000+i*333)
			if err != nil && err != io.EOF {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(outs); i++ {
		if audiotest.MaxDiff(outs[i], outs[0]) != 0 || len(outs[i]) != len(outs[0]) {
			t.Fatalf("opening %d differs", i)
		}
	}
	src, cached := cacheOpen(t, path)
	defer pipeline.Close(src)
	if !cached {
		t.Fatal("none of the concurrent decodings was cached")
	}
	mp3Cache.mu.Lock()
	recording := len(mp3Cache.recording)
	mp3Cache.mu.Unlock()
	if recording != 0 {
		t.Errorf("%d recordings left open", recording)
	}
}
