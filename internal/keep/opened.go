package keep

import (
	"context"
	"os"
)

// OpenedFunc is told of every file a stage opens: its path as the stage
// was given it and its Version, or ok false for something whose content
// has no version (standard input, a FIFO, an http(s) URL).
type OpenedFunc func(path string, v Version, ok bool)

type openedKey struct{}

// WithOpened returns a context whose stages report the files they open
// to f (see Opened). A shared rendering of a pipeline (sinks/elks) uses
// it to know which versions of which files its audio came from.
func WithOpened(ctx context.Context, f OpenedFunc) context.Context {
	return context.WithValue(ctx, openedKey{}, f)
}

// Opened reports to the OpenedFunc that ctx carries, if any, that the
// file at path was opened as r (its version is read from r when r is an
// *os.File of a regular file; anything else has none).
func Opened(ctx context.Context, path string, r any) {
	f, _ := ctx.Value(openedKey{}).(OpenedFunc)
	if f == nil {
		return
	}
	file, _ := r.(*os.File)
	if file == nil {
		f(path, Version{}, false)
		return
	}
	v, ok := VersionOf(path, file)
	f(path, v, ok)
}

// OpenedPath reports to the OpenedFunc that ctx carries, if any, the
// version of the file at path as it is on the disk now (read before the
// file is, so that a change while it is read shows as a newer version).
// A path that cannot be read is not reported: reading it fails anyway.
func OpenedPath(ctx context.Context, path string) {
	f, _ := ctx.Value(openedKey{}).(OpenedFunc)
	if f == nil {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	v, ok := StatVersion(path)
	f(path, v, ok && st.Mode().IsRegular())
}

// StatVersion returns the version of the regular file at path as it is
// on the disk now, without opening it; ok is false when it cannot be
// read or is not a regular file.
func StatVersion(path string) (Version, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return Version{}, false
	}
	return regularVersion(path, st)
}
