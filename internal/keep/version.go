package keep

import (
	"io"
	"os"
	"path/filepath"
)

// Version names one version of one file: its absolute path, size and
// modification time, and its identity on the disk (device and inode),
// which changes when another file is renamed over it. Two openings of a
// file that find the same Version read the same bytes, unless the file
// was rewritten in place within its modification time's resolution.
type Version struct {
	Path     string
	Size     int64
	MTime    int64 // Unix nanoseconds
	Dev, Ino uint64
}

// VersionOf returns the version of the file r, opened from path, if r is
// an *os.File of a regular file.
func VersionOf(path string, r io.Reader) (Version, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return Version{}, false
	}
	st, err := f.Stat()
	if err != nil {
		return Version{}, false
	}
	return RegularVersion(path, st)
}

// RegularVersion is the version of the file at path whose information is
// st; ok is false when it is not a regular file.
func RegularVersion(path string, st os.FileInfo) (Version, bool) {
	if !st.Mode().IsRegular() {
		return Version{}, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Version{}, false
	}
	dev, ino := fileID(st)
	return Version{abs, st.Size(), st.ModTime().UnixNano(), dev, ino}, true
}
