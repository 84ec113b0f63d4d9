package keep

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Opened reports the version of a regular file as VersionOf reads it,
// StatVersion finds the same one without opening it, and anything that
// is not a regular file has none.
func TestOpenedReportsVersions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.wav")
	if err := os.WriteFile(path, []byte("RIFF...."), 0o644); err != nil {
		t.Fatal(err)
	}
	type report struct {
		path    string
		v       Version
		ok      bool
		current CurrentFunc
	}
	var got []report
	ctx := WithOpened(context.Background(), func(p string, v Version, ok bool, current CurrentFunc) {
		got = append(got, report{p, v, ok, current})
	})

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	Opened(ctx, path, f)
	Opened(ctx, "-", nil)
	OpenedPath(ctx, path)
	OpenedPath(ctx, filepath.Join(dir, "missing.m3u"))
	Opened(context.Background(), path, f) // no hook: nothing

	want, _ := VersionOf(path, f)
	if len(got) != 3 {
		t.Fatalf("reports %+v, want 3", got)
	}
	if !got[0].ok || got[0].v != want || got[0].path != path {
		t.Errorf("the opened file: %+v, want %+v", got[0], want)
	}
	if got[1].ok {
		t.Errorf("standard input: %+v, want no version", got[1])
	}
	if !got[2].ok || got[2].v != want {
		t.Errorf("the file by its path: %+v, want %+v", got[2], want)
	}
	if v, ok := StatVersion(path); !ok || v != want {
		t.Errorf("StatVersion: %+v %v, want %+v", v, ok, want)
	}
	for i, r := range []report{got[0], got[2]} {
		if v, ok := r.current(); !ok || v != want {
			t.Errorf("report %d: current %+v %v, want %+v", i, v, ok, want)
		}
	}

	// Another file renamed over it is another version.
	other := filepath.Join(dir, "b.wav")
	if err := os.WriteFile(other, []byte("RIFF...."), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if v, ok := StatVersion(path); !ok || v == want {
		t.Errorf("after a rename over it: %+v %v, want a new version", v, ok)
	}
	if v, ok := got[0].current(); !ok || v == want {
		t.Errorf("after a rename over it: current %+v %v, want a new version", v, ok)
	}
	if _, ok := StatVersion(dir); ok {
		t.Error("a folder has a version")
	}
}

// OpenedAs passes on the version and the CurrentFunc of something that
// is not a file on the disk.
func TestOpenedAs(t *testing.T) {
	var gotPath string
	var gotV Version
	var gotOK bool
	var gotCurrent CurrentFunc
	ctx := WithOpened(context.Background(), func(p string, v Version, ok bool, current CurrentFunc) {
		gotPath, gotV, gotOK, gotCurrent = p, v, ok, current
	})
	v := Version{Path: "/cache/abc", MTime: 7, Dev: 1, Ino: 2}
	calls := 0
	OpenedAs(ctx, "https://example.com/a.mp3", v, func() (Version, bool) { calls++; return v, true })
	OpenedAs(context.Background(), "https://example.com/b.mp3", Version{}, nil) // no hook: nothing
	if gotPath != "https://example.com/a.mp3" || gotV != v || !gotOK || gotCurrent == nil {
		t.Fatalf("reported %q %+v %v", gotPath, gotV, gotOK)
	}
	if now, ok := gotCurrent(); !ok || now != v || calls != 1 {
		t.Errorf("current: %+v %v after %d calls", now, ok, calls)
	}
}
