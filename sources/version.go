package sources

import (
	"io"
	"os"
	"path/filepath"
)

// fileVersion names one version of one file: its path, size and
// modification time, and its identity on the disk (device and inode),
// which changes when another file is renamed over it.
type fileVersion struct {
	path     string
	size     int64
	mtime    int64
	dev, ino uint64
}

// versionOf returns the version of the file rc, opened from path, if it
// is a regular file.
func versionOf(path string, rc io.Reader) (fileVersion, bool) {
	f, ok := rc.(*os.File)
	if !ok {
		return fileVersion{}, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return fileVersion{}, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileVersion{}, false
	}
	dev, ino := fileID(st)
	return fileVersion{abs, st.Size(), st.ModTime().UnixNano(), dev, ino}, true
}
