package sources

import "os"

// discardBuffered reads and drops what waits in the pipe f now, without
// waiting for more, and returns how many bytes it dropped.
func discardBuffered(f *os.File) int64 {
	var buf [32 << 10]byte
	var total int64
	for n := pipeBuffered(f); n > 0; {
		k, err := f.Read(buf[:min(n, len(buf))])
		total += int64(k)
		n -= k
		if err != nil {
			break
		}
	}
	return total
}
