package sources

import (
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// The cache's figures follow what happens: a first opening misses and
// shares the file, the next ones hit, and a file that makes room for
// another counts an eviction.
func TestMP3CacheStats(t *testing.T) {
	a, b := cacheCopy(t, "sine44m.mp3"), cacheCopy(t, "sine22v.mp3")
	cacheLimit(t, 64<<20)
	before := MP3Cache()
	for range 3 {
		src, shared := cacheOpen(t, a)
		if !shared {
			t.Fatal("a is not shared")
		}
		pipeline.Close(src)
	}
	st := MP3Cache()
	if d := st.Misses - before.Misses; d != 1 {
		t.Errorf("%d misses, want 1", d)
	}
	if d := st.Hits - before.Hits; d != 2 {
		t.Errorf("%d hits, want 2", d)
	}
	if st.Files < 1 || st.Bytes <= 0 || st.Limit != 64<<20 {
		t.Errorf("figures %+v", st)
	}
	// Room for one file only: sharing b evicts a.
	cacheLimit(t, st.Bytes)
	src, _ := cacheOpen(t, b)
	pipeline.Close(src)
	if after := MP3Cache(); after.Evictions <= st.Evictions {
		t.Errorf("no eviction counted: %+v then %+v", st, after)
	}
}
