package keep

import (
	"context"
	"os"
)

// OpenedFunc is told of every file a stage opens: its path as the stage
// was given it and its Version, or ok false for something whose content
// has no version (standard input, a FIFO, a device); and current, which
// returns the version an opening of the same path would find now (ok
// false: none, or one that cannot be known without fetching it anew), so
// that a later check tells whether the path still holds what was opened.
type OpenedFunc func(path string, v Version, ok bool, current CurrentFunc)

// CurrentFunc returns the version an opening of a path would find now;
// ok is false when it cannot say (the path cannot be read, or would be
// fetched anew).
type CurrentFunc func() (v Version, ok bool)

type openedKey struct{}

// WithOpened returns a context whose stages report the files they open
// to f (see Opened). A shared rendering of a pipeline (sinks/elks) uses
// it to know which versions of which files its audio came from.
func WithOpened(ctx context.Context, f OpenedFunc) context.Context {
	return context.WithValue(ctx, openedKey{}, f)
}

// Opened reports to the OpenedFunc that ctx carries, if any, that the
// file at path was opened as r (its version is read from r when r is an
// *os.File of a regular file; anything else has none). Its current
// version is read from the disk (StatVersion).
func Opened(ctx context.Context, path string, r any) {
	f, _ := ctx.Value(openedKey{}).(OpenedFunc)
	if f == nil {
		return
	}
	file, _ := r.(*os.File)
	if file == nil {
		f(path, Version{}, false, nil)
		return
	}
	v, ok := VersionOf(path, file)
	f(path, v, ok, statCurrent(path))
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
	f(path, v, ok && st.Mode().IsRegular(), statCurrent(path))
}

// OpenedAs reports to the OpenedFunc that ctx carries, if any, that
// path, something that is not a file on the disk (an http(s) URL played
// from a download cache), was opened in version v, and how to find the
// version an opening would find now. A v that current never returns (the
// zero Version, for an opening that failed) marks the path as opened
// in no version that a later check can find again.
func OpenedAs(ctx context.Context, path string, v Version, current CurrentFunc) {
	f, _ := ctx.Value(openedKey{}).(OpenedFunc)
	if f == nil {
		return
	}
	f(path, v, true, current)
}

// statCurrent returns the CurrentFunc of a file on the disk.
func statCurrent(path string) CurrentFunc {
	return func() (Version, bool) { return StatVersion(path) }
}

// StatVersion returns the version of the regular file at path as it is
// on the disk now, without opening it; ok is false when it cannot be
// read or is not a regular file.
func StatVersion(path string) (Version, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return Version{}, false
	}
	return RegularVersion(path, st)
}
