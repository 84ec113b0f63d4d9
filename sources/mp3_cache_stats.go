package sources

// MP3CacheStats describes the decoded-MP3 cache (see SetMP3CacheSize), for
// metrics: how full it is and how often an opening found its file decoded.
type MP3CacheStats struct {
	// Bytes is the memory the shared decodings take, of Limit.
	Bytes, Limit int64
	// Files is the number of files decoded in the cache.
	Files int
	// Hits counts the openings that found their file's decoding in the
	// cache; Misses those that did not (and decoded it, shared or on
	// their own); Evictions the decodings removed to make room.
	Hits, Misses, Evictions uint64
}

// MP3Cache returns the decoded-MP3 cache's figures now.
func MP3Cache() MP3CacheStats {
	c := mp3Cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return MP3CacheStats{Bytes: c.bytes, Limit: c.limit, Files: len(c.entries),
		Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}
