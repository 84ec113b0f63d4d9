//go:build unix

package keep

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of the file st describes, which
// tell a file replaced by another (renamed over it) from the one before,
// even when both have the same size and modification time.
func fileID(st os.FileInfo) (dev, ino uint64) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Dev), uint64(s.Ino)
	}
	return 0, 0
}
