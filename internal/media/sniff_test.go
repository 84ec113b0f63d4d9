package media

import "testing"

func TestSniff(t *testing.T) {
	cases := map[string]string{
		"RIFF\x00\x00\x00\x00WAVEfmt ":                     "wav",
		"RF64\xff\xff\xff\xffWAVEds64":                     "wav",
		"ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00":          "mp3",
		"\xff\xfb\x90\x64\x00\x00\x00\x00\x00\x00\x00\x00": "mp3",
		"OggS\x00\x02\x00\x00\x00\x00\x00\x00":             "Ogg (Vorbis or Opus)",
		"fLaC\x00\x00\x00\x22\x00\x00\x00\x00":             "FLAC",
		"FORM\x00\x00\x00\x00AIFF":                         "AIFF",
		"\x00\x00\x00\x20ftypM4A ":                         "MP4/M4A (AAC)",
		"\xff\xf1\x50\x80\x00\x00\x00\x00\x00\x00\x00\x00": "AAC (ADTS)",
		"#EXTM3U\n/a.mp3\n":                                "an M3U playlist (give it to the playlist element, not as a file or an item of another list)",
		"hello, world":                                     "",
	}
	for head, want := range cases {
		if got := Sniff([]byte(head)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", head, got, want)
		}
	}
}
