package elks

// RenderingsMadeForTest returns how many renderings c has made: a call
// that joins one makes none.
func RenderingsMadeForTest(c *RenderCache) int64 { return c.made.Load() }
