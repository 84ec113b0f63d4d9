package live

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// icyInterleave puts a metadata block after every metaint bytes of audio,
// as a Shoutcast server does: empty ones, and the title now and then.
func icyInterleave(audio []byte, metaint int, title string) []byte {
	var out bytes.Buffer
	for i := 0; len(audio) > 0; i++ {
		n := min(metaint, len(audio))
		out.Write(audio[:n])
		audio = audio[n:]
		if n < metaint {
			break
		}
		if i%3 == 0 {
			meta := "StreamTitle='" + title + "';"
			pad := (16 - len(meta)%16) % 16
			meta += strings.Repeat("\x00", pad)
			out.WriteByte(byte(len(meta) / 16))
			out.WriteString(meta)
		} else {
			out.WriteByte(0)
		}
	}
	return out.Bytes()
}

func TestICYReaderStripsMetadata(t *testing.T) {
	audio := make([]byte, 10000)
	for i := range audio {
		audio[i] = byte(i * 7)
	}
	var titles []string
	r := newICYReader(iotest.OneByteReader(bytes.NewReader(icyInterleave(audio, 1000, "Hold music"))), 1000,
		func(m string) { titles = append(titles, streamTitle(m)) })
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, audio) {
		t.Fatalf("audio after stripping differs: %d bytes, want %d", len(got), len(audio))
	}
	if len(titles) != 1 || titles[0] != "Hold music" {
		t.Errorf("titles reported %q, want one \"Hold music\"", titles)
	}
}

func TestICYReaderCutInMetadata(t *testing.T) {
	audio := make([]byte, 100)
	b := append(append([]byte{}, audio...), 2, 'S', 't') // a block of 32 bytes, cut
	_, err := io.ReadAll(newICYReader(bytes.NewReader(b), 100, nil))
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
}

func TestParseMetaint(t *testing.T) {
	for v, want := range map[string]int{"": 0, "16000": 16000, " 8192 ": 8192} {
		if n, err := parseMetaint(v); err != nil || n != want {
			t.Errorf("parseMetaint(%q) = %d, %v; want %d", v, n, err, want)
		}
	}
	for _, v := range []string{"x", "-1", "0", "99999999"} {
		if _, err := parseMetaint(v); err == nil {
			t.Errorf("parseMetaint(%q) accepted", v)
		}
	}
}

func TestRing(t *testing.T) {
	r := newRing(5)
	r.push([]float32{1, 2, 3})
	if r.oldest() != 0 || r.written != 3 {
		t.Fatalf("oldest %d written %d", r.oldest(), r.written)
	}
	r.push([]float32{4, 5, 6, 7})
	if r.oldest() != 2 {
		t.Fatalf("oldest %d, want 2", r.oldest())
	}
	p := make([]float32, 10)
	if n := r.read(2, p); n != 5 || p[0] != 3 || p[4] != 7 {
		t.Fatalf("read %v", p[:n])
	}
	if n := r.read(5, p[:1]); n != 1 || p[0] != 6 {
		t.Fatalf("read at 5: %v", p[:n])
	}
	r.push([]float32{10, 11, 12, 13, 14, 15, 16})
	if r.oldest() != 9 || r.written != 14 {
		t.Fatalf("oldest %d written %d", r.oldest(), r.written)
	}
	if n := r.read(9, p); n != 5 || p[0] != 12 || p[4] != 16 {
		t.Fatalf("read %v", p[:n])
	}
}
