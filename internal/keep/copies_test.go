package keep

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A store shares one copy per version of a file, refuses what does not
// fit within its limit, tells a file renamed over another from it, and
// frees a copy's place with its last reference.
func TestCopyStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &CopyStore{limit: 15}
	open := func() (*os.File, Version) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		v, ok := VersionOf(path, f)
		if !ok {
			t.Fatal("no version of a regular file")
		}
		return f, v
	}
	f, v := open()
	if s.Acquire(v) != nil {
		t.Fatal("a copy before any was read")
	}
	c := s.Read(v, f)
	if c == nil || !bytes.Equal(c.Bytes(), []byte("0123456789")) || c.Version() != v {
		t.Fatalf("read %v", c)
	}
	if c2 := s.Acquire(v); c2 != c {
		t.Fatal("a second reference is another copy")
	}
	if s.Used() != 10 || !s.Holds(v.Path) {
		t.Errorf("used %d, holds %v; want 10, true", s.Used(), s.Holds(v.Path))
	}

	// Another file renamed over it is another version, too large to fit
	// beside the first.
	other := filepath.Join(dir, "b")
	if err := os.WriteFile(other, []byte("abcdefghij"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	f2, v2 := open()
	if v2 == v {
		t.Fatal("the file renamed over it has the same version")
	}
	if s.Read(v2, f2) != nil || s.Used() != 10 {
		t.Errorf("a copy over the limit was kept: used %d", s.Used())
	}

	c.Release()
	if !s.Holds(v.Path) {
		t.Error("the copy went with one of its two references")
	}
	c.Release()
	if s.Holds(v.Path) || s.Used() != 0 {
		t.Errorf("after the last release: holds %v, used %d", s.Holds(v.Path), s.Used())
	}
	if c := s.Read(v2, f2); c == nil || !bytes.Equal(c.Bytes(), []byte("abcdefghij")) {
		t.Error("the new version does not fit once the old one is gone")
	}
}
