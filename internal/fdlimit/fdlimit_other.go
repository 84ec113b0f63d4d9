//go:build !unix

package fdlimit

// Open returns false: the limit is not known on this system.
func Open() (uint64, bool) { return 0, false }

func limitText(int, uint64) string { return "" }
