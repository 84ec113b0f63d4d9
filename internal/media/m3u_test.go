package media

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadM3UItems(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "hold.m3u8")
	abs := filepath.Join(dir, "abs.wav")
	text := "\uFEFF#EXTM3U\n#EXTINF:3,Intro\nintro.wav\n\n  sub/hold.mp3  \nfile://" + abs + "\nhttps://example.com/a.mp3\nftp://example.com/b.mp3\n# a comment\n"
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
		{Path: "ftp://example.com/b.mp3", Line: 8},
	}
	if len(items) != len(want) {
		t.Fatalf("items %+v, want %+v", items, want)
	}
	for i := range want {
		got := items[i]
		wantErr := i == 4
		if got.Path != want[i].Path || got.Line != want[i].Line || (got.Err != nil) != wantErr {
			t.Errorf("item %d = %+v, want %+v (error: %v)", i, got, want[i], wantErr)
		}
	}
	if msg := items[4].Err.Error(); msg != "is a ftp URL (line 8 of "+list+"); elkspipe plays files and http(s) URLs only" {
		t.Errorf("URL error %q", msg)
	}

	if _, err := ReadM3UItems(filepath.Join(dir, "missing.m3u")); err == nil {
		t.Error("a missing list gave no error")
	}
}

func TestParseListByURL(t *testing.T) {
	base := "https://cdn.example/music/hold.m3u"
	items, err := ParseList(strings.NewReader("#EXTM3U\nintro.mp3\n../jingle.wav\n/abs/x.mp3\nhttp://other.example/y.mp3\n"), base, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://cdn.example/music/intro.mp3", "https://cdn.example/jingle.wav",
		"https://cdn.example/abs/x.mp3", "http://other.example/y.mp3"}
	if len(items) != len(want) {
		t.Fatalf("items %+v, want %q", items, want)
	}
	for i, w := range want {
		if items[i].Path != w || items[i].Err != nil {
			t.Errorf("item %d = %+v, want %s", i, items[i], w)
		}
	}
}

func TestParseListPLS(t *testing.T) {
	pls := "[playlist]\nNumberOfEntries=2\nFile1=a.mp3\nTitle1=A\nFile2=https://x.example/b.mp3\nLength2=-1\nVersion=2\n"
	items, err := ParseList(strings.NewReader(pls), "/srv/lists/hold.pls", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Path != filepath.Join("/srv/lists", "a.mp3") || items[0].Line != 3 ||
		items[1].Path != "https://x.example/b.mp3" || items[1].Line != 5 {
		t.Errorf("items %+v", items)
	}
	if !isPLS("https://x.example/l.PLS?x=1") || isPLS("/a/b.m3u") {
		t.Error("isPLS")
	}
}
