package media

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadM3UItems(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "hold.m3u8")
	abs := filepath.Join(dir, "abs.wav")
	text := "\uFEFF#EXTM3U\n#EXTINF:3,Intro\nintro.wav\n\n  sub/hold.mp3  \nfile://" + abs + "\nhttps://example.com/a.mp3\n# a comment\n"
	if err := os.WriteFile(list, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	items, err := ReadM3UItems(list)
	if err != nil {
		t.Fatal(err)
	}
	want := []M3UItem{
		{Path: filepath.Join(dir, "intro.wav"), Line: 3},
		{Path: filepath.Join(dir, "sub", "hold.mp3"), Line: 5},
		{Path: abs, Line: 6},
		{Path: "https://example.com/a.mp3", Line: 7},
	}
	if len(items) != len(want) {
		t.Fatalf("items %+v, want %+v", items, want)
	}
	for i := range want {
		got := items[i]
		wantErr := i == 3
		if got.Path != want[i].Path || got.Line != want[i].Line || (got.Err != nil) != wantErr {
			t.Errorf("item %d = %+v, want %+v (error: %v)", i, got, want[i], wantErr)
		}
	}
	if msg := items[3].Err.Error(); msg != "is a URL (line 7 of "+list+"); elkspipe plays local files only" {
		t.Errorf("URL error %q", msg)
	}

	if _, err := ReadM3UItems(filepath.Join(dir, "missing.m3u")); err == nil {
		t.Error("a missing list gave no error")
	}
}
